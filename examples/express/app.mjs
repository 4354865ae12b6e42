// The Express example app: one streaming upload route, two legacy routes and
// an upload page. `server.mjs` serves it; `stream-shim routes` describes it
// (npm run routes).
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { streamShim, streaming } from 'stream-shim/express'

const page = fileURLToPath(new URL('upload.html', import.meta.url))

/** The app; uploads are written into `uploads`. */
export default function createApp({ uploads = tmpdir() } = {}) {
  const app = express()

  // First: it picks each request's route from its headers, then streams or buffers.
  app.use(streamShim({ urlencoded: { extended: true } }))

  // The upload page (GET /): a file input with a progress bar, uploading to
  // the streaming route below, then showing both sha-256 digests.
  app.get('/', (req, res) => res.sendFile(page))

  // Streaming: runs as soon as the headers arrive and writes the body to disk
  // as it comes, hashing it on the way (gzip, deflate and br are decoded; 5 GB at most).
  app.put(
    '/files/:name',
    streaming({ limit: '5gb' }, async (req, res) => {
      const dest = path.join(uploads, path.basename(req.params.name))
      const hash = createHash('sha256')
      await pipeline(
        req.bodyStream,
        async function* (source) {
          for await (const chunk of source) {
            hash.update(chunk)
            yield chunk
          }
        },
        createWriteStream(dest),
      )
      res.status(201).json({ saved: dest, bytes: req.bodyStream.bytesReceived, sha256: hash.digest('hex') })
    }),
  )

  // Legacy routes, unchanged: bodies parsed exactly as body-parser would.
  app.post('/legacy/json', (req, res) => {
    res.json({ body: req.body, rawBytes: req.rawBody?.length })
  })
  app.post('/legacy/form', (req, res) => {
    res.json({ body: req.body })
  })

  // Errors keep body-parser's shape: status, type, expose. (Express knows an
  // error handler by its four parameters, so `_next` stays.)
  app.use((err, req, res, _next) => {
    res.status(err.status ?? 500).json({ error: err.expose ? err.message : 'Internal Server Error', type: err.type })
  })
  return app
}
