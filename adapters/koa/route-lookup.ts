/**
 * Route lookup: tell, from method, path and host alone and before any of the
 * body is read, which @koa/router (or koa-router) route a Koa app will run
 * for a request and which marker applies to it. Reads the routers mounted on
 * the app (`app.use(router.routes())`) with their own pure `matchHost()` and
 * `match()`, and changes nothing.
 */
import type { Context } from 'koa'
import { getMarker, markerCount, type Marker } from '../../lib/markers.js'
import { modeOf } from '../../lib/request-state.js'
import { CLIENT_CLOSED, handOverUnread, type BufferedConfig } from './context-body.js'
import { bufferedConfig } from './markers.js'

/** What the lookup found for a request. */
export interface RouteDecision {
  /** The innermost marker that applies to the matched route. */
  readonly marker: Marker | undefined
  /** The matched route's path pattern, for messages (`'/api/files/:name'`). */
  readonly path: string
}

// Structural views of the parts of @koa/router that the lookup reads.

interface LayerLike {
  stack: unknown[] & { [kGuarded]?: true }
  methods: string[]
  path: unknown
  paramNames?: unknown[]
}

interface MatchResult {
  pathAndMethod: LayerLike[]
  route: boolean
}

interface RouterLike {
  stack: LayerLike[]
  opts?: { routerPath?: string; exclusive?: unknown }
  exclusive?: boolean
  match(path: string, method: string): MatchResult
  matchHost?(host: string): boolean
}

export function isRouter(value: unknown): value is RouterLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as RouterLike).stack) &&
    typeof (value as RouterLike).match === 'function'
  )
}

/**
 * The route the app's routers will run for this request, and its marker, or
 * `undefined` when no router on the app takes it (then: buffered).
 *
 * The first router (in `app.use()` order) whose host and routes match
 * decides. Within it, the marker is the innermost one along the middleware
 * chain the router composes for the request: a marker on a handler beats one
 * on a `router.use()` middleware before it, which beats one on the router.
 * Unmarked middleware is assumed to call `next()`.
 *
 * @example
 * app.use(async function logRoute(ctx, next) {
 *   console.log(resolveRoute(ctx)?.marker?.mode ?? 'buffered')
 *   await next()
 * })
 */
export function resolveRoute(ctx: Context): RouteDecision | undefined {
  const middleware = (ctx.app as { middleware?: unknown }).middleware
  if (!Array.isArray(middleware)) return undefined
  for (const fn of middleware) {
    const router = typeof fn === 'function' ? (fn as { router?: unknown }).router : undefined
    if (!isRouter(router)) continue
    const decision = resolveIn(router, fn, ctx)
    if (decision !== undefined) return decision
  }
  return undefined
}

/**
 * The shim's question: `resolveRoute(ctx)` when a marker may apply, else
 * undefined at once (no router on the app carries one: every route is
 * buffered with the shim's options).
 */
export function markedRoute(ctx: Context): RouteDecision | undefined {
  const middleware = (ctx.app as { middleware?: unknown }).middleware
  if (!Array.isArray(middleware) || !markedRouters(ctx.app, middleware)) return undefined
  return resolveRoute(ctx)
}

function resolveIn(router: RouterLike, dispatch: object, ctx: Context): RouteDecision | undefined {
  guardRoutes(router, dispatch)
  try {
    if (typeof router.matchHost === 'function' && !router.matchHost(ctx.host)) return undefined
    const result = router.match(requestPath(router, ctx), ctx.method)
    if (!result.route) return undefined
    let marker = getMarker(dispatch) ?? getMarker(router)
    let path = ''
    for (const layer of chosenLayers(router, result.pathAndMethod)) {
      marker = layerMarker(layer, marker)
      if (layer.methods.length > 0 && typeof layer.path === 'string') path = layer.path
    }
    return Object.freeze({ marker, path })
  } catch {
    return undefined // a router we do not understand: buffered
  }
}

/** The path the router matches, as its dispatch middleware picks it. */
function requestPath(router: RouterLike, ctx: Context): string {
  const fields = ctx as unknown as { newRouterPath?: string; routerPath?: string }
  return router.opts?.routerPath || fields.newRouterPath || ctx.path || fields.routerPath || ''
}

/** The layers the router runs: all that match, or one for an `exclusive` router. */
function chosenLayers(router: RouterLike, matched: LayerLike[]): LayerLike[] {
  if (router.exclusive !== true) return matched
  if (router.opts?.exclusive === 'specificity') {
    let chosen: LayerLike | undefined
    for (const layer of matched) {
      if (chosen === undefined || (layer.paramNames?.length ?? 0) < (chosen.paramNames?.length ?? 0)) chosen = layer
    }
    return chosen === undefined ? [] : [chosen]
  }
  return matched.length === 0 ? [] : [matched[matched.length - 1]]
}

const kGuarded = Symbol('stream-shim.route-guard')
const guardedRouters = new WeakMap<RouterLike, number>()
let defaultConfig: BufferedConfig | undefined

/**
 * Put a guard in front of each route of `router` (once per route; again only
 * for routes added since): when the route that actually runs is not the
 * streaming one the shim predicted (middleware behind the shim rewrote the
 * path or the method), a buffered route still gets `ctx.request.body`.
 */
function guardRoutes(router: RouterLike, dispatch: object): void {
  if (guardedRouters.get(router) === router.stack.length) return
  guardedRouters.set(router, router.stack.length)
  for (const layer of router.stack) {
    if (layer.methods.length === 0 || layer.stack[kGuarded] === true) continue
    const guard = function routeGuard(ctx: Context, next: () => Promise<unknown>): unknown {
      if (ctx.request.bodyStream === undefined || modeOf(ctx.req) !== 'streaming' || streamsHere(layer, router, dispatch)) return next()
      return handOverUnread(ctx, () => (defaultConfig ??= bufferedConfig({}))).then((outcome) => (outcome === CLIENT_CLOSED ? undefined : next()))
    }
    layer.stack.unshift(guard)
    Object.defineProperty(layer.stack, kGuarded, { value: true })
  }
}

/** The innermost marker on a layer: a handler's, else the layer's own, else `inherited` (the router's). */
function layerMarker(layer: LayerLike, inherited: Marker | undefined): Marker | undefined {
  let marker = getMarker(layer) ?? inherited
  for (const handler of layer.stack) marker = getMarker(handler) ?? marker
  return marker
}

/** Whether a streaming marker applies to this route: its handlers', its own, or its router's. */
function streamsHere(layer: LayerLike, router: RouterLike, dispatch: object): boolean {
  return layerMarker(layer, getMarker(dispatch) ?? getMarker(router))?.mode === 'streaming'
}

/**
 * Whether any router mounted on the app carries a marker (on the router, its
 * dispatch middleware, a layer or a handler). Kept per app while the app's
 * middleware list and its routers' stacks keep their lengths and no marker
 * has been set since.
 */
interface MarkSummary {
  markers: number
  middleware: number
  routers: RouterLike[]
  lengths: number[]
  marked: boolean
}

const summaries = new WeakMap<object, MarkSummary>()

function markedRouters(app: object, middleware: unknown[]): boolean {
  const summary = summaries.get(app)
  if (summary !== undefined && summaryHolds(summary, middleware)) return summary.marked
  const fresh = summarize(middleware)
  summaries.set(app, fresh)
  return fresh.marked
}

function summaryHolds(summary: MarkSummary, middleware: unknown[]): boolean {
  if (summary.markers !== markerCount() || summary.middleware !== middleware.length) return false
  for (let i = 0; i < summary.routers.length; i++) if (summary.routers[i].stack.length !== summary.lengths[i]) return false
  return true
}

function summarize(middleware: unknown[]): MarkSummary {
  const routers: RouterLike[] = []
  let marked = false
  for (const fn of middleware) {
    const router = typeof fn === 'function' ? (fn as { router?: unknown }).router : undefined
    if (!isRouter(router)) continue
    routers.push(router)
    if (getMarker(fn) !== undefined || getMarker(router) !== undefined) marked = true
    for (const layer of router.stack) {
      if (getMarker(layer) !== undefined || layer.stack.some((handler) => getMarker(handler) !== undefined)) marked = true
    }
  }
  return { markers: markerCount(), middleware: middleware.length, routers, lengths: routers.map((r) => r.stack.length), marked }
}
