/**
 * The migration report for a Koa app: every route of the @koa/router (or
 * koa-router) routers mounted on the app with `app.use(router.routes())`,
 * with its body mode and effective options, and the body record that
 * `recordBodies(app)` keeps while the app runs in development.
 */
import type { IncomingMessage } from 'node:http'
import type { Context } from 'koa'
import { BodyRecordTable, addRouteKeyer, recordingAllowed, type RecordTarget } from '../../lib/body-record.js'
import type { StreamingOptions } from '../../lib/config.js'
import { createShim, type Shim } from '../../lib/dispatch.js'
import { getMarker, type Marker } from '../../lib/markers.js'
import { attachBodies, bufferedOptions, streamingOptions, type RouteReport } from '../../lib/route-report.js'
import { shimOptionsOf } from '../../lib/shim-options.js'
import { bufferedConfig } from './markers.js'
import { isRouter, resolveRoute } from './route-lookup.js'
import type { KoaBufferedOptions, KoaShimOptions } from './types.js'

// Structural views of what the report reads.
interface LayerLike {
  stack: unknown[]
  methods: string[]
  path: unknown
  match(path: string): boolean
}
interface RouterLike {
  stack: LayerLike[]
  host?: unknown
}
interface AppLike {
  middleware: unknown[]
  proxy?: boolean
}

function isKoaApp(value: unknown): value is AppLike {
  return typeof value === 'object' && value !== null && Array.isArray((value as AppLike).middleware) && typeof (value as { callback?: unknown }).callback === 'function'
}

/** The shim in front of a router: its options, normalized for streaming and buffered routes. */
interface ShimInFront {
  readonly streaming: Shim
  readonly options: KoaShimOptions
}

/**
 * Every route of the routers mounted on a Koa app (`app.use(router.routes())`,
 * nested routers included), as `streamShim()` sees it: method, path, mode
 * (`streaming` or `buffered`) and the effective options (limit, types,
 * timeout). With `recordBodies(app)` on, each row also carries what arrived
 * there, and requests no router took appear as `unknown` rows (no route).
 * Middleware the lookup cannot see into (koa-mount, a hand-written
 * dispatcher) is not listed.
 *
 * @example
 * import { describeRoutes, formatRoutes } from 'stream-shim/koa'
 * console.log(formatRoutes(describeRoutes(app)))
 * router.get('/_routes', (ctx) => { ctx.body = describeRoutes(app) })
 */
export function describeRoutes(app: unknown): RouteReport[] {
  if (!isKoaApp(app)) throw new TypeError('describeRoutes() needs a Koa app')
  const rows: RouteReport[] = []
  let shim: ShimInFront | undefined
  for (const fn of app.middleware) {
    const options = shimOptionsOf(fn)
    if (options !== undefined) {
      if (shim === undefined) shim = { streaming: createShim({ streaming: (options as KoaShimOptions).streaming }), options: options as KoaShimOptions }
      continue
    }
    const router = typeof fn === 'function' ? (fn as { router?: unknown }).router : undefined
    if (!isRouter(router)) continue
    const dispatchMarker = getMarker(fn) ?? getMarker(router)
    for (const layer of (router as unknown as RouterLike).stack) {
      if (layer.methods.length === 0 || typeof layer.path !== 'string') continue
      const marker = routeMarker(router as unknown as RouterLike, layer, dispatchMarker)
      for (const method of layer.methods) {
        if (method === 'HEAD' && layer.methods.includes('GET')) continue
        rows.push(row(method, layer.path, marker, shim))
      }
    }
  }
  const table = tables.get(app)
  if (table === undefined) return rows
  return attachBodies(rows, table.keys(), (key) => table.get(key), () => 'no route: no router on the app takes this method and path')
}

/**
 * The innermost marker on the chain the router composes for `route`: the
 * router's, then each `router.use()` middleware in front whose path takes
 * the route's, then the route's own (as `resolveRoute()` reads them).
 */
function routeMarker(router: RouterLike, route: LayerLike, inherited: Marker | undefined): Marker | undefined {
  let marker = inherited
  for (const layer of router.stack) {
    if (layer !== route && (layer.methods.length > 0 || !matches(layer, route.path as string))) continue
    marker = getMarker(layer) ?? marker
    for (const handler of layer.stack) marker = getMarker(handler) ?? marker
  }
  return marker
}

function matches(layer: LayerLike, path: string): boolean {
  try {
    return layer.match(path)
  } catch {
    return false
  }
}

function row(method: string, path: string, marker: Marker | undefined, shim: ShimInFront | undefined): RouteReport {
  if (marker?.mode === 'streaming') {
    const config = (shim?.streaming ?? defaultShim()).streamingFor(marker)
    const types = (marker.options as StreamingOptions).types ?? shim?.options.streaming?.types
    const report: RouteReport = { method, path, mode: 'streaming', options: streamingOptions(config, types) }
    if (shim === undefined) report.reason = 'no streamShim() in front: the streaming() wrapper sets the stream up itself'
    return report
  }
  if (shim === undefined && marker === undefined) {
    return { method, path, mode: 'buffered', reason: 'no streamShim() in front: stream-shim does not read this body' }
  }
  const { streaming: _streaming, ...base } = shim?.options ?? {}
  const config = bufferedConfig(base, (marker?.options ?? {}) as KoaBufferedOptions)
  if (!config.parsers.methods.has(method)) {
    return { method, path, mode: 'buffered', reason: `${method} is not in parsedMethods: the body is left unread` }
  }
  const report: RouteReport = { method, path, mode: 'buffered', options: bufferedOptions(config.parsers.list) }
  if (shim === undefined) report.reason = 'no streamShim() in front: the buffered() wrapper reads the body itself'
  return report
}

let fallbackShim: Shim | undefined
function defaultShim(): Shim {
  return (fallbackShim ??= createShim())
}

// The body record.

const tables = new WeakMap<AppLike, BodyRecordTable>()
/** The recorded app each request entered (a Node request does not say which Koa app serves it). */
const appOf = new WeakMap<IncomingMessage, AppLike>()

function pathnameOf(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]
  return path.startsWith('/') ? path : new URL(path, 'http://x').pathname
}

/** The route key for a Koa request, with a context holding what `resolveRoute()` reads. */
function koaKeyer(req: IncomingMessage): RecordTarget | undefined {
  const app = appOf.get(req)
  if (app === undefined) return undefined
  const forwarded = app.proxy === true ? String(req.headers['x-forwarded-host'] ?? '').split(',')[0].trim() : ''
  const host = forwarded || req.headers.host || String(req.headers[':authority'] ?? '')
  const ctx = { app, method: req.method, path: pathnameOf(req.url), host } as unknown as Context
  const decision = resolveRoute(ctx)
  return { table: tables.get(app)!, key: decision === undefined ? `${req.method} (no route)` : `${req.method} ${decision.path}` }
}

/**
 * Keep, while the app runs, a record per route of the buffered bodies that
 * arrived: count, largest and 95th-percentile size, time spent buffering,
 * 413s. `describeRoutes(app)` then reports it with each route. For
 * development: in production (`NODE_ENV=production`) nothing is recorded and
 * this returns false. Memory stays bounded (at most 1000 routes, 512 samples
 * each for the percentiles). Call it before `app.listen()` (or
 * `app.callback()`): it puts a middleware first in the app's chain to note
 * which app a request entered.
 *
 * @example
 * if (recordBodies(app)) router.get('/_routes', (ctx) => { ctx.body = formatRoutes(describeRoutes(app)) })
 */
export function recordBodies(app: unknown): boolean {
  if (!isKoaApp(app)) throw new TypeError('recordBodies() needs a Koa app')
  if (!recordingAllowed()) return false
  if (!tables.has(app)) {
    tables.set(app, new BodyRecordTable())
    // First in the chain Koa composes (on app.callback(), so before listen()): note which app a request entered.
    app.middleware.unshift(function recordBodiesEntry(ctx: Context, next: () => Promise<unknown>) {
      appOf.set(ctx.req, app)
      return next()
    })
  }
  addRouteKeyer(koaKeyer)
  return true
}
