/**
 * What stream-shim records on a request, and what it reads off one.
 *
 * State lives under `Symbol.for` keys so that two loaded copies of the package
 * (an app and a library each depending on stream-shim) agree about a request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { hasBody } from './options.js'

/** How a request's body is handled. */
export type BodyMode = 'streaming' | 'buffered'

/** Set on a request once the shim has decided its mode. */
export const kMode: unique symbol = Symbol.for('stream-shim.mode') as never
/** Set on a request once its body has been buffered and parsed by stream-shim. */
export const kParsed: unique symbol = Symbol.for('stream-shim.parsed') as never

interface ShimState {
  [kMode]?: BodyMode
  [kParsed]?: boolean
  _body?: boolean
}

/** The mode the shim chose for `req`, if it has run. */
export function modeOf(req: object): BodyMode | undefined {
  return (req as ShimState)[kMode]
}

export function setMode(req: object, mode: BodyMode): void {
  ;(req as ShimState)[kMode] = mode
}

/** True when stream-shim already buffered and parsed this request's body. */
export function isParsed(req: object): boolean {
  return (req as ShimState)[kParsed] === true
}

/**
 * Mark the body as parsed. `req._body` is the flag body-parser 1.x (bundled
 * with Express 4) checks before reading, so a stray `express.json()` after the
 * shim skips instead of failing on a body it cannot read.
 */
export function markParsed(req: object): void {
  const state = req as ShimState
  state[kParsed] = true
  state._body = true
}

/**
 * Who already consumed the body of `req`, in words for an error message, or
 * undefined when the body is still there to read.
 */
export function consumedBy(req: IncomingMessage): string | undefined {
  const state = req as ShimState
  // _body is ours on a streaming request (set so body-parser 1.x skips it).
  if (state._body === true && state[kParsed] !== true && state[kMode] !== 'streaming') {
    return 'a body parser (req._body is set)'
  }
  if (req.readableEnded) return 'another reader (the request stream has already ended)'
  if (req.readableFlowing === true && req.listenerCount('data') > 0) {
    return 'another reader (the request stream is already flowing into a data listener)'
  }
  return undefined
}

/** Ask Node to close the connection after this response (HTTP/1 only). */
export function closeConnection(res: ServerResponse): void {
  if (res.headersSent || 'stream' in res) return // HTTP/2 has no Connection header
  res.setHeader('Connection', 'close')
}

/** An HTTP/2 compatibility-API request: its body is the frames of `stream`. */
interface Http2Like {
  stream?: { readableEnded?: boolean; endAfterHeaders?: boolean }
}

/**
 * Whether the request carries a body. HTTP/1 says so in its headers
 * (Content-Length or Transfer-Encoding); an HTTP/2 request has one unless its
 * stream ended with the headers.
 */
export function requestHasBody(req: IncomingMessage): boolean {
  const stream = (req as Http2Like).stream
  if (stream !== undefined && typeof stream.endAfterHeaders === 'boolean') return !stream.endAfterHeaders
  return hasBody(req.headers)
}

/**
 * Whether every byte of the body has arrived from the client. HTTP/1 sets
 * `complete` when the message ends; an HTTP/2 request sets it only after
 * 'end', so ask its stream instead.
 */
export function wireComplete(req: IncomingMessage): boolean {
  return req.complete || (req as Http2Like).stream?.readableEnded === true
}
