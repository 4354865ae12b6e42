/**
 * A body nobody read: what happens to the rest of a streaming request's body
 * once its handler has finished the response without consuming it.
 *
 * Node would read such a body to its end, however large, to keep the
 * connection usable. Here at most `discard` bytes are read and thrown away;
 * a body with more left (known from its Content-Length, or found while
 * discarding a chunked one) gets its connection closed once the response is
 * out. Ownership: the discarder owns the request stream from the moment the
 * response is done; it removes its listener and timer when the body ends, the
 * request closes, or it gives up.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { contentLength } from './options.js'

/** Default `discard` limit: 256 KiB. */
export const DEFAULT_DISCARD = 256 * 1024

export interface DiscardOptions {
  /** Most bytes to read and throw away before closing instead. */
  discard: number
  /** Longest idle gap while discarding, in ms, before closing; 0 for none. */
  timeout: number
  /** Wire bytes of the body already received. */
  received: number
}

/**
 * Throw away what is left of `req`'s body, or close the connection after
 * `res` when there is more of it than `options.discard`. HTTP/1 only.
 */
export function discardBody(req: IncomingMessage, res: ServerResponse, options: DiscardOptions): void {
  const expected = contentLength(req.headers)
  if (expected !== undefined && expected - options.received > options.discard) {
    closeAfter(req, res)
    return
  }
  let left = options.discard
  let timer: NodeJS.Timeout | undefined
  const stop = (): void => {
    req.removeListener('data', onData)
    req.removeListener('end', stop)
    req.removeListener('close', stop)
    if (timer !== undefined) clearTimeout(timer)
  }
  const giveUp = (): void => {
    stop()
    req.pause()
    closeAfter(req, res)
  }
  function onData(chunk: Buffer): void {
    left -= chunk.length
    if (left < 0) giveUp()
    else timer?.refresh()
  }
  req.on('data', onData)
  req.once('end', stop)
  req.once('close', stop)
  if (options.timeout > 0) {
    timer = setTimeout(giveUp, options.timeout)
    timer.unref()
  }
  req.resume()
}

/** Destroy the connection of `req` once `res` has been written out. */
function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket
  if (res.writableFinished) socket.destroy()
  else res.once('finish', () => socket.destroy())
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
  if (process.env.NODE_ENV === 'production' || warnedRoutes.has(route)) return
  if (warnedRoutes.size >= MAX_WARNED_ROUTES) return
  warnedRoutes.add(route)
  process.emitWarning(
    `the streaming handler for ${route} finished its response without reading the whole request body. ` +
      'Read req.bodyStream (or ctx.request.bodyStream), or answer with an error status when refusing the body; ' +
      'an unread body is discarded up to the route\'s `discard` limit, beyond which the connection is closed.',
    { type: 'StreamShimWarning', code: 'STREAM_SHIM_UNREAD_BODY' },
  )
}
