/**
 * CONNECT for Express: `installConnect()` runs CONNECT requests through the
 * app, and `tunnel()` is the route handler that opens the tunnel (lib/connect.ts).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkTunnelTarget, installConnectWith, openTunnel, type ConnectServer, type TunnelTarget } from '../../lib/connect.js'

/** An Express app as a request listener that takes a last-resort callback. */
type ConnectApp = (req: IncomingMessage, res: ServerResponse, done: (err?: unknown) => void) => void

/**
 * Run CONNECT requests through `app` on `server`: its middleware and its
 * `app.connect()` routes see them (`req.url` is `/`, the target is in
 * `connectTarget(req)`), so authentication and allow-lists are ordinary
 * middleware. No route taking it: 405, and the connection is closed; an
 * error: its status. Returns `server`.
 *
 * @example
 * app.connect('*', requireProxyAuth, tunnel())   // Express 5: app.connect('/', …)
 * const server = installConnect(app.listen(3128), app)
 */
export function installConnect<S extends ConnectServer>(server: S, app: ConnectApp): S {
  if (typeof app !== 'function') throw new TypeError('installConnect() needs the server and the Express app')
  return installConnectWith(server, (req, res, done) => app(req, res, done))
}

/**
 * The route handler that answers a CONNECT with `200 Connection
 * Established` and pipes the client's socket to the target, both ways
 * with backpressure, closing both when either ends or fails. The target is
 * the request's own unless given: `'host:port'`, `{ host, port }`, or a
 * function of the request (and its own target). A target that cannot be
 * reached is a 502 (`proxy.upstream.failed`) passed to `next`.
 *
 * @example
 * app.connect('*', tunnel())                                   // where the client asks
 * app.connect('*', tunnel((req, { port }) => `127.0.0.1:${port}`))
 */
export function tunnel(target?: TunnelTarget<Request>): RequestHandler {
  const checked = checkTunnelTarget(target)
  return function tunnelHandler(req: Request, _res: Response, next: NextFunction): void {
    openTunnel(req, req, checked).catch(next)
  }
}
