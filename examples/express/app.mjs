// The Express example app: one streaming upload route, two legacy routes, an
// upload page, and two streaming responses (an NDJSON export and Server-Sent
// Events) through compression. `server.mjs` serves it; `stream-shim routes` describes it
// (npm run routes).
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import compression from 'compression'
import express from 'express'
import { sendStream, streamShim, streaming, streamingResponses } from 'stream-shim/express'

const page = fileURLToPath(new URL('upload.html', import.meta.url))

/** The app; uploads are written into `uploads`. */
export default function createApp({ uploads = tmpdir() } = {}) {
  const app = express()

  // First: it picks each request's route from its headers, then streams or buffers.
  app.use(streamShim({ urlencoded: { extended: true } }))
  // Streaming responses are flushed through compression chunk by chunk;
  // streamingResponses() gives res.freezeHeader() and co.
  app.use(compression())
  app.use(streamingResponses())

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

  // A streaming NDJSON export: rows are written as they are produced, with
  // backpressure; Cache-Control is frozen so no middleware can make it cacheable.
  app.get(
    '/export.ndjson',
    streaming(async (req, res) => {
      res.freezeHeader('Cache-Control', 'no-cache')
      res.type('application/x-ndjson')
      await sendStream(res, orders(Math.min(Number(req.query.rows ?? 10000), 1e6)))
    }),
  )

  // Server-Sent Events: one event a second, each reaching the client at once
  // even through compression; the generator's finally runs when the client leaves.
  app.get(
    '/events',
    streaming(async (req, res) => {
      res.freezeHeader('Cache-Control', 'no-cache')
      res.type('text/event-stream')
      await sendStream(res, ticks(5))
    }),
  )

  // Errors keep body-parser's shape: status, type, expose. (Express knows an
  // error handler by its four parameters, so `_next` stays.)
  app.use((err, req, res, _next) => {
    res.status(err.status ?? 500).json({ error: err.expose ? err.message : 'Internal Server Error', type: err.type })
  })
  return app
}

async function* orders(count) {
  for (let id = 1; id <= count; id++) {
    yield JSON.stringify({ id, total: (id * 7.5).toFixed(2) }) + '\n'
    if (id % 1000 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
}

async function* ticks(count) {
  try {
    for (let i = 1; i <= count; i++) {
      yield `id: ${i}\ndata: ${JSON.stringify({ tick: i, at: new Date().toISOString() })}\n\n`
      if (i < count) await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  } finally {
    console.log('event stream closed')
  }
}
