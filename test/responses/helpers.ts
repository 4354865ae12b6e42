/** Test plumbing for streaming responses: both majors of each framework on loopback, and a client that sees how a response ended. */
import http from 'node:http'
import http2 from 'node:http2'
import zlib from 'node:zlib'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { listen as listenOn, type Running } from '../helpers/http.js'

export const EXPRESS_VERSIONS: [string, any][] = [
  ['Express 4', require('express4')],
  ['Express 5', require('express')],
]

export const KOA_VERSIONS: [string, any][] = [
  ['Koa 2', require('koa2')],
  ['Koa 3', require('koa')],
]

export type { Running }

/** Listen with an Express app, or a Koa app (its callback, errors kept out of the output). */
export function listen(app: any): Promise<Running> {
  if (typeof app.callback === 'function') {
    app.silent = true
    return listenOn(http.createServer(app.callback()))
  }
  return listenOn(http.createServer(app))
}

/** GET `path`; resolves with the response once its head arrives. */
export function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, resolve)
    req.on('error', reject)
  })
}

export interface Received {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** True only when the response ended cleanly (chunked terminator or full Content-Length). */
  complete: boolean
}

/** Read `res` to its end, or to the connection's end; never rejects. */
export async function receive(res: http.IncomingMessage, decode?: 'gzip' | 'br'): Promise<Received> {
  const chunks: Buffer[] = []
  let complete = true
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer)
  } catch {
    complete = false
  }
  complete &&= res.complete
  let body = Buffer.concat(chunks)
  if (decode === 'gzip') body = zlib.gunzipSync(body)
  if (decode === 'br') body = zlib.brotliDecompressSync(body)
  return { status: res.statusCode!, headers: res.headers, body, complete }
}

/** GET and read the whole response; a connection closed before the head gives status 0, incomplete. */
export async function fetchAll(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<Received> {
  let res: http.IncomingMessage
  try {
    res = await get(port, path, headers)
  } catch {
    return { status: 0, headers: {}, body: Buffer.alloc(0), complete: false }
  }
  return receive(res)
}

/** A decoder for a compressed response, for reading it as it arrives. */
export function decoder(encoding: string | undefined): NodeJS.ReadWriteStream | undefined {
  if (encoding === 'gzip') return zlib.createGunzip()
  if (encoding === 'br') return zlib.createBrotliDecompress()
  return undefined
}

/**
 * Read `count` events from `stream`, each one a line; after each line calls
 * `onLine`. Resolves with the lines. The server produces the next line only
 * after `onLine` ran, so a chunk held back anywhere makes this wait forever.
 */
export async function lockstep(stream: Readable | NodeJS.ReadableStream, count: number, onLine: (line: string) => void): Promise<string[]> {
  const lines: string[] = []
  let pending = ''
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending += chunk.toString()
    let newline
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (line === '') continue
      lines.push(line)
      onLine(line)
      if (lines.length === count) return lines
    }
  }
  return lines
}

/** A promise with its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Wait until `predicate` holds (polling), or fail after `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Wait until `read()` stops changing over `ms`, and return it. */
export async function settled(read: () => number, ms = 150): Promise<number> {
  let last = -1
  for (;;) {
    const now = read()
    if (now === last) return now
    last = now
    await new Promise((resolve) => setTimeout(resolve, ms))
  }
}

/** An HTTP/2 cleartext server for `handler`, and a session connected to it. */
export async function listenH2(handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void) {
  const server = http2.createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const session = http2.connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  return {
    server,
    session,
    close: () =>
      new Promise<void>((resolve) => {
        session.destroy()
        server.close(() => resolve())
      }),
  }
}

export interface H2Received {
  status: number
  headers: http2.IncomingHttpHeaders
  body: Buffer
  /** The RST_STREAM code when the stream was reset, else 0. */
  rstCode: number
  complete: boolean
}

/** Request `path` on `session` and read the whole stream; never rejects. */
export async function h2Fetch(session: http2.ClientHttp2Session, path: string): Promise<H2Received> {
  const stream = session.request({ ':path': path })
  stream.on('error', () => {})
  const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders]
  const chunks: Buffer[] = []
  let complete = true
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer)
  } catch {
    complete = false
  }
  if (!stream.closed) await once(stream, 'close')
  return { status: Number(headers[':status']), headers, body: Buffer.concat(chunks), rstCode: stream.rstCode ?? 0, complete: complete && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR }
}
