/**
 * Test plumbing for proxy(): an upstream that records what reached it, and
 * the same proxy app on Express 4 and 5 and Koa 2 and 3.
 */
import http from 'node:http'
import zlib from 'node:zlib'
import Router from '@koa/router'
import type Koa from 'koa'
import { listen, sha256, type Running } from '../helpers/http.js'
import * as expressShim from '../../adapters/express/index'
import * as koaShim from '../../adapters/koa/index'
import type { ProxyOptions } from '../../lib/proxy.js'

export { closeSharedAgent } from '../../lib/proxy.js'

/** What the upstream saw of one request. */
export interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  /** Bytes of body received, their hash, and whether the body arrived whole. */
  length: number
  sha: string
  complete: boolean
  /** Set when the request stream failed or closed before its end. */
  aborted: boolean
}

export interface Upstream extends Running {
  /** Every request seen, newest last, filled in as the body arrives. */
  seen: Seen[]
  last(): Seen
  /** When the upstream sent each delayed `100 Continue` (`performance.now()`). */
  continuedAt: number[]
  /** Bytes `/flood` has handed to its socket so far. */
  flooded: { sent: number }
}

/** What `/flood` sends: far more than the socket buffers on the way hold. */
export const FLOOD = 256 * 1024 * 1024

export const GZIPPED = zlib.gzipSync(Buffer.from('{"compressed":"'.padEnd(5000, 'z') + '"}'))

/**
 * The upstream: `/echo` streams the body back (chunked, with hop-by-hop
 * headers the proxy must drop), `/gzip` answers a gzip body, `/hang` never
 * answers, `/reset` drops the connection, `/truncate` breaks off its body,
 * `/refuse` answers 417 to `Expect: 100-continue`, anything else drains the
 * body and answers its length.
 */
export async function startUpstream(): Promise<Upstream> {
  const seen: Seen[] = []
  const continuedAt: number[] = []
  const flooded = { sent: 0 }
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const record: Seen = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      length: 0,
      sha: '',
      complete: false,
      aborted: false,
    }
    seen.push(record)
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      record.length += chunk.length
    })
    req.on('end', () => {
      record.complete = true
      record.sha = sha256(Buffer.concat(chunks))
    })
    req.on('close', () => {
      if (!record.complete) record.aborted = true
    })
    const path = req.url!.split('?')[0]
    if (path.endsWith('/echo')) {
      res.writeHead(200, {
        'content-type': req.headers['content-type'] ?? 'application/octet-stream',
        connection: 'x-hop',
        'x-hop': 'drop me',
        'keep-alive': 'timeout=77',
        'proxy-authenticate': 'Basic',
        'x-end-to-end': 'kept',
        'set-cookie': ['a=1', 'b=2'],
      })
      req.pipe(res)
    } else if (path.endsWith('/gzip')) {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json', 'content-length': GZIPPED.length })
      res.end(GZIPPED)
    } else if (path.endsWith('/stall')) {
      req.pause() // never reads, never answers
    } else if (path.endsWith('/flood')) {
      // FLOOD bytes, written only as fast as the proxy takes them.
      res.writeHead(200, { 'content-length': FLOOD })
      const chunk = Buffer.alloc(64 * 1024, 'f')
      const write = (): void => {
        while (flooded.sent < FLOOD) {
          flooded.sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', write)
        }
        res.end()
      }
      flooded.sent = 0
      write()
    } else if (path.endsWith('/hang')) {
      // never answers
    } else if (path.endsWith('/reset')) {
      req.socket.destroy()
    } else if (path.endsWith('/truncate')) {
      res.writeHead(200, { 'content-length': 1000 })
      res.write(Buffer.alloc(100, 'x'))
      setTimeout(() => req.socket.destroy(), 30)
    } else {
      req.on('end', () => res.end(JSON.stringify({ length: record.length })))
    }
  }
  const server = http.createServer(handler)
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url!.endsWith('/refuse')) {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, length: 0, sha: '', complete: false, aborted: false })
      res.writeHead(417, { 'content-type': 'text/plain', 'x-upstream': 'refused' })
      res.end('no thanks')
      return
    }
    if (req.url!.endsWith('/slow-continue')) {
      // The 100 goes out late, so a test can tell the proxy waited for it.
      setTimeout(() => {
        continuedAt.push(performance.now())
        res.writeContinue()
      }, 80)
    } else {
      res.writeContinue()
    }
    handler(req, res)
  })
  const running = await listen(server)
  return { ...running, seen, continuedAt, flooded, last: () => seen[seen.length - 1] }
}

export type Kind = 'express' | 'koa'

/** A proxy app: `/p/...` proxied to `target` (path kept), `/legacy/...` through a buffered route. */
export interface Stack {
  name: string
  kind: Kind
  start(target: string, options?: ProxyOptions, server?: (handler: http.RequestListener) => http.Server): Promise<Running>
}

type KoaClass = typeof Koa

function expressStack(name: string, express: any): Stack {
  return {
    name,
    kind: 'express',
    start(target, options, server = http.createServer) {
      const app = express()
      app.use(expressShim.streamShim())
      app.use('/legacy', expressShim.buffered({ limit: '1mb' }, expressShim.proxy(target, options)))
      app.use('/p', expressShim.proxy(target, options))
      return listen(server(app))
    },
  }
}

function koaStack(name: string, KoaClass: KoaClass): Stack {
  return {
    name,
    kind: 'koa',
    start(target, options, server = http.createServer) {
      const app = new KoaClass()
      app.silent = true
      const router = new Router()
      router.all('/p/{*rest}', koaShim.proxy(target, options))
      router.post('/legacy/{*rest}', koaShim.buffered({ jsonLimit: '1mb' }, koaShim.proxy(target, options)))
      app.use(koaShim.streamShim())
      app.use(router.routes())
      return listen(server(app.callback()))
    },
  }
}

export const STACKS: Stack[] = [
  expressStack('Express 4', require('express4')),
  expressStack('Express 5', require('express')),
  koaStack('Koa 2', require('koa2') as KoaClass),
  koaStack('Koa 3', require('koa') as KoaClass),
]
