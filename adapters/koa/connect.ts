/**
 * CONNECT for Koa: `installConnect()` runs CONNECT requests through the
 * app, and `tunnel()` is the middleware that opens the tunnel (lib/connect.ts).
 */
import type Koa from 'koa'
import type { Context, Next } from 'koa'
import { checkTunnelTarget, installConnectWith, openTunnel, type ConnectServer, type TunnelTarget } from '../../lib/connect.js'
import type { KoaMiddleware } from './types.js'

/** What installConnect() uses of a Koa app: the same entry points `app.callback()` does. */
interface KoaAppLike {
  middleware: ((ctx: Context, next: Next) => unknown)[]
  createContext: Koa['createContext']
}

/** `handleRequest` is what `app.callback()` calls; undeclared in @types/koa. */
type HandleRequest = (ctx: Context, fn: (ctx: Context) => Promise<unknown>) => Promise<unknown>

/**
 * Run CONNECT requests through the Koa `app` on `server`: its middleware
 * sees them (`ctx.method` 'CONNECT', `ctx.path` '/', the target in
 * `connectTarget(ctx.req)`), so authentication and allow-lists are ordinary
 * middleware. A request that passes every middleware untaken gets 405, and
 * the connection is closed. Returns `server`.
 *
 * @example
 * app.use(async (ctx, next) => (ctx.method === 'CONNECT' ? tunnel()(ctx, next) : next()))
 * const server = installConnect(http.createServer(app.callback()).listen(3128), app)
 */
export function installConnect<S extends ConnectServer>(server: S, app: Koa): S {
  const koa = app as unknown as KoaAppLike & { handleRequest?: HandleRequest }
  if (typeof koa.createContext !== 'function' || typeof koa.handleRequest !== 'function') {
    throw new TypeError('installConnect() needs the server and the Koa app')
  }
  return installConnectWith(server, (req, res, done) => {
    const ctx = koa.createContext(req, res)
    const untaken: KoaMiddleware = () => {
      done() // nothing took the CONNECT: 405
      ctx.respond = false
    }
    // The app's middleware as it is now, then the 405 for a request nobody took.
    void koa.handleRequest!(ctx, compose([...koa.middleware, untaken]))
  })
}

/** Run `middleware` in order, each with a `next` that runs the rest (koa-compose's contract). */
function compose(middleware: readonly ((ctx: Context, next: Next) => unknown)[]): (ctx: Context) => Promise<unknown> {
  return function composed(ctx) {
    let last = -1
    const run = (i: number): Promise<unknown> => {
      if (i <= last) return Promise.reject(new Error('next() called multiple times'))
      last = i
      const fn = middleware[i]
      if (fn === undefined) return Promise.resolve()
      try {
        return Promise.resolve(fn(ctx, () => run(i + 1) as Promise<void>))
      } catch (err) {
        return Promise.reject(err as Error)
      }
    }
    return run(0)
  }
}

/**
 * The middleware that answers a CONNECT with `200 Connection Established`
 * and pipes the client's socket to the target, both ways with
 * backpressure, closing both when either ends or fails
 * (`ctx.respond = false`). The target is the request's own unless given:
 * `'host:port'`, `{ host, port }`, or a function of the context (and its
 * own target). A target that cannot be reached throws a 502
 * (`proxy.upstream.failed`).
 *
 * @example
 * router.connect('/', proxyAuth, tunnel())
 * app.use((ctx, next) => (ctx.method === 'CONNECT' ? tunnel('127.0.0.1:8443')(ctx, next) : next()))
 */
export function tunnel(target?: TunnelTarget<Context>): KoaMiddleware {
  const checked = checkTunnelTarget(target)
  return async function tunnelMiddleware(ctx: Context): Promise<void> {
    await openTunnel(ctx.req, ctx, checked)
    ctx.respond = false
  }
}
