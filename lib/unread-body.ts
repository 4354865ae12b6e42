/**
 * A body nobody will read: what happens to the rest of a request's body once
 * its reader gave up (a refused or failed read) or never started (a streaming
 * handler that answered, threw or passed an error on without reading).
 *
 * Node would read such a body to its end, however large, before it lets the
 * framework's default error handler answer (Express's final handler waits
 * for the request to end) and to keep the connection. Here, when something
 * drains the request without reading it, the body is ended at once for
 * everyone waiting on it, so the framework answers without waiting and
 * without a `100 Continue`, and what the client still sends is thrown away
 * by Node's parser. The connection is kept when at most `discard` declared
 * bytes are left and no `100 Continue` is pending, and closed (lingering, see
 * `lingerOnClose()`) after the response otherwise. A body cut off half-way
 * by a failed read is the exception: the client may finish sending it,
 * within `discard`, before the response goes out, as with body-parser.
 *
 * stream-shim never answers here: the response stays the framework's.
 * HTTP/1 only; an HTTP/2 stream is left to Node.
 */
import { IncomingMessage, type ServerResponse } from 'node:http'
import { continuePending } from './continue.js'
import { contentLength } from './options.js'
import { closeConnection, lingerOnClose, wireComplete } from './request-state.js'
import { stepIn } from './step-aside.js'

/** Default `discard` limit: 256 KiB. */
export const DEFAULT_DISCARD = 256 * 1024

const kGuard = Symbol('stream-shim.unread-guard')
const kGivenUp = Symbol('stream-shim.given-up')

/** How to give up a body. */
export interface GiveUpOptions {
  /** Most declared bytes left that are thrown away to keep the connection. */
  discard: number
  /** Body bytes a reader already took off the wire. */
  received?: () => number
  /**
   * A read failed half-way (over the limit, undecodable) while the client may
   * still be sending: before a waiting response goes out, let the client
   * finish, reading and throwing away at most `discard` more bytes with gaps
   * of at most `timeout` ms (as body-parser does, so that clients that only
   * read the response once they have sent the body get it); past either, the
   * body ends at once and the connection is closed.
   */
  finishing?: { timeout: number }
}

interface Guarded {
  [kGuard]?: { res: ServerResponse; options: GiveUpOptions }
  [kGivenUp]?: true
  _dumped?: boolean
  _readableState: { autoDestroy: boolean; pipes: unknown[] }
}

/**
 * From now on, treat a drain of `req` (a `resume()` with nobody reading:
 * Express's final handler, `req.resume()` to discard, Node's own dump after
 * the response) as giving the body up, under the policy above. Guarding
 * again only updates the options.
 */
export function guardUnreadBody(req: IncomingMessage, res: ServerResponse, options: GiveUpOptions): void {
  const guarded = req as IncomingMessage & Guarded
  if (isHttp2(req) || wireComplete(req) || req.readableEnded || guarded[kGivenUp] === true) return
  const existing = guarded[kGuard]
  guarded[kGuard] = { res, options }
  if (existing !== undefined) return
  const resume = req.resume
  req.resume = function resumeGuarded(this: IncomingMessage & Guarded) {
    const guard = this[kGuard]
    if (guard !== undefined && nobodyReads(this)) giveUpBody(this, guard.res, guard.options)
    return resume.call(this)
  }
}

/**
 * Give up what is left of `req`'s body now: let Node's parser throw the rest
 * away, end the request stream at once if a response still waits for it,
 * and keep or close the connection as the policy says.
 */
export function giveUpBody(req: IncomingMessage, res: ServerResponse, options: GiveUpOptions): void {
  const guarded = req as IncomingMessage & Guarded
  if (isHttp2(req) || guarded[kGivenUp] === true) return
  guarded[kGivenUp] = true
  guarded[kGuard] = undefined
  stepIn(req)
  if (wireComplete(req)) {
    req.resume() // all of it arrived: what is buffered drains, and the connection is kept
    return
  }
  const pending = continuePending(req) // the client waits for a 100 that will never come: no body follows
  const waiting = !res.headersSent // a response waits for the body to end (Express's final handler)
  if (options.finishing !== undefined && waiting && !pending) {
    // The framework waits on the body's end: end it at once if the client does not finish.
    finishSending(req, res, options.discard, options.finishing.timeout, (finished) => {
      if (!finished) endNow(guarded)
    })
    return
  }
  const expected = contentLength(req.headers)
  const received = options.received?.() ?? 0
  const keep = !pending && expected !== undefined && expected - received - req.readableLength <= options.discard
  if (!keep && !pending) closeAfter(req, res) // with a 100 pending, Node closes by itself
  // Node's parser drops the body bytes of a dumped request instead of pushing them.
  guarded._dumped = true
  if (keep) socketRead.call(req, 0) // let the rest come off the socket, to be dropped
  if (waiting) endNow(guarded)
  req.resume()
}

/**
 * Whether a read failed half-way while the client was still sending a body
 * it may want to finish (over the limit as it flowed, undecodable), rather
 * than before any byte, or because the client stalled or went away.
 */
export function cutOffHalfWay(err: Error & { type?: unknown }, received: number): boolean {
  return received > 0 && err.type !== 'request.timeout' && err.type !== 'request.aborted'
}

/**
 * After a read failed with `err` before the whole body arrived, how the rest
 * is given up when the framework drains the request:
 * - a client that stalled or went away: the connection is closed;
 * - a body refused before any byte of it was read (a declared length over
 *   the limit, an encoding not decoded): it ends at once, and the connection
 *   is kept when at most `discard` declared bytes are left;
 * - a body cut off half-way (over the limit while flowing, undecodable): the
 *   client may finish sending it within `discard` before a waiting response
 *   goes out, and the connection is closed.
 * A close is said in the response's headers now, while they are not sent.
 */
export function afterFailedRead(
  req: IncomingMessage,
  res: ServerResponse,
  err: Error & { type?: unknown },
  received: () => number,
  discard: number,
  timeout: number,
): void {
  if (err.type === 'request.timeout' || err.type === 'request.aborted') {
    closeConnection(res)
    guardUnreadBody(req, res, { discard: 0, received })
  } else if (received() === 0) {
    const expected = contentLength(req.headers)
    if (expected === undefined || expected > discard) closeConnection(res)
    guardUnreadBody(req, res, { discard, received })
  } else {
    closeConnection(res)
    guardUnreadBody(req, res, { discard, received, finishing: { timeout } })
  }
}

/**
 * The longest gap between two chunks while a client finishes sending a body
 * nobody will use: one that is still sending sends steadily, and one that
 * stalled is not waited for longer than this.
 */
const FINISH_GAP = 1000

/**
 * Let the client finish sending what is left of a body nobody will use,
 * reading and throwing away at most `discard` bytes with gaps of at most
 * `timeout` ms (1 s at most), then call `done(true)`: the request has ended
 * as usual. Past either limit, the connection is to be closed after the
 * response, Node's parser drops the rest, and `done(false)` is called: the
 * caller ends the body for whoever waits on it.
 */
export function finishSending(
  req: IncomingMessage,
  res: ServerResponse,
  discard: number,
  timeout: number,
  done: (finished: boolean) => void,
): void {
  const guarded = req as IncomingMessage & Guarded
  let left = discard - req.readableLength
  const stop = (): void => {
    req.removeListener('data', onData)
    req.removeListener('end', finished)
    req.removeListener('close', finished)
    clearTimeout(timer)
  }
  const finished = (): void => {
    stop()
    done(true)
  }
  const cut = (): void => {
    stop()
    closeAfter(req, res)
    guarded._dumped = true
    done(false)
  }
  function onData(chunk: Buffer): void {
    left -= chunk.length
    if (left < 0) cut()
    else timer.refresh()
  }
  const timer = setTimeout(cut, timeout > 0 ? Math.min(timeout, FINISH_GAP) : FINISH_GAP)
  timer.unref()
  if (left < 0 || continuePending(req)) {
    cut()
    return
  }
  req.on('data', onData)
  req.once('end', finished)
  req.once('close', finished)
  req.resume() // the reader that failed left the request paused, which on('data') does not undo
}

/**
 * End the request stream now, for whoever waits on its end. Node must not
 * destroy the request at that end, as it does one whose body has not all
 * arrived, by destroying the connection.
 */
function endNow(req: IncomingMessage & Guarded): void {
  req._readableState.autoDestroy = false
  req.push(null)
}

/** IncomingMessage's own `_read`: it only restarts the socket (and sends no `100 Continue`). */
const socketRead = IncomingMessage.prototype._read as (this: IncomingMessage, size: number) => void

/** Close the connection once `res` is out: by header while it is not sent, else by destroying the socket after it. */
function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) {
    closeConnection(res)
    return
  }
  const socket = req.socket as typeof req.socket & { destroySoon(): void }
  lingerOnClose(socket)
  if (res.writableFinished) socket.destroySoon()
  else res.once('finish', () => socket.destroySoon())
}

function nobodyReads(req: IncomingMessage & Guarded): boolean {
  return req.listenerCount('data') === 0 && req.listenerCount('readable') === 0 && req._readableState.pipes.length === 0
}

function isHttp2(req: IncomingMessage): boolean {
  return 'stream' in req
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

/**
 * Warn once per route, outside production, that a streaming route ran on a
 * request `streamShim()` had already buffered because it could not see the
 * route from where it is mounted (behind koa-mount or koa-compose, a path or
 * method rewritten by middleware behind the shim, an `app.use(path, subApp)`
 * or vhost sub-app). The handler still gets every byte, replayed, but under
 * the buffered limit: a larger body was refused before the route ran.
 */
export function warnBufferedBeforeStreaming(route: string): void {
  warnOnce(
    `buffered ${route}`,
    `the streaming route ${route} received a body stream-shim had already buffered, because streamShim() could not ` +
      'tell from where it is mounted that this route would run (a router behind koa-mount or koa-compose, a sub-app, ' +
      'or middleware behind the shim rewriting the path or method). The body is replayed to the handler, but under the ' +
      'buffered limit. Mount the router on the app itself, or move path-rewriting middleware in front of streamShim().',
    'STREAM_SHIM_BUFFERED_BEFORE_STREAMING',
  )
}
