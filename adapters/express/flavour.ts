/**
 * body-parser 1.x semantics for Express 4 apps: which body-parser major a
 * request gets (the `bodyParser` option, else detected from `req.app`), and
 * the `req.body` default that goes with it.
 */
import type { IncomingMessage } from 'node:http'
import { createParsers, type BufferedOptions, type ShimOptions } from '../../lib/config.js'
import { createShim, type Shim } from '../../lib/dispatch.js'
import { parseBodyParserMajor, type BodyParserMajor, type Parser } from '../../lib/parsers.js'
import { isParsed } from '../../lib/request-state.js'

/**
 * Whether `app` is an Express 4 application. Express 4 apps have
 * `app.lazyrouter()` (it creates `app._router`); Express 5 removed both and
 * keeps its router in `app.router`. `lazyrouter` is checked rather than
 * `_router` because some Express 5 apps alias `app._router = app.router` for
 * old libraries.
 */
export function isExpress4App(app: unknown): boolean {
  return typeof app === 'function' && typeof (app as { lazyrouter?: unknown }).lazyrouter === 'function'
}

/** The body-parser major a request gets when no `bodyParser` option says: 1 inside an Express 4 app, else 2. */
export function detectBodyParser(req: IncomingMessage): BodyParserMajor {
  return isExpress4App((req as { app?: unknown }).app) ? 1 : 2
}

/**
 * Give `req.body` the value body-parser's parsers give it before reading.
 * body-parser 1.x sets `req.body = req.body || {}` unless an earlier parser
 * flagged the request (`req._body`); body-parser 2.x leaves it `undefined`.
 */
export function initBody(req: IncomingMessage, major: BodyParserMajor): void {
  const target = req as { body?: unknown; _body?: unknown }
  if (major === 1) {
    if (target._body !== true) target.body = target.body || {}
  } else if (!('body' in target)) {
    target.body = undefined
  }
}

/**
 * Whether body-parser 1.x would skip `req` as parsed already: it looks at
 * `req._body` only (stream-shim sets it too), so a body some other code
 * consumed is read anyway and fails with 500 `stream.not.readable`.
 */
export function parsedForBodyParser1(req: IncomingMessage): boolean {
  return isParsed(req) || (req as { _body?: unknown })._body === true
}

/** A value built for one body-parser major. */
export interface ForMajor<T> {
  readonly major: BodyParserMajor
  readonly value: T
}

/**
 * Build `build(major)` for the major named by `option`, or, when it names
 * none, for both, and return the function picking the one a request gets.
 * A named major (or major 2, when detecting) is built at once, so bad
 * options throw when the middleware is created. When detecting, major 1 is
 * built at once too, but an error building it (an option body-parser 1.x
 * refuses and 2.x accepts, such as a bad `depth` without `extended`) is
 * thrown for each request of an Express 4 app instead: Express passes it on
 * as a 500.
 */
export function byBodyParser<T>(option: unknown, build: (major: BodyParserMajor) => T): (req: IncomingMessage) => ForMajor<T> {
  const chosen = parseBodyParserMajor(option)
  if (chosen !== undefined) {
    const only = Object.freeze({ major: chosen, value: build(chosen) })
    return () => only
  }
  const two = Object.freeze({ major: 2 as const, value: build(2) })
  let one: ForMajor<T> | undefined
  let failure: unknown
  try {
    one = Object.freeze({ major: 1 as const, value: build(1) })
  } catch (err) {
    failure = err
  }
  return function forRequest(req) {
    if (detectBodyParser(req) === 2) return two
    if (one === undefined) throw failure
    return one
  }
}

/**
 * A drop-in parser for each major: `create(options)` with the `bodyParser`
 * the options name, or for both when they name none. Options that are not an
 * object are passed as they are, for `create` to refuse.
 */
export function parserByBodyParser<O extends { bodyParser?: BodyParserMajor }, P>(
  options: O | undefined,
  create: (options?: O) => P,
): (req: IncomingMessage) => ForMajor<P> {
  const isObject = typeof options === 'object' && options !== null
  if (options !== undefined && !isObject) create(options) // throws its TypeError
  return byBodyParser(isObject ? options.bodyParser : undefined, (bodyParser) => create({ ...options, bodyParser } as O))
}

/** `streamShim()`'s configured core for the major a request gets. */
export interface FlavouredShim {
  readonly shim: Shim
  /**
   * Give `req.body` the default of this major where the shim itself parses
   * (or has nothing to parse): `{}` under body-parser 1.x, untouched under 2.x.
   */
  defaultBody(req: IncomingMessage): void
}

/**
 * `streamShim()`'s configured core for each major, and the function picking
 * the one a request gets.
 */
export function shimByBodyParser(options: ShimOptions | undefined): (req: IncomingMessage) => FlavouredShim {
  if (options !== undefined && (typeof options !== 'object' || options === null)) createShim(options) // throws its TypeError
  const shims = byBodyParser(options?.bodyParser, (bodyParser): FlavouredShim => {
    const shim = createShim({ ...options, bodyParser })
    const defaultBody = bodyParser === 1 ? (req: IncomingMessage) => initBody(req, 1) : () => {}
    return Object.freeze({ shim, defaultBody })
  })
  return function shimFor(req) {
    return shims(req).value
  }
}

/** What a `buffered()` route wrapper needs to apply its `bodyParser` option. */
export interface RouteFlavour {
  /** The route's own parsers for `req`, with `req.body` given its default: when `streamShim()` did not dispatch `req`. */
  parsers(req: IncomingMessage): readonly Parser[]
  /** When `streamShim()` dispatched `req`: give `req.body` the `{}` default if the route itself asks for `bodyParser: 1`. */
  ownDefault(req: IncomingMessage): void
}

/** The `bodyParser` option of a `buffered(options, handler)` route. */
export function routeFlavour(options: BufferedOptions): RouteFlavour {
  const own = parseBodyParserMajor(options.bodyParser)
  const parsers = byBodyParser(own, (bodyParser) => createParsers({ ...options, bodyParser }))
  return {
    parsers(req) {
      const found = parsers(req)
      initBody(req, found.major)
      return found.value
    },
    ownDefault(req) {
      if (own === 1) initBody(req, 1)
    },
  }
}
