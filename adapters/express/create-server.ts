/**
 * HTTP and HTTPS servers for an Express app whose requests and responses are
 * born with the app's prototypes.
 *
 * Express gives every request the app's prototypes with
 * `Object.setPrototypeOf(req, app.request)` (and the same for `res`). In the
 * V8 of Node 20 and 22 that gives each request a hidden class of its own, so
 * every later property access on `req` and `res`, in Express, in the
 * middleware and in the app, misses V8's inline caches. Here node:http builds
 * the request and response with the app's `request` and `response` objects as
 * their prototypes from the start: Express's `setPrototypeOf` then changes
 * nothing, and all requests share their hidden classes.
 */
import http from 'node:http'
import https from 'node:https'
import type { UserTyped } from '../../lib/options.js'

/**
 * What the servers need of an Express app (4 or 5): the request listener
 * `express()` returns, with the objects it makes the prototypes of requests
 * (`app.request`) and responses (`app.response`).
 */
export interface ExpressApp {
  (req: UserTyped, res: UserTyped): unknown
  request: object
  response: object
}

/** Options of `http.createServer()`, except the classes `createServer()` provides. */
export type CreateServerOptions = Omit<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'>

/** Options of `https.createServer()` (TLS included), except the classes `createSecureServer()` provides. */
export type CreateSecureServerOptions = Omit<https.ServerOptions, 'IncomingMessage' | 'ServerResponse'>

/**
 * A node:http server for an Express 4 or 5 app, like `http.createServer(app)`
 * (what `app.listen()` does), whose requests and responses start life with
 * the app's prototypes, so that Express's per-request prototype swap is a
 * no-op. On Node 20 and 22 that saves most of Express's own cost per request.
 *
 * `app.request` and `app.response` are used as they are, not copied: methods
 * added to them, before or after the server is created, are seen by every
 * request. A request that enters a sub-app mounted with `app.use(path, sub)`
 * gets the sub-app's prototypes from Express, as always (there `req.app` is
 * the sub-app), and the app's own again when it leaves.
 *
 * `options` are those of `http.createServer()`, except `IncomingMessage` and
 * `ServerResponse`: passing either throws a `TypeError`.
 *
 * @example
 * import express from 'express'
 * import { createServer, streamShim } from 'stream-shim/express'
 *
 * const app = express()
 * app.use(streamShim())
 * app.get('/users/:id', (req, res) => res.json({ id: req.params.id }))
 * createServer(app).listen(3000)  // instead of app.listen(3000)
 */
export function createServer(app: ExpressApp, options: CreateServerOptions = {}): http.Server {
  return http.createServer({ ...checkOptions('createServer', options), ...bornWith('createServer', app) }, app)
}

/**
 * The HTTPS version of {@link createServer}: an `https.Server` for an Express
 * app whose requests and responses start life with the app's prototypes.
 * `options` are those of `https.createServer()` (`key`, `cert`, `ca`, …),
 * except `IncomingMessage` and `ServerResponse`.
 *
 * @example
 * import fs from 'node:fs'
 * import { createSecureServer } from 'stream-shim/express'
 *
 * createSecureServer(app, {
 *   key: fs.readFileSync('server.key'),
 *   cert: fs.readFileSync('server.crt'),
 * }).listen(443)
 */
export function createSecureServer(app: ExpressApp, options: CreateSecureServerOptions = {}): https.Server {
  return https.createServer({ ...checkOptions('createSecureServer', options), ...bornWith('createSecureServer', app) }, app)
}

function checkOptions<T extends object>(name: string, options: T): T {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${name}: options must be an object, got ${options === null ? 'null' : typeof options}`)
  }
  for (const key of ['IncomingMessage', 'ServerResponse'] as const) {
    if ((options as http.ServerOptions)[key] !== undefined) {
      throw new TypeError(`${name}: option ${key} is not accepted: the server builds requests and responses with the app's prototypes itself`)
    }
  }
  return options
}

/** The `IncomingMessage` and `ServerResponse` options that build requests and responses with `app`'s prototypes. */
function bornWith(name: string, app: ExpressApp): Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  if (typeof app !== 'function' || !(app.request instanceof http.IncomingMessage) || !(app.response instanceof http.ServerResponse)) {
    throw new TypeError(
      `${name}: app must be an Express application (the function express() returns), whose app.request and app.response inherit from http.IncomingMessage and http.ServerResponse`,
    )
  }
  if (!callable) return {} // Express swaps the prototypes itself, as with http.createServer(app)
  return { IncomingMessage: requestClass(app.request), ServerResponse: responseClass(app.response) }
}

// node:http builds each request with `new options.IncomingMessage(socket)` and
// each response with `new options.ServerResponse(req, options)`. The
// constructors given here are plain functions that run node:http's own on the
// new object, as Node's own subclasses do, and whose `prototype` is the app's
// object itself. Not classes: a class's `prototype` cannot be an existing
// object, so the app's `request` would have to be replaced, and sub-apps
// mounted earlier would stop inheriting what is added to it afterwards. Not
// `Reflect.construct(Base, args, new.target)` either: in Node 20's V8 every
// object built that way gets a hidden class of its own, the very cost this
// module removes.

/** Whether node:http's constructors are plain functions (Node 20 to 24), which can run on an object made elsewhere. */
const callable = [http.IncomingMessage, http.ServerResponse].every((base) => !/^class\b/.test(Function.prototype.toString.call(base)))

function requestClass(proto: object): typeof http.IncomingMessage {
  const IncomingMessage = http.IncomingMessage as unknown as CallableBase
  function ExpressRequest(this: object, socket: unknown): void {
    IncomingMessage.call(this, socket)
  }
  return subclass(ExpressRequest, http.IncomingMessage, proto)
}

function responseClass(proto: object): typeof http.ServerResponse {
  const ServerResponse = http.ServerResponse as unknown as CallableBase
  function ExpressResponse(this: object, req: unknown, options: unknown): void {
    ServerResponse.call(this, req, options)
  }
  return subclass(ExpressResponse, http.ServerResponse, proto)
}

/** node:http's constructors seen as the plain functions they are (Node 20 to 24). */
type CallableBase = (this: object, ...args: unknown[]) => void

function subclass<T extends object>(ctor: CallableBase, Base: T, proto: object): T {
  ctor.prototype = proto
  Object.setPrototypeOf(ctor, Base) // static members, and the constructor reads as a subclass of Base
  return ctor as unknown as T
}
