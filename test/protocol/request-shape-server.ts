/**
 * A server that reports whether V8 still keeps the request object's
 * properties in fast mode once stream-shim has buffered and parsed its body
 * (run with --allow-natives-syntax). A request object in dictionary mode makes
 * every later property access of the framework and of Node slower.
 *
 * Usage: node --allow-natives-syntax --import tsx test/protocol/request-shape-server.ts
 * Prints `READY <port>`. POST /<framework>/json (express4, express5, koa2, koa3).
 */
import http from 'node:http'
import Router from '@koa/router'
import * as expressShim from '../../adapters/express/index.js'
import * as koaShim from '../../adapters/koa/index.js'

// V8's natives syntax is only reachable through a compiled function.
const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (object: object) => boolean

function expressApp(express: any): http.RequestListener {
  const app = express()
  app.use(expressShim.streamShim())
  app.post('/json', (req: any, res: any) => res.json({ fast: hasFastProperties(req), body: req.body }))
  return app
}

function koaApp(Koa: any): http.RequestListener {
  const app = new Koa()
  const router = new Router()
  router.post('/json', (ctx: any) => {
    ctx.body = { fast: hasFastProperties(ctx.req), body: ctx.request.body }
  })
  app.use(koaShim.streamShim())
  app.use(router.routes())
  return app.callback()
}

const apps: Record<string, http.RequestListener> = {
  express4: expressApp(require('express4')),
  express5: expressApp(require('express')),
  koa2: koaApp(require('koa2')),
  koa3: koaApp(require('koa')),
}

const server = http.createServer((req, res) => {
  const [, name, ...rest] = (req.url ?? '').split('/')
  req.url = `/${rest.join('/')}`
  const app = apps[name]
  if (app === undefined) res.writeHead(404).end()
  else app(req, res)
})
server.listen(0, '127.0.0.1', () => console.log(`READY ${(server.address() as { port: number }).port}`))
