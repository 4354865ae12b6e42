/**
 * The same routes on Express 4, Express 5, Koa 2 and Koa 3, for the protocol
 * tests: a route is written once against a small `Exchange` and mounted on
 * each framework through its adapter, on a server with `installContinue()`.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import * as expressShim from '../../adapters/express/index.js'
import * as koaShim from '../../adapters/koa/index.js'
import type { BodyStream } from '../../lib/body-stream.js'

/** What a route sees of its request, whatever the framework. */
export interface Exchange {
  /** On a streaming route. */
  bodyStream?: BodyStream
  /** On a buffered route: the decoded body bytes. */
  rawBody?: Buffer
  /** The request stream itself (replays the wire bytes on a buffered route). */
  req: http.IncomingMessage
  respond(status: number, body: unknown): void
}

export type RouteHandler = (x: Exchange) => unknown

export interface RouteSpec {
  path: string
  mode: 'streaming' | 'buffered' | 'plain'
  /** Streaming options, or the buffered route's limit and timeout. */
  options?: { limit?: string | number; timeout?: number | false; discard?: string | number; inflate?: boolean }
  /** A middleware before the route (auth, say): answer to stop the request there. */
  before?: (x: Exchange) => boolean
  handler: RouteHandler
}

export interface Flavor {
  name: string
  kind: 'express' | 'koa'
  build(routes: RouteSpec[]): http.RequestListener
}

export const FLAVORS: Flavor[] = [
  { name: 'express 4', kind: 'express', build: (routes) => expressApp(require('express4'), routes) },
  { name: 'express 5', kind: 'express', build: (routes) => expressApp(require('express'), routes) },
  { name: 'koa 2', kind: 'koa', build: (routes) => koaApp(require('koa2'), routes) },
  { name: 'koa 3', kind: 'koa', build: (routes) => koaApp(require('koa'), routes) },
]

function bufferedExpressOptions(options: RouteSpec['options'] = {}) {
  const { limit = '8mb', timeout } = options
  return { json: false as const, urlencoded: false as const, text: false as const, raw: { type: () => true, limit, timeout } }
}

function bufferedKoaOptions(options: RouteSpec['options'] = {}) {
  const { limit = '8mb', timeout } = options
  return { enableTypes: ['text' as const], textLimit: limit, timeout, extendTypes: { text: ['application/octet-stream'] } }
}

function expressApp(express: any, routes: RouteSpec[]): http.RequestListener {
  const app = express()
  app.use(expressShim.streamShim())
  for (const route of routes) {
    const exchange = (req: any, res: any): Exchange => ({
      bodyStream: req.bodyStream,
      rawBody: req.rawBody,
      req,
      respond: (status, body) => res.status(status).json(body),
    })
    const run = (req: any, res: any, next: (err: unknown) => void) => {
      Promise.resolve()
        .then(() => route.handler(exchange(req, res)))
        .catch(next)
    }
    const before = (req: any, res: any, next: any) => (route.before?.(exchange(req, res)) === true ? undefined : next())
    const handler =
      route.mode === 'streaming'
        ? expressShim.streaming((route.options ?? {}) as expressShim.StreamingOptions, run as any)
        : route.mode === 'buffered'
          ? expressShim.buffered(bufferedExpressOptions(route.options), run)
          : run
    app.put(route.path, before, handler)
  }
  app.use((err: any, _req: any, res: any, _next: any) => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    res.status(err.status ?? 500).json({ type: err.type ?? 'unknown', message: err.message })
  })
  return app
}

function koaApp(Koa: any, routes: RouteSpec[]): http.RequestListener {
  const app = new Koa()
  app.silent = true
  app.use(koaShim.streamShim())
  const router = new Router()
  for (const route of routes) {
    const exchange = (ctx: any): Exchange => ({
      bodyStream: ctx.request.bodyStream,
      rawBody: ctx.request.rawBodyBuffer ?? (ctx.request.rawBody === '' ? Buffer.alloc(0) : undefined),
      req: ctx.req,
      respond: (status, body) => {
        ctx.status = status
        ctx.body = body
      },
    })
    const run = async (ctx: any) => {
      await route.handler(exchange(ctx))
    }
    const before = async (ctx: any, next: any) => {
      if (route.before?.(exchange(ctx)) !== true) await next()
    }
    const handler =
      route.mode === 'streaming'
        ? koaShim.streaming((route.options ?? {}) as koaShim.StreamingOptions, run)
        : route.mode === 'buffered'
          ? koaShim.buffered(bufferedKoaOptions(route.options), run)
          : run
    router.put(route.path, before, handler)
  }
  app.use(router.routes())
  return app.callback()
}

export interface Running {
  server: http.Server
  port: number
  close(): Promise<void>
}

/** Listen on loopback with `installContinue()`, as the README tells users to. */
export async function serve(listener: http.RequestListener, kind: Flavor['kind']): Promise<Running> {
  const server = http.createServer(listener)
  ;(kind === 'express' ? expressShim : koaShim).installContinue(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A streaming route that reads the whole body and answers with its SHA-256. */
export const echoRoute: RouteSpec = {
  path: '/echo',
  mode: 'streaming',
  handler: async (x) => {
    const chunks: Buffer[] = []
    for await (const chunk of x.bodyStream!) chunks.push(chunk)
    x.respond(200, { sha: createHash('sha256').update(Buffer.concat(chunks)).digest('hex') })
  },
}
