// The Koa example app: one streaming upload route and two legacy routes.
// `server.mjs` serves it; `stream-shim routes` describes it (npm run routes).
import { createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import Koa from 'koa'
import Router from '@koa/router'
import { streamShim, streaming } from 'stream-shim/koa'

/** The app; uploads are written into `uploads`. */
export default function createApp({ uploads = tmpdir() } = {}) {
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
  return app
}
