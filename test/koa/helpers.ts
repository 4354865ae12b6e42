/** Shared test plumbing for the Koa adapter: both Koa majors, servers on loopback, raw HTTP/1 requests. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type Koa from 'koa'

type KoaClass = typeof Koa

/** Koa 2 (npm alias `koa2`) and Koa 3, for `describe.each`. */
export const KOA_VERSIONS: [string, KoaClass][] = [
  ['Koa 2', require('koa2') as KoaClass],
  ['Koa 3', require('koa') as KoaClass],
]

export interface Running {
  port: number
  server: http.Server
  close(): Promise<void>
}

/** Start `app` on 127.0.0.1 with an ephemeral port; errors Koa handles are kept out of the test output. */
export async function listen(app: Koa): Promise<Running> {
  app.silent = true
  const server = http.createServer(app.callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
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
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers }
    if (options.host !== undefined) headers.host = options.host
    if (options.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
      headers['content-length'] = Buffer.byteLength(options.body)
    }
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path, headers, agent: false })
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.end(options.body)
  })
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
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
  })
  req.flushHeaders()
  return { req, reply }
}
