/**
 * A body nobody will read: what happens to the rest of a request's body once
 * its reader gave up (a refused or failed read) or never started (a streaming
 * handler that answered, threw or passed an error on without reading).
 *
 * Node would read such a body to its end, however large, before it lets the
 * framework's default error handler answer (Express's final handler waits
 * for the request to end) and to keep the connection. Here the body is ended
 * at once for everyone still waiting on it, so the framework answers without
 * waiting and without a `100 Continue`, and what the client still sends is
 * thrown away by Node's parser. The connection is kept when at most
 * `discard` declared bytes are left and no `100 Continue` is pending, and
 * closed after the response otherwise.
 *
 * stream-shim never answers here: the response stays the framework's.
 * HTTP/1 only; an HTTP/2 stream is left to Node.
 */
import { IncomingMessage, type ServerResponse } from 'node:http'
import { continuePending } from './continue.js'
import { contentLength } from './options.js'
import { closeConnection, wireComplete } from './request-state.js'

/** Default `discard` limit: 256 KiB. */
export const DEFAULT_DISCARD = 256 * 1024

const kGuard = Symbol('stream-shim.unread-guard')
const kGivenUp = Symbol('stream-shim.given-up')

interface Guarded {
  [kGuard]?: { res: ServerResponse; discard: number; received: () => number }
  [kGivenUp]?: true
  _dumped?: boolean
}

/**
 * From now on, treat a drain of `req` (a `resume()` with nobody reading:
 * Express's final handler, `req.resume()` to discard, Node's own dump after
 * the response) as giving the body up: end it at once under the policy above.
 * `received` tells how many body bytes a reader already took off the wire.
 * Guarding again only updates the settings.
 */
export function guardUnreadBody(
  req: IncomingMessage,
  res: ServerResponse,
  discard: number,
  received: () => number = none,
): void {
  const guarded = req as IncomingMessage & Guarded
  if (isHttp2(req) || wireComplete(req) || req.readableEnded || guarded[kGivenUp] === true) return
  const existing = guarded[kGuard]
  guarded[kGuard] = { res, discard, received }
  if (existing !== undefined) return
  const resume = req.resume
  req.resume = function resumeGuarded(this: IncomingMessage & Guarded) {
    const guard = this[kGuard]
    if (guard !== undefined && nobodyReads(this)) giveUpBody(this, guard.res, guard.discard, guard.received())
    return resume.call(this)
  }
}

/**
 * Give up what is left of `req`'s body now: let Node's parser throw the rest
 * away, end the request stream at once if the response still waits for it,
 * and keep or close the connection as the policy says. `received` is the
 * body bytes a reader already took off the wire.
 */
export function giveUpBody(req: IncomingMessage, res: ServerResponse, discard: number, received = 0): void {
  const guarded = req as IncomingMessage & Guarded
  if (isHttp2(req) || guarded[kGivenUp] === true) return
  guarded[kGivenUp] = true
  guarded[kGuard] = undefined
  const pending = continuePending(req) // the client waits for a 100 that will never come: no body follows
  const complete = wireComplete(req)
  const expected = contentLength(req.headers)
  const keep = complete || (!pending && expected !== undefined && expected - received - req.readableLength <= discard)
  // Node's parser drops the body bytes of a dumped request instead of pushing them.
  guarded._dumped = true
  if (!keep && !pending) closeAfter(req, res) // with a 100 pending, Node closes by itself
  if (!complete) {
    if (keep) socketRead.call(req, 0) // let the rest come off the socket, to be dropped
    if (!res.headersSent) {
      // The framework waits for the body to end before it answers (Express's
      // final handler does): end it now. Node must not destroy the request
      // at that end, as it would one whose body has not all arrived, by
      // destroying the connection.
      ;(req as unknown as { _readableState: { autoDestroy: boolean } })._readableState.autoDestroy = false
      req.push(null)
    }
  }
  req.resume()
}

/** IncomingMessage's own `_read`: it only restarts the socket (and sends no `100 Continue`). */
const socketRead = IncomingMessage.prototype._read as (this: IncomingMessage, size: number) => void

/** Close the connection once `res` is out: by header while it is not sent, else by destroying the socket after it. */
function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) {
    closeConnection(res)
    return
  }
  const socket = req.socket
  if (res.writableFinished) socket.destroy()
  else res.once('finish', () => socket.destroy())
}

function nobodyReads(req: IncomingMessage): boolean {
  return (
    req.listenerCount('data') === 0 &&
    req.listenerCount('readable') === 0 &&
    (req as unknown as { _readableState: { pipes: unknown[] } })._readableState.pipes.length === 0
  )
}

function isHttp2(req: IncomingMessage): boolean {
  return 'stream' in req
}

function none(): number {
  return 0
}

const warnedRoutes = new Set<string>()
const MAX_WARNED_ROUTES = 1000

/**
 * Warn once per route, outside production (`NODE_ENV !== 'production'`), that
 * a streaming handler answered with success without reading its body. Emitted
 * with `process.emitWarning` as a `StreamShimWarning` with code
 * `STREAM_SHIM_UNREAD_BODY`.
 */
export function warnUnreadBody(route: string): void {
  warnOnce(
    `unread ${route}`,
    `the streaming handler for ${route} finished its response without reading the whole request body. ` +
      'Read req.bodyStream (or ctx.request.bodyStream), or answer with an error status when refusing the body; ' +
      "an unread body is discarded up to the route's `discard` limit, beyond which the connection is closed.",
    'STREAM_SHIM_UNREAD_BODY',
  )
}

/**
 * Warn once per route, outside production, that code read `body` on a
 * streaming route (where it is `undefined`), with code
 * `STREAM_SHIM_BODY_NOT_BUFFERED`.
 */
export function warnBodyNotBuffered(route: string, where: string, stream: string): void {
  warnOnce(
    `body ${route}`,
    `${where} was read on the streaming route ${route}, where the body is not buffered and ${where} is undefined. ` +
      `Read the body from ${stream}, or mark the route buffered() to have it parsed.`,
    'STREAM_SHIM_BODY_NOT_BUFFERED',
  )
}

function warnOnce(key: string, message: string, code: string): void {
  if (process.env.NODE_ENV === 'production' || warnedRoutes.has(key)) return
  if (warnedRoutes.size >= MAX_WARNED_ROUTES) return
  warnedRoutes.add(key)
  process.emitWarning(message, { type: 'StreamShimWarning', code })
}
