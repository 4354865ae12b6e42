// An Express app with stream-shim: one streaming upload route and two legacy routes.
// Run from the repository root: npm run demo (or: npm run build && node examples/express/server.mjs)
import { createWriteStream } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import express from 'express'
import { createServer, installContinue, streamShim, streaming } from 'stream-shim/express'

const uploads = await mkdtemp(path.join(tmpdir(), 'stream-shim-express-'))
const app = express()

// First: it picks each request's route from its headers, then streams or buffers.
app.use(streamShim({ urlencoded: { extended: true } }))

// Streaming: runs as soon as the headers arrive and writes the body to disk as
// it comes (gzip, deflate and br are decoded on the way; 5 GB at most).
app.put(
  '/files/:name',
  streaming({ limit: '5gb' }, async (req, res) => {
    const dest = path.join(uploads, path.basename(req.params.name))
    await pipeline(req.bodyStream, createWriteStream(dest))
    res.status(201).json({ saved: dest, bytes: req.bodyStream.bytesReceived })
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

const port = Number(process.env.PORT ?? 3000)
// createServer(app) instead of app.listen(): requests are born with the app's
// prototypes, which saves most of Express's own cost per request on Node 20 and 22.
// installContinue: `curl -T` asks `Expect: 100-continue`; the 100 now goes out
// when the upload handler first reads the body, not before any handler runs.
const server = createServer(app).listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${port}`
  console.log(`stream-shim Express example on ${base}; uploads go to ${uploads}`)
  console.log('Try:')
  console.log(`  curl -T package.json ${base}/files/package.json                     # streaming upload`)
  console.log(`  curl -H 'content-type: application/json' -d '{"hello":"world"}' ${base}/legacy/json`)
  console.log(`  curl -d 'user[name]=ada&user[lang]=en' ${base}/legacy/form`)
  console.log(`  curl -H 'content-type: application/json' -d '{"bad' ${base}/legacy/json          # 400 entity.parse.failed`)
  console.log('Stop with Ctrl-C. The Koa example: npm run demo:koa')
})
installContinue(server)
