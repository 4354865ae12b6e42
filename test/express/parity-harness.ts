/**
 * Shared by the body-parser parity tests: the same middleware mounted on
 * Express 4, Express 5 or a plain node:http server, answering through one
 * `respond` function so that two servers can be compared response for response,
 * and a raw HTTP/1.1 client that sends exactly the bytes a test gives.
 */
import { once } from 'node:events'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import express5 from 'express'

// Express 4 is installed under an npm alias; its types are those of Express 5's
// package, close enough for `app.use`.
export const express4 = require('express4') as typeof express5

export type Middleware = (req: any, res: any, next: (err?: unknown) => void) => void
export type Flavor = 'express4' | 'express5' | 'node:http'
export type Respond = (req: any, res: http.ServerResponse, err?: any) => void

/** The name of a value's prototype, for comparing results without comparing identities. */
export function prototypeName(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null
  const proto = Object.getPrototypeOf(value)
  if (proto === null) return 'null'
  if (proto === Object.prototype) return 'Object'
  if (proto === Array.prototype) return 'Array'
  if (proto === Buffer.prototype) return 'Buffer'
  return 'other'
}

/** A server running `mw`, then answering with `respond` (with the error, if `mw` passed one on). */
export function createServer(flavor: Flavor, mw: Middleware, respond: Respond): http.Server {
  if (flavor === 'node:http') {
    return http.createServer((req, res) => mw(req, res, (err) => respond(req, res, err)))
  }
  const app = (flavor === 'express4' ? express4 : express5)()
  app.use(mw)
  app.use((req: any, res: any) => respond(req, res))
  app.use((err: any, req: any, res: any, _next: any) => respond(req, res, err))
  return http.createServer(app)
}

const ERROR_FIELDS = [
  'status',
  'statusCode',
  'type',
  'expose',
  'message',
  'name',
  'charset',
  'encoding',
  'limit',
  'length',
  'expected',
] as const

function describeValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { buffer: value.toString('base64') }
  return value
}

/** What the handler reports about a request: the same shape on every server. */
export function report(req: any, err?: any) {
  const body = req.body
  const out: Record<string, unknown> = {
    hasBodyKey: 'body' in req,
    body: describeValue(body),
    rawType: typeof body,
    isBuffer: Buffer.isBuffer(body),
    proto: prototypeName(body),
    verified: req.verified,
  }
  if (err !== undefined) {
    const fields: Record<string, unknown> = {}
    for (const key of ERROR_FIELDS) fields[key] = describeValue(err[key])
    fields.body = describeValue(err.body)
    // How many bytes had arrived depends on chunking; only its presence is compared.
    fields.received = typeof err.received
    fields.isError = err instanceof Error
    out.err = fields
  }
  return out
}

export function respond(req: any, res: http.ServerResponse, err?: any): void {
  const payload = JSON.stringify(report(req, err))
  res.statusCode = err === undefined ? 200 : typeof err.status === 'number' ? err.status : 500
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Content-Length', Buffer.byteLength(payload))
  res.end(payload)
}

export interface RawRequest {
  method?: string
  path?: string
  /** Header lines, sent as given (no Content-Length is added for you). */
  headers?: Record<string, string>
  body?: Buffer | string
  /** Send the body with Transfer-Encoding: chunked, split in two chunks. */
  chunked?: boolean
}

export interface RawResponse {
  status: number
  json: any
}

/** Write one HTTP/1.1 request by hand on a fresh socket; read the response until close. */
export async function sendRaw(port: number, request: RawRequest): Promise<RawResponse> {
  const body = request.body === undefined ? undefined : Buffer.from(request.body)
  const lines = [`${request.method ?? 'POST'} ${request.path ?? '/'} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
  const headers = { ...request.headers }
  if (body !== undefined && request.chunked) headers['Transfer-Encoding'] = 'chunked'
  else if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = String(body.length)
  }
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  let payload = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
  if (body !== undefined) {
    if (request.chunked) {
      const half = Math.ceil(body.length / 2)
      const parts = [body.subarray(0, half), body.subarray(half)].filter((p) => p.length > 0)
      const pieces = parts.flatMap((p) => [Buffer.from(p.length.toString(16) + '\r\n'), p, Buffer.from('\r\n')])
      payload = Buffer.concat([payload, ...pieces, Buffer.from('0\r\n\r\n')])
    } else {
      payload = Buffer.concat([payload, body])
    }
  }

  const socket = net.connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  // The server may close before reading the whole body (an over-limit body is
  // refused unread); a reset after the response arrived is not a failure.
  socket.on('error', () => {})
  // No half-close: Node's server aborts a request whose client sent FIN early.
  socket.write(payload)
  await once(socket, 'close')
  const text = Buffer.concat(chunks).toString('utf8')
  const split = text.indexOf('\r\n\r\n')
  if (split === -1) throw new Error(`no HTTP response: ${JSON.stringify(text)}`)
  const status = Number(text.slice(9, 12))
  return { status, json: JSON.parse(text.slice(split + 4)) }
}

async function listenOn(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** Send `request` to a server running `mw` (on `flavor`) and return its answer. */
export async function answer(flavor: Flavor, mw: Middleware, request: RawRequest): Promise<RawResponse> {
  const server = createServer(flavor, mw, respond)
  try {
    return await sendRaw(await listenOn(server), request)
  } finally {
    await closeServer(server)
  }
}

/**
 * Send `request` to a server running `reference` and to one running `ours`
 * (on `flavor`), assert that both answer alike (status, body and its type, the
 * error's fields), and return the answer.
 */
export async function expectSameAnswer(
  flavor: Flavor,
  reference: Middleware,
  ours: Middleware,
  request: RawRequest,
  answer: Respond = respond,
): Promise<RawResponse> {
  const servers = [createServer(flavor, reference, answer), createServer(flavor, ours, answer)]
  try {
    const ports = await Promise.all(servers.map(listenOn))
    const [expected, actual] = await Promise.all(ports.map((port) => sendRaw(port, request)))
    expect(actual).toEqual(expected)
    return actual
  } finally {
    await Promise.all(servers.map(closeServer))
  }
}
