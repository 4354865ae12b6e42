/**
 * `Expect: 100-continue` under the handler's control.
 *
 * Node answers `100 Continue` before the app sees a request unless the server
 * has a `checkContinue` listener. `installContinue()` adds one that holds the
 * interim response back and hands the request to the app as usual; the 100 is
 * then sent when something first reads the body (a streaming handler reading
 * `bodyStream`, `bodyStream.accept()`, the buffered reader, or any legacy
 * reader of the request stream). A final response sent before that (401, 403,
 * 413, 415, …) means the client never sends the body, and Node closes the
 * connection after it.
 */
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'

const kContinue = Symbol.for('stream-shim.continue')
const kInstalled = Symbol.for('stream-shim.continue.installed')

/** The response side of a request that waits for 100 Continue (HTTP/1 or the HTTP/2 compatibility API). */
interface ContinueResponse {
  readonly headersSent: boolean
  readonly writableEnded: boolean
  writeContinue(): void
}

interface ContinueState {
  res: ContinueResponse
  sent: boolean
}

type Held = { [kContinue]?: ContinueState; _read: (size: number) => void }

/**
 * Hold back `100 Continue` for `req` until its body is first read: the
 * request's own `_read` is wrapped once, so any reader triggers it.
 */
export function deferContinue(req: IncomingMessage, res: ContinueResponse): void {
  const held = req as unknown as Held
  if (held[kContinue] !== undefined) return
  held[kContinue] = { res, sent: false }
  const read = held._read
  held._read = function readAfterContinue(this: Held, size: number): void {
    sendContinue(req)
    read.call(this, size)
  }
}

/**
 * Send the `100 Continue` that `req` waits for, once, unless a final response
 * has already started (the client must then not send the body). A request that
 * waits for nothing is left alone.
 */
export function sendContinue(req: IncomingMessage): void {
  const held = req as unknown as Held
  const state = held[kContinue]
  if (state === undefined || state.sent) return
  state.sent = true
  delete (held as { _read?: unknown })._read // back to the prototype's
  if (!state.res.headersSent && !state.res.writableEnded) state.res.writeContinue()
}

/** Whether `req` still waits for a `100 Continue` that has not been sent. */
export function continuePending(req: IncomingMessage): boolean {
  const state = (req as unknown as Held)[kContinue]
  return state !== undefined && !state.sent
}

/** An `http`, `https` or `http2` server: anything that emits `checkContinue` and `request`. */
export type ContinueServer = EventEmitter & { listen(...args: never[]): unknown }

/**
 * Let routes decide about `Expect: 100-continue`: install a `checkContinue`
 * listener on `server` that forwards the request to the app (the server's
 * `request` listeners) with the `100 Continue` held back until the body is
 * first read. Without it Node sends 100 before any handler runs. Installing
 * twice is harmless. Returns `server`.
 *
 * @example
 * const server = installContinue(app.listen(3000))            // Express
 * const server = installContinue(http.createServer(app.callback())) // Koa
 */
export function installContinue<S extends ContinueServer>(server: S): S {
  const marked = server as S & { [kInstalled]?: true }
  if (marked[kInstalled] === true) return server
  Object.defineProperty(marked, kInstalled, { value: true })
  server.on('checkContinue', function checkContinue(req: IncomingMessage, res: ServerResponse) {
    deferContinue(req, res)
    server.emit('request', req, res)
  })
  return server
}
