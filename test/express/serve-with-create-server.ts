/**
 * Jest setup file: every Express app handed to `http.createServer()` (by a
 * test, by supertest, by `app.listen()`) is served by stream-shim's
 * `createServer(app)` instead, so that the Express suites can be run again
 * through it:
 *
 *   npm run test:create-server
 *
 * Anything else (Koa's callback, plain listeners) gets node:http's own server.
 */
import http from 'node:http'
import { createServer } from '../../adapters/express/index.js'

const original = http.createServer

function isExpressApp(value: unknown): value is Parameters<typeof createServer>[0] {
  const app = value as { request?: unknown; response?: unknown; handle?: unknown }
  return typeof value === 'function' && typeof app.handle === 'function' && app.request instanceof http.IncomingMessage && app.response instanceof http.ServerResponse
}

function createServerThroughHelper(this: unknown, ...args: unknown[]): http.Server {
  const [options, listener] = typeof args[0] === 'function' ? [{}, args[0]] : [args[0] ?? {}, args[1]]
  const own = options as http.ServerOptions
  if (isExpressApp(listener) && own.IncomingMessage === undefined && own.ServerResponse === undefined) {
    return createServer(listener, own)
  }
  return (original as (...a: unknown[]) => http.Server).apply(this, args)
}

;(http as { createServer: unknown }).createServer = createServerThroughHelper
