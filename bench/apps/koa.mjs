// Koa apps, with stream-shim and with @koa/bodyparser.
import http from 'node:http'
import Koa from 'koa'
import Router from '@koa/router'
import { bodyParser } from '@koa/bodyparser'
import { koaShim } from '../lib/shim.mjs'
import { pace } from './common.mjs'

function adapter() {
  if (koaShim === undefined) throw new Error('stream-shim/koa is not built yet')
  return koaShim
}

function serve(app) {
  return http.createServer(app.callback())
}

/** Streaming route: the handler counts `ctx.request.bodyStream` as it arrives. */
export function streamingUpload() {
  const { streamShim, streaming } = adapter()
  const app = new Koa()
  const router = new Router()
  router.put(
    '/up',
    streaming({ limit: Infinity }, async (ctx) => {
      let n = 0
      for await (const chunk of ctx.request.bodyStream) n += chunk.length
      ctx.body = String(n)
    }),
  )
  app.use(streamShim())
  app.use(router.routes())
  return serve(app)
}

/** No shim: the handler counts `ctx.req` itself with `for await`, as Koa users stream today. */
export function iterateRequest() {
  const app = new Koa()
  const router = new Router()
  router.put('/up', async (ctx) => {
    let n = 0
    for await (const chunk of ctx.req) n += chunk.length
    ctx.body = String(n)
  })
  app.use(router.routes())
  return serve(app)
}

/** A streaming handler that consumes at `rate` bytes per second. */
export function slowStreaming({ rate }) {
  const { streamShim, streaming } = adapter()
  const app = new Koa()
  const router = new Router()
  router.put(
    '/up',
    streaming({ limit: Infinity, timeout: false }, async (ctx) => {
      let n = 0
      for await (const chunk of ctx.request.bodyStream) {
        n += chunk.length
        await pace(chunk.length, rate)
      }
      ctx.body = String(n)
    }),
  )
  app.use(streamShim())
  app.use(router.routes())
  return serve(app)
}

function echoApp(parser) {
  const app = new Koa()
  const router = new Router()
  router.post('/json', (ctx) => {
    ctx.body = ctx.request.body
  })
  app.use(parser)
  app.use(router.routes())
  return serve(app)
}

export const jsonBodyparser = () => echoApp(bodyParser())
export const jsonShim = () => echoApp(adapter().streamShim())
