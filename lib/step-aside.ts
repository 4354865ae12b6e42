/**
 * Body parsers step aside on streaming routes. Between `streamShim()` and a
 * streaming route's handler, an app may still run a body parser of its own
 * (`app.use(express.json())` kept after the shim). body-parser 1.x skips a
 * request with `req._body` set, and stream-shim's drop-ins skip streaming
 * requests; body-parser 2.x (Express 5's `express.json()`) only asks
 * on-finished's `isFinished(req)`, which holds for a request whose message
 * is complete and that is no longer readable. So until the body's owner
 * starts (the route's handler runs, or its body stream is read), a streaming
 * request answers `complete` as true and `readable` as false; stream-shim
 * itself reads the real values (`wireComplete()`).
 *
 * HTTP/1 only: an HTTP/2 request's `complete` is not what on-finished reads.
 */
import type { IncomingMessage } from 'node:http'

const kVeil = Symbol('stream-shim.step-aside')

interface Veiled {
  [kVeil]?: { complete: boolean }
}

/** Make body parsers that check `isFinished(req)` step aside, until `stepIn(req)`. */
export function stepAside(req: IncomingMessage): void {
  const veiled = req as IncomingMessage & Veiled
  if ('stream' in req || veiled[kVeil] !== undefined) return
  const real = { complete: req.complete }
  veiled[kVeil] = real
  Object.defineProperty(req, 'complete', {
    configurable: true,
    enumerable: true,
    get: () => true,
    set: (value: boolean) => {
      real.complete = value // Node's parser sets it when the message ends
    },
  })
  req.readable = false
}

/** The body's owner is starting: `req` tells the truth again. */
export function stepIn(req: IncomingMessage): void {
  const veiled = req as IncomingMessage & Veiled
  const real = veiled[kVeil]
  if (real === undefined) return
  veiled[kVeil] = undefined
  delete (req as { complete?: boolean }).complete
  req.complete = real.complete
  req.readable = true
}

/** Whether the message of `req` has fully arrived, seen through a step-aside. */
export function realComplete(req: IncomingMessage): boolean {
  const real = (req as IncomingMessage & Veiled)[kVeil]
  return real === undefined ? req.complete : real.complete
}
