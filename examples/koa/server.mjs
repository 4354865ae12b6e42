// A Koa app with stream-shim: one streaming upload route and two legacy routes.
// Run from the repository root: npm run build && node examples/koa/server.mjs
import { createWriteStream } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import Koa from 'koa'
import Router from '@koa/router'
import { installContinue, streamShim, streaming } from 'stream-shim/koa'

const uploads = await mkdtemp(path.join(tmpdir(), 'stream-shim-koa-'))
const router = new Router()

// Streaming: the handler runs as soon as the headers arrive and writes the
// body to disk as it comes, never holding it in memory.
router.put(
  '/files/:name',
  streaming({ limit: '5gb' }, async (ctx) => {
    const dest = path.join(uploads, path.basename(ctx.params.name))
    await pipeline(ctx.request.bodyStream, createWriteStream(dest))
    ctx.status = 201
    ctx.body = { saved: dest, bytes: ctx.request.bodyStream.bytesReceived }
  }),
)

// Legacy routes: bodies parsed as @koa/bodyparser would.
router.post('/legacy/json', (ctx) => {
  ctx.body = { body: ctx.request.body, rawBody: ctx.request.rawBody }
})
router.post('/legacy/form', (ctx) => {
  ctx.body = { body: ctx.request.body }
})

const app = new Koa()
app.use(streamShim()) // before the router: it finds the routers mounted on the app
app.use(router.routes())
app.use(router.allowedMethods())

const port = Number(process.env.PORT ?? 3001)
// installContinue: the 100 Continue `curl -T` waits for goes out when the
// upload handler first reads the body.
const server = app.listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${port}`
  console.log(`stream-shim Koa example on ${base}; uploads go to ${uploads}`)
  console.log(`  curl -T package.json ${base}/files/package.json`)
  console.log(`  curl -H 'content-type: application/json' -d '{"hello":"world"}' ${base}/legacy/json`)
  console.log(`  curl -d 'a[b]=1&c.d=2' ${base}/legacy/form`)
})
installContinue(server)
