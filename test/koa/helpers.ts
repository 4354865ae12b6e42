/** Shared test plumbing for the Koa adapter: both Koa majors, servers on loopback, raw HTTP/1 requests. */
import http from 'node:http'
import type Koa from 'koa'
import { listen as listenOn, readReply, type Reply, type Running } from '../helpers/http.js'

export type { Reply, Running }

type KoaClass = typeof Koa

/** Koa 2 (npm alias `koa2`) and Koa 3, for `describe.each`. */
export const KOA_VERSIONS: [string, KoaClass][] = [
  ['Koa 2', require('koa2') as KoaClass],
  ['Koa 3', require('koa') as KoaClass],
]

/** Start `app` on 127.0.0.1 with an ephemeral port; errors Koa handles are kept out of the test output. */
export function listen(app: Koa): Promise<Running> {
  app.silent = true
  return listenOn(http.createServer(app.callback()))
}

export interface RawRequest {
  method?: string
  path: string
  headers?: http.OutgoingHttpHeaders
  /** The body, written in one go (a `string` or `Buffer`), or nothing. */
  body?: string | Buffer
  /** Sent as Host. */
  host?: string
}

/** One request over a fresh connection; resolves with the whole reply. */
export function request(port: number, options: RawRequest): Promise<Reply> {
  const headers = { ...options.headers }
  if (options.host !== undefined) headers.host = options.host
  if (options.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    headers['content-length'] = Buffer.byteLength(options.body)
  }
  const { req, reply } = openRequest(port, { method: options.method, path: options.path, headers })
  req.end(options.body)
  return reply
}

/** A promise with its resolve function, for signals between the server and the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Start a request, send its headers at once, and leave the body to the caller. */
export function openRequest(
  port: number,
  options: { method?: string; path: string; headers?: http.OutgoingHttpHeaders },
): { req: http.ClientRequest; reply: Promise<Reply> } {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: options.method ?? 'POST',
    path: options.path,
    headers: options.headers,
    agent: false,
  })
  const reply = new Promise<Reply>((resolve, reject) => {
    req.on('error', reject)
    req.on('response', (res) => readReply(res).then(resolve, reject))
  })
  req.flushHeaders()
  return { req, reply }
}
