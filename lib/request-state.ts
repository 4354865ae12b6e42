/**
 * What stream-shim records on a request, and what it reads off one.
 *
 * State lives under `Symbol.for` keys so that two loaded copies of the package
 * (an app and a library each depending on stream-shim) agree about a request.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { hasBody } from './options.js'
import { realComplete } from './step-aside.js'

/** How a request's body is handled. */
export type BodyMode = 'streaming' | 'buffered'

/**
 * The shim's state per request: its mode once decided, or, once stream-shim
 * has buffered and parsed the body, the decoded bytes (`req.rawBody`). Kept
 * beside the request, not on it: a property added to every request cost
 * Express apps on Node 20 and 22 tens of µs per request (their request
 * objects slow down after the shape change), and a WeakMap costs a hash
 * lookup. One map per process, under a `Symbol.for` key, so that two loaded
 * copies of the package (an app and a library each depending on stream-shim)
 * agree about a request; the key names the layout of the values.
 */
type State = BodyMode | Buffer

const states: WeakMap<object, State> = ((globalThis as { [key: symbol]: unknown })[
  Symbol.for('stream-shim.request-states.v2')
] ??= new WeakMap()) as WeakMap<object, State>

interface ShimState {
  _body?: boolean
  rawBody?: Buffer
}

/** The mode the shim chose for `req`, if it has run. */
export function modeOf(req: object): BodyMode | undefined {
  const state = states.get(req)
  return typeof state === 'object' ? 'buffered' : state
}

export function setMode(req: object, mode: BodyMode): void {
  if (typeof states.get(req) !== 'object') states.set(req, mode)
}

/** True when stream-shim already buffered and parsed this request's body. */
export function isParsed(req: object): boolean {
  return typeof states.get(req) === 'object'
}

/**
 * Mark the body as parsed, with `rawBody` its decoded bytes, and give the
 * request `rawBody` and `_body` (the flag body-parser 1.x, bundled with
 * Express 4, checks before reading, so that a stray `express.json()` after
 * the shim skips instead of failing on a body it cannot read).
 *
 * On an Express request the two are accessors of Express's request
 * prototype that read this state (see `sharesFields`), not properties of
 * the request's own: in Node 20 and 22 every request Express serves has a
 * hidden class of its own, and each property added to one copies its
 * descriptors (about 25,000 instructions per property per request on Node
 * 22, 3% of the whole request). A value assigned to either by anyone
 * becomes the request's own and is kept up to date here.
 */
export function markParsed(req: object, rawBody: Buffer): void {
  states.set(req, rawBody)
  const target = req as ShimState
  if (sharesFields(req)) {
    if (Object.hasOwn(req, 'rawBody')) target.rawBody = rawBody
    if (Object.hasOwn(req, '_body')) target._body = true
  } else {
    target.rawBody = rawBody
    target._body = true
  }
}

/**
 * `rawBody` and `_body` as the request prototype's accessors: they read the
 * state of the request they are read on, and an assignment makes an own
 * property of the request (as it did before the accessor was there). One
 * pair per process, recognised by every loaded copy of the package.
 */
const fields: PropertyDescriptorMap = ((globalThis as { [key: symbol]: unknown })[
  Symbol.for('stream-shim.request-fields.v2')
] ??= {
  rawBody: {
    configurable: true,
    enumerable: false,
    get(this: object): Buffer | undefined {
      const state = states.get(this)
      return typeof state === 'object' ? state : undefined
    },
    set(this: object, value: unknown) {
      ownValue(this, 'rawBody', value)
    },
  },
  _body: {
    configurable: true,
    enumerable: false,
    get(this: object): true | undefined {
      return typeof states.get(this) === 'object' ? true : undefined
    },
    set(this: object, value: unknown) {
      ownValue(this, '_body', value)
    },
  },
}) as PropertyDescriptorMap

function ownValue(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { configurable: true, enumerable: true, writable: true, value })
}

/** Per request prototype: whether `rawBody` and `_body` read the state through the accessors. */
const hosts = new WeakMap<object, boolean>()

/**
 * Whether `req` reads `rawBody` and `_body` through the accessors. They are
 * put, the first time a request with a new prototype is parsed, on the
 * object its prototype chain holds right above `http.IncomingMessage.prototype`:
 * for Express (4 and 5, on its own or under Nest), its request object, which
 * every app's and sub-app's `app.request` inherits from. Node's own prototype
 * is never touched, so a request without a framework's prototype (Koa's,
 * node:http's, HTTP/2's) gets own properties, as does one whose chain
 * already defines either name.
 */
function sharesFields(req: object): boolean {
  const proto = Object.getPrototypeOf(req) as object | null
  if (proto === null) return false
  let shared = hosts.get(proto)
  if (shared === undefined) {
    shared = installFields(proto)
    hosts.set(proto, shared)
  }
  return shared
}

function installFields(proto: object): boolean {
  const core = http.IncomingMessage.prototype
  let host: object | undefined
  for (let at: object | null = proto; at !== core; at = Object.getPrototypeOf(at) as object | null) {
    if (at === null) return false // not a node:http request
    for (const key of ['rawBody', '_body']) {
      const own = Object.getOwnPropertyDescriptor(at, key)
      if (own !== undefined && own.get !== fields[key].get) return false // somebody else's
    }
    host = at
  }
  if (host === undefined) return false
  try {
    // Again when another loaded copy of the package put them there: the same descriptors.
    Object.defineProperties(host, fields)
  } catch {
    return false // a frozen prototype
  }
  return true
}

/**
 * Who already consumed the body of `req`, in words for an error message, or
 * undefined when the body is still there to read.
 */
export function consumedBy(req: IncomingMessage): string | undefined {
  // _body is ours on a streaming request (set so body-parser 1.x skips it).
  const state = states.get(req)
  if ((req as ShimState)._body === true && typeof state !== 'object' && state !== 'streaming') {
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
