/**
 * What stream-shim records on a request, and what it reads off one.
 *
 * State lives under `Symbol.for` keys so that two loaded copies of the package
 * (an app and a library each depending on stream-shim) agree about a request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { hasBody } from './options.js'
import { realComplete } from './step-aside.js'

/** How a request's body is handled. */
export type BodyMode = 'streaming' | 'buffered'

/**
 * The shim's state per request: its mode once decided, `'parsed'` once
 * stream-shim has buffered and parsed its body. Kept beside the request, not
 * on it: a property added to every request cost Express apps on Node 20 and
 * 22 tens of µs per request (their request objects slow down after the shape
 * change), and a WeakMap costs a hash lookup. One map per process, under a
 * `Symbol.for` key, so that two loaded copies of the package (an app and a
 * library each depending on stream-shim) agree about a request.
 */
const states: WeakMap<object, BodyMode | 'parsed'> = ((globalThis as { [key: symbol]: unknown })[
  Symbol.for('stream-shim.request-states')
] ??= new WeakMap()) as WeakMap<object, BodyMode | 'parsed'>

interface ShimState {
  _body?: boolean
}

/** The mode the shim chose for `req`, if it has run. */
export function modeOf(req: object): BodyMode | undefined {
  const state = states.get(req)
  return state === 'parsed' ? 'buffered' : state
}

export function setMode(req: object, mode: BodyMode): void {
  if (states.get(req) !== 'parsed') states.set(req, mode)
}

/** True when stream-shim already buffered and parsed this request's body. */
export function isParsed(req: object): boolean {
  return states.get(req) === 'parsed'
}

/**
 * Mark the body as parsed. `req._body` is the flag body-parser 1.x (bundled
 * with Express 4) checks before reading, so a stray `express.json()` after the
 * shim skips instead of failing on a body it cannot read.
 */
export function markParsed(req: object): void {
  states.set(req, 'parsed')
  ;(req as ShimState)._body = true
}

/**
 * Who already consumed the body of `req`, in words for an error message, or
 * undefined when the body is still there to read.
 */
export function consumedBy(req: IncomingMessage): string | undefined {
  // _body is ours on a streaming request (set so body-parser 1.x skips it).
  const state = states.get(req)
  if ((req as ShimState)._body === true && state !== 'parsed' && state !== 'streaming') {
    return 'a body parser (req._body is set)'
  }
  if (req.readableEnded) return 'another reader (the request stream has already ended)'
  if (req.readableFlowing === true && req.listenerCount('data') > 0) {
    return 'another reader (the request stream is already flowing into a data listener)'
  }
  return undefined
}

/**
 * Whether the client went away before its body arrived: the request was
 * destroyed (Node does that when the socket closes), or its socket is gone
 * with the body incomplete.
 */
export function clientGone(req: IncomingMessage): boolean {
  if (req.destroyed) return true
  const socket = req.socket as { destroyed?: boolean } | null
  return socket !== null && socket !== undefined && socket.destroyed === true && !wireComplete(req)
}

/**
 * Ask Node to close the connection after this response (HTTP/1 only),
 * lingering: a client still sending a body the server gave up must get to
 * read the response before the connection goes.
 */
export function closeConnection(res: ServerResponse): void {
  if ('stream' in res) return // HTTP/2 has no Connection header
  if (!res.headersSent) res.setHeader('Connection', 'close')
  const socket = res.socket
  if (socket !== null && socket !== undefined) lingerOnClose(socket)
}

/** How long a closing connection keeps reading (and dropping) what the client still sends. */
const LINGER = 2000

/**
 * Make Node's close after a `Connection: close` response a lingering one:
 * send the end of the response and FIN, go on reading (Node's parser drops
 * the body of a dumped request) for up to two seconds or until the client
 * closes, then close. Closing at once while the client still sends makes
 * its system reset the connection, which can throw away the response it had
 * not read yet (the reason servers such as nginx linger).
 */
export function lingerOnClose(socket: Socket): void {
  const closing = socket as Socket & { destroySoon?: () => void }
  if (Object.hasOwn(closing, 'destroySoon')) return
  closing.destroySoon = function lingeringClose(this: Socket) {
    if (this.writable) this.end()
    const timer = setTimeout(() => this.destroy(), LINGER)
    timer.unref()
    this.once('close', () => clearTimeout(timer))
  }
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
  return realComplete(req) || (req as Http2Like).stream?.readableEnded === true
}
