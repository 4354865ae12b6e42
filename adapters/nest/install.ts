/**
 * `installStreamShim(app)`: stream-shim in a Nest application on Express, in
 * one line, before `app.listen()`.
 */
import type { INestApplication } from '@nestjs/common'
import type { NextFunction, Request, Response } from 'express'
import type { ShimOptions } from '../../lib/config.js'
import { getMarker, setMarker, type Marker } from '../../lib/markers.js'
import { streamShim } from '../express/stream-shim.js'
import { describedShim } from '../../lib/shim-options.js'
import { NEST_MARKER } from './decorators.js'
import { toHttpException } from './exceptions.js'

/** The options of `installStreamShim()`: those of `streamShim()`, with Nest's parser defaults. */
export type NestShimOptions = ShimOptions

/** What this module reads of reflect-metadata, which every Nest app loads. */
interface ReflectMetadata {
  getMetadata?(key: unknown, target: object): unknown
}

/** The parts of a Nest application read here; private in Nest's types, the same in Nest 10, 11 and 12. */
interface NestAppInternals {
  isInitialized?: boolean
  appOptions?: { bodyParser?: boolean }
}

interface RouterLike {
  stack: Array<{ handle?: unknown; route?: { stack: Array<{ handle?: unknown }> } | null }>
}

/**
 * Install stream-shim in a Nest application on `@nestjs/platform-express`
 * (Nest 10 on Express 4, Nest 11 and 12 on Express 5). Call it once, before
 * `app.init()` or `app.listen()`. It:
 *
 * - replaces Nest's own body parsers (as `bodyParser: false` would) with
 *   `streamShim(options)`, keeping Nest's defaults: JSON and `extended`
 *   urlencoded bodies are parsed, `text/plain` is not, and `req.rawBody` is
 *   set on every buffered route (no `rawBody: true` needed);
 * - makes methods marked `@Streaming()` or `@Buffered()` known to the shim's
 *   route lookup, so their bodies are streamed or buffered from the headers;
 * - turns body errors raised before a route runs (413, 400, 415…) into Nest's
 *   `HttpException`s, so exception filters see them with their status.
 *
 * @example
 * const app = await NestFactory.create(AppModule)
 * installStreamShim(app)
 * await app.listen(3000)
 */
export function installStreamShim(app: INestApplication, options: NestShimOptions = {}): void {
  const internals = app as unknown as NestAppInternals
  if (internals.isInitialized === true) {
    throw new TypeError('installStreamShim(app) must be called before app.init() or app.listen(): Nest registers its routes there')
  }
  const adapter = app.getHttpAdapter()
  if (adapter.getType() !== 'express') {
    throw new TypeError(`installStreamShim(app) needs @nestjs/platform-express, not ${adapter.getType()}`)
  }
  // Nest registers its body parsers in init() unless told not to.
  if (internals.appOptions !== null && typeof internals.appOptions === 'object') internals.appOptions.bodyParser = false
  else throw new TypeError('installStreamShim(app): create the app with NestFactory.create(AppModule, { bodyParser: false })')

  const markRoutes = routeMarking()
  const expressApp: unknown = adapter.getInstance()
  const nestOptions = withNestDefaults(options)
  const shim = streamShim(nestOptions)
  // describedShim: the route report (describeRoutes) finds the shim and its options through this wrapper.
  app.use(
    describedShim(nestOptions, function streamShimNest(req: Request, res: Response, next: NextFunction): void {
      markRoutes(req.app)
      shim(req, res, (err?: unknown) => next(err === undefined ? undefined : toNestError(err)))
    }),
  )
  // Nest registers the routes in init() (listen() calls it): mark them as soon
  // as it returns, so route reports made before the first request see them.
  // NestFactory wraps the app in a proxy that ignores assignments and looks
  // methods up at call time: define the wrapper on the app itself, around the
  // class's own init().
  const original = (Object.getPrototypeOf(app) as { init?: unknown }).init
  if (typeof original === 'function') {
    Object.defineProperty(app, 'init', {
      configurable: true,
      writable: true,
      value: async function init(this: unknown): Promise<unknown> {
        const result: unknown = await original.call(this)
        markRoutes(expressApp)
        return result
      },
    })
  }
}

/** Nest's parsers: JSON, urlencoded with `extended: true`, no text. The user's options win. */
function withNestDefaults(options: NestShimOptions): ShimOptions {
  const urlencoded = options.urlencoded === undefined ? { extended: true } : options.urlencoded
  return { ...options, urlencoded, text: options.text ?? false }
}

function toNestError(err: unknown): unknown {
  return err === 'route' || err === 'router' ? err : toHttpException(err)
}

/**
 * A function that, whenever the app's router has grown, puts the marker each
 * Nest route handler carries as metadata (copied there by Nest from the
 * controller method) on the handler itself, where the route lookup reads it.
 */
function routeMarking(): (expressApp: unknown) => void {
  let seen = -1
  return function markRoutes(expressApp) {
    const router = rootRouter(expressApp)
    if (router === undefined || router.stack.length === seen) return
    seen = router.stack.length
    markIn(router, new Set())
  }
}

function markIn(router: RouterLike, visited: Set<RouterLike>): void {
  if (visited.has(router)) return
  visited.add(router)
  for (const layer of router.stack) {
    if (layer.route != null) {
      for (const routeLayer of layer.route.stack) mark(routeLayer.handle)
    } else if (isRouter(layer.handle)) {
      markIn(layer.handle, visited)
    }
  }
}

function mark(handle: unknown): void {
  if (typeof handle !== 'function' || getMarker(handle) !== undefined) return
  const marker = (Reflect as ReflectMetadata).getMetadata?.(NEST_MARKER, handle) as Marker | undefined
  if (marker !== undefined && marker !== null) setMarker(handle, marker)
}

function isRouter(value: unknown): value is RouterLike {
  return typeof value === 'function' && Array.isArray((value as { stack?: unknown }).stack)
}

/** `app._router` on Express 4 (where reading `app.router` throws), `app.router` on Express 5. */
function rootRouter(app: unknown): RouterLike | undefined {
  const express4 = (app as { _router?: unknown })._router
  if (isRouter(express4)) return express4
  try {
    const router = (app as { router?: unknown }).router
    return isRouter(router) ? router : undefined
  } catch {
    return undefined
  }
}
