/**
 * An app as users write them, run in a child process so that a crash is a
 * dead process, not a test failure Jest swallows: no error middleware of its
 * own (Express's final handler, Koa's default `onerror`), middleware in front
 * (auth), and handlers that read in every style or not at all.
 *
 * Usage: node --import tsx test/protocol/hostile-server.ts <express 4|express 5|koa 2|koa 3>
 * Prints `READY <port>` once listening. GET /health answers "ok"; GET /stats
 * the process's active resources and the listeners left on finished requests.
 */
import http from 'node:http'
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import Router from '@koa/router'
import createError from 'http-errors'
import multer from 'multer'
import * as expressShim from '../../adapters/express/index.js'
import * as koaShim from '../../adapters/koa/index.js'

const flavor = process.argv[2] ?? 'express 5'
const STREAMING = { limit: '64kb', timeout: 250 }
const BUFFERED = { limit: '64kb', timeout: 250 }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Requests whose exchange is over, kept to count what listeners stream-shim left on them. */
const finished: http.IncomingMessage[] = []

function digest(chunks: Buffer[]): { sha: string; length: number } {
  const body = Buffer.concat(chunks)
  return { sha: createHash('sha256').update(body).digest('hex'), length: body.length }
}

/** A Writable that hashes what it is given. */
function hasher(): Writable & { result(): { sha: string; length: number } } {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk)
      callback()
    },
  }) as Writable & { result(): { sha: string; length: number } }
  sink.result = () => digest(chunks)
  return sink
}

type Reply = (status: number, body: unknown) => void

/** The handler styles, written once against a body stream and a reply function. */
const styles: Record<string, (stream: any, req: http.IncomingMessage, reply: Reply) => unknown> = {
  'for-await': async (stream, _req, reply) => {
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk)
    reply(200, digest(chunks))
  },
  pipeline: async (stream, _req, reply) => {
    const sink = hasher()
    await pipeline(stream, sink)
    reply(200, sink.result())
  },
  pipe: (stream, _req, reply) => {
    const sink = hasher()
    sink.on('finish', () => reply(200, sink.result()))
    stream.pipe(sink) // no 'error' listener on the source, as most code is written
  },
  data: (stream, _req, reply) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk)) // and no 'error' listener
    stream.on('end', () => reply(200, digest(chunks)))
  },
  'accept-await': async (stream, _req, reply) => {
    stream.accept()
    await sleep(300) // the README's advice: accept, do some work, then read
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk)
    reply(200, digest(chunks))
  },
  never: (_stream, _req, reply) => reply(200, { read: false }),
  'req-pipe': (_stream, req, reply) => {
    const sink = hasher()
    sink.on('finish', () => reply(200, sink.result()))
    req.pipe(sink) // reads the request itself (a proxy, multer)
  },
}

function track(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.once('close', () => {
    finished.push(req)
    if (finished.length > 200) finished.shift()
  })
}

function stats(): unknown {
  // Listeners left on finished requests, by event and function name (`ondata`
  // is Node's own pipe(), which a destroyed source never unpipes).
  const listeners: Record<string, number> = {}
  for (const req of finished) {
    for (const event of ['data', 'end', 'readable', 'error', 'aborted']) {
      for (const fn of req.listeners(event)) {
        const key = `${event}:${fn.name || 'anonymous'}`
        listeners[key] = (listeners[key] ?? 0) + 1
      }
    }
  }
  const resources: Record<string, number> = {}
  for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1
  return { listeners, resources, finished: finished.length }
}

function expressApp(express: any): http.RequestListener {
  const app = express()
  app.use(expressShim.streamShim())
  app.use((req: any, res: any, next: any) => {
    track(req, res)
    next()
  })
  app.get('/health', (_req: any, res: any) => res.end('ok'))
  app.get('/stats', (_req: any, res: any) => res.json(stats()))
  const auth = (req: any, _res: any, next: any) => (req.headers['x-auth'] === 'ok' ? next() : next(createError(401)))
  for (const [name, style] of Object.entries(styles)) {
    app.put(`/s/${name}`, auth, expressShim.streaming(STREAMING, (req: any, res: any) => style(req.bodyStream, req, (status, body) => res.status(status).json(body))))
  }
  app.put('/s/next-error', expressShim.streaming(STREAMING, (_req: any, _res: any, next: any) => next(createError(422))))
  // multer reads `req` itself on a streaming route; its errors go to next().
  app.put('/s/multer', multer({ limits: { fileSize: 64 * 1024 } }).any(), expressShim.streaming(STREAMING, (req: any, res: any) => {
    res.json({ files: (req.files ?? []).length })
  }))
  app.put('/s/throw', expressShim.streaming(STREAMING, () => {
    throw createError(409)
  }))
  const raw = { json: false as const, urlencoded: false as const, text: false as const, raw: { type: () => true, ...BUFFERED } }
  app.put('/b/body', auth, expressShim.buffered(raw, (req: any, res: any) => res.json(digest([req.body]))))
  app.put('/b/replay', auth, expressShim.buffered(raw, (req: any, res: any) => styles['req-pipe'](null, req, (status, body) => res.status(status).json(body))))
  app.put('/b/never', auth, expressShim.buffered(raw, (_req: any, res: any) => res.json({ read: false })))
  app.put('/b/huge', expressShim.buffered({ ...raw, raw: { ...raw.raw, limit: Infinity } }, (req: any, res: any) => res.json(digest([req.body]))))
  return app
}

function koaApp(Koa: any): http.RequestListener {
  const app = new Koa()
  app.use(koaShim.streamShim({ enableTypes: ['text'], extendTypes: { text: ['application/octet-stream'] }, textLimit: BUFFERED.limit, timeout: BUFFERED.timeout }))
  app.use(async (ctx: any, next: any) => {
    track(ctx.req, ctx.res)
    await next()
  })
  const router = new Router()
  router.get('/health', (ctx: any) => {
    ctx.body = 'ok'
  })
  router.get('/stats', (ctx: any) => {
    ctx.body = stats()
  })
  const auth = async (ctx: any, next: any) => {
    if (ctx.get('x-auth') !== 'ok') ctx.throw(401)
    await next()
  }
  const respond = (ctx: any, done: () => void): Reply => (status, body) => {
    ctx.status = status
    ctx.body = body
    done()
  }
  for (const [name, style] of Object.entries(styles)) {
    router.put(`/s/${name}`, auth, koaShim.streaming(STREAMING, (ctx: any) =>
      // Koa answers when the middleware's promise settles: wait for the reply.
      new Promise<void>((resolve, reject) => {
        Promise.resolve(style(ctx.request.bodyStream, ctx.req, respond(ctx, resolve))).catch(reject)
      })))
  }
  router.put('/s/next-error', koaShim.streaming(STREAMING, (ctx: any) => ctx.throw(422)))
  router.put('/s/throw', koaShim.streaming(STREAMING, () => {
    throw createError(409)
  }))
  router.put('/b/body', auth, (ctx: any) => {
    ctx.body = digest([ctx.request.rawBodyBuffer ?? Buffer.alloc(0)])
  })
  router.put('/b/replay', auth, (ctx: any) => new Promise<void>((resolve) => styles['req-pipe'](null, ctx.req, respond(ctx, resolve))))
  router.put('/b/never', auth, (ctx: any) => {
    ctx.body = { read: false }
  })
  const unlimited = { enableTypes: ['text'], extendTypes: { text: ['application/octet-stream'] }, textLimit: Infinity }
  router.put('/b/huge', koaShim.buffered(unlimited as koaShim.KoaBufferedOptions, (ctx: any) => {
    ctx.body = digest([ctx.request.rawBodyBuffer ?? Buffer.alloc(0)])
  }))
  app.use(router.routes())
  return app.callback()
}

const apps: Record<string, () => http.RequestListener> = {
  'express 4': () => expressApp(require('express4')),
  'express 5': () => expressApp(require('express')),
  'koa 2': () => koaApp(require('koa2')),
  'koa 3': () => koaApp(require('koa')),
}
if (apps[flavor] === undefined) throw new Error(`unknown flavor ${flavor}; expected one of ${Object.keys(apps).join(', ')}`)
const listener = apps[flavor]()

const server = http.createServer(listener)
expressShim.installContinue(server)
server.keepAliveTimeout = 1000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as { port: number }).port}\n`)
})
