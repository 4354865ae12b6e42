/**
 * Route lookup: predict, from method and path alone and before any of the
 * body is read, which handler Express will run for a request and which
 * marker applies to it. Works on Express 4 (`app._router`, path-to-regexp 0.1)
 * and Express 5 (`app.router`, router 2.x), reading their router trees without
 * changing them.
 */
import { parse as legacyParseUrl } from 'node:url'
import type { NextFunction, Request, Response } from 'express'
import { modeOf } from '../../lib/request-state.js'
import { handOverUnread } from './markers.js'
import { getMarker, markerCount, type Marker } from '../../lib/markers.js'

/** What the lookup found for a request. */
export interface RouteDecision {
  /** The innermost marker that applies: the handler's own, else the nearest marked router's. */
  readonly marker: Marker | undefined
  /** The route's path, for messages (`'/api/files/:name'`); best effort, Express 4 shows mount paths as matched. */
  readonly path: string
  /**
   * Whether a body parser of the app's own (body-parser 1.x or 2.x, `express.json()`
   * and friends, stream-shim's drop-ins) runs on the way to the route.
   */
  readonly appParses: boolean
  /**
   * The route lies where the lookup cannot see (inside an `app.use(express())`
   * sub-app): `streamShim()` then parses the body without claiming it, so that
   * parsers further in read it again, with their own options.
   */
  readonly unseen?: true
}

/** The shim's decisions for a request whose route lies where the lookup cannot see, with and without a parser of the app's on the way. */
const UNSEEN: RouteDecision = Object.freeze({ marker: undefined, path: '', appParses: false, unseen: true })
const UNSEEN_PARSED: RouteDecision = Object.freeze({ marker: undefined, path: '', appParses: true, unseen: true })

export interface RouteResolverOptions {
  /**
   * How many decisions to remember, keyed by app router, method and path; a
   * decision is remembered the second time its key misses. Default 1000; 0
   * turns the cache off.
   */
  cacheSize?: number
}

/** The function `createRouteResolver()` returns. */
export interface RouteResolver {
  (req: Request): RouteDecision | undefined
  /** How many decisions are cached right now (never more than `cacheSize`). */
  readonly cachedCount: number
  /**
   * The decision for `req` when a marker applies to it or the app parses its
   * body itself, else undefined: the shim's question, asked of every request
   * with a body. It skips the walk when no marked handler anywhere in the app
   * serves the request's method and the app has no body parser of its own.
   */
  markedRoute(req: Request): RouteDecision | undefined
}

/**
 * Make a function that tells which route Express will run for `req`, and the
 * marker that applies to it. Call it from a middleware mounted first, before
 * the body is read. It returns `undefined` when it cannot tell for certain
 * (no route for the method and path, a mounted sub-app in the way, a path
 * Express rejects): treat that as an unmarked, buffered route.
 *
 * Assumptions, the same a reader of the app would make: middleware without a
 * marker calls `next()`, `router.param()` callbacks do not skip the route,
 * and a marked `app.use(path, fn)` middleware handles what reaches it.
 *
 * Decisions are cached from the second time a method and path are asked
 * for. A cached decision is used only while every router and route stack the
 * lookup read still has the length it had then, so routes added later
 * (`app.post()`, `router.use()`, `route.get()`) are seen.
 *
 * @example
 * const resolve = createRouteResolver()
 * app.use(function route(req, res, next) {
 *   const decision = resolve(req)
 *   if (decision?.marker?.mode === 'streaming') console.log('streams', decision.path)
 *   next()
 * })
 */
export function createRouteResolver(options?: RouteResolverOptions): RouteResolver {
  const limit = normalizeCacheSize(options?.cacheSize)
  const cache = new DecisionCache(limit)
  const routerIds = new WeakMap<object, number>()
  let nextRouterId = 0

  const summaries = new WeakMap<RouterLike, MarkSummary>()

  /**
   * The cache key for a lookup of `method` and `path` in `root`, when one
   * like it was made lately (see `DecisionCache.seenBefore()`); undefined for
   * a lookup that is new, which then neither builds a key nor looks in the
   * cache: an app asked for a new `/items/:id` every request pays the walk
   * alone.
   */
  function cacheKey(root: RouterLike, method: string, path: string): string | undefined {
    if (limit === 0) return undefined
    let routerId = routerIds.get(root)
    if (routerId === undefined) {
      routerId = nextRouterId++
      routerIds.set(root, routerId)
    }
    return cache.seenBefore(fingerprint(routerId, method, path)) ? `${routerId} ${method} ${path}` : undefined
  }

  /** A cached decision that still holds; or undefined. */
  function cached(key: string): CacheEntry | undefined {
    const hit = cache.get(key)
    if (hit === undefined || hit.dependencies.unchanged()) return hit
    cache.delete(key)
    return undefined
  }

  /**
   * Walk the app for `method` and `path`, and cache the decision under `key`
   * when there is one: a lookup seen lately that missed the cache. With
   * `relevantOnly` (never with a key), a decision the shim would not act on
   * may come back as undefined.
   */
  function walk(root: RouterLike, method: string, path: string, key: string | undefined, relevantOnly = false): RouteDecision | undefined {
    const dependencies = key !== undefined ? new Dependencies() : undefined
    const state: WalkState = { parsersSeen: false, relevantOnly }
    const outcome = lookupIn(root, method, path, '', undefined, dependencies, state, false)
    const decision = outcome === UNCERTAIN ? (state.parsersSeen ? UNSEEN_PARSED : UNSEEN) : outcomeToDecision(outcome)
    if (dependencies !== undefined) cache.add(key!, { decision, dependencies })
    return decision
  }

  function target(req: Request): { root: RouterLike; path: string } | undefined {
    const app = req.app as AppLike | undefined
    if (app === undefined || app === null) return undefined
    const root = rootRouter(app)
    const path = requestPath(req, app)
    return root === undefined || path === undefined ? undefined : { root, path }
  }

  const resolveRoute = function resolveRoute(req: Request): RouteDecision | undefined {
    const found = target(req)
    if (found === undefined) return undefined
    const key = cacheKey(found.root, req.method, found.path)
    const hit = key !== undefined ? cached(key) : undefined
    const decision = hit !== undefined ? hit.decision : walk(found.root, req.method, found.path, key)
    return decision?.unseen === true ? undefined : decision
  } as RouteResolver

  resolveRoute.markedRoute = function markedRoute(req: Request): RouteDecision | undefined {
    const found = target(req)
    if (found === undefined) return undefined
    // An app where no marker serves this method and no parser of its own runs: no key, no cache.
    const known = summaries.get(found.root)
    if (known !== undefined && !known.mustWalk && !known.mayApply(req.method) && known.dependencies.unchanged()) return undefined
    const key = cacheKey(found.root, req.method, found.path)
    const hit = key !== undefined ? cached(key) : undefined
    if (hit !== undefined) return relevant(hit.decision)
    // A walk is exact whatever the summary says, so the summary is checked in
    // full (every layer of every stack) only where it would spare the walk.
    // Otherwise the routers' stacks are enough: a route added since gets its
    // guard from a new summary. An app that walks every request needs that
    // only when the walk finds a marker: a guard acts on streaming requests.
    let summary = known
    if (summary !== undefined && !summary.mustWalk) {
      if (!summary.routers.unchanged()) summary = undefined
      else if (!summary.mayApply(req.method) && !summary.dependencies.unchanged()) summary = undefined
    }
    if (summary === undefined) {
      summary = summarize(found.root)
      summaries.set(found.root, summary)
    }
    // No marked handler serves this method anywhere and the app parses no
    // body itself: no walk, and no cache entry to push a hot one out.
    if (!summary.mayApply(req.method) && !summary.mustWalk) return undefined
    // A walk not cached asks only the shim's question; not for a path with a
    // percent sign, where a route's match may fail (Express answers 400) and
    // the decision says so (`unseen`).
    const decision = relevant(walk(found.root, req.method, found.path, key, key === undefined && !found.path.includes('%')))
    if (decision?.marker !== undefined && summary === known && summary.mustWalk && !summary.routers.unchanged()) {
      summaries.set(found.root, summarize(found.root))
    }
    return decision
  }
  Object.defineProperty(resolveRoute, 'cachedCount', { get: () => cache.size, enumerable: true })
  return resolveRoute
}

/**
 * Which methods a marker could apply to anywhere in a router tree, found by
 * reading every stack once (no path matching). Valid while those stacks keep
 * their lengths.
 */
interface MarkSummary {
  /** Every stack read and every layer in them. */
  dependencies: Dependencies
  /** The routers' stacks alone, without their layers: where routes are added. */
  routers: Dependencies
  mayApply(method: string): boolean
  /**
   * Walk every request: a body parser of the app's own is mounted somewhere,
   * or a sub-app the lookup cannot see into, or the app is so large that
   * checking the summary would cost more than a walk.
   */
  mustWalk: boolean
}

/** The shim's part of a decision: one that a marker or the app's own parser makes. */
function relevant(decision: RouteDecision | undefined): RouteDecision | undefined {
  return decision !== undefined && (decision.marker !== undefined || decision.appParses || decision.unseen === true)
    ? decision
    : undefined
}

/**
 * The body parsers an app may keep after the shim, known by the names their
 * middleware functions have: body-parser 1.x and 2.x (and so Express's own
 * `express.json()` & co.) and stream-shim's drop-ins.
 */
const PARSER_NAMES = new Set(['jsonParser', 'urlencodedParser', 'textParser', 'rawParser'])

export function isBodyParser(handle: { name: string }): boolean {
  return PARSER_NAMES.has(handle.name)
}

function summarize(root: RouterLike): MarkSummary {
  const dependencies = new Dependencies()
  const routers = new Dependencies()
  const methods = new Set<string>()
  let anyMethod = false
  let mustWalk = false
  const seen = new Set<RouterLike>()
  const visit = (router: RouterLike, inherited: Marker | undefined): void => {
    if (seen.has(router)) return
    seen.add(router)
    dependencies.recordAll(router)
    routers.record(router)
    for (const layer of router.stack) {
      const route = layer.route
      if (route !== undefined && route !== null) {
        guardRoute(layer, route, inherited)
        dependencies.recordAll(route)
        for (const handler of route.stack) {
          if (isBodyParser(handler.handle)) mustWalk = true
          if (getMarker(handler.handle) === undefined) continue
          if (handler.method) methods.add(handler.method)
          else anyMethod = true // route.all()
        }
        continue
      }
      const handle = layer.handle
      if (isBodyParser(handle) || isOpaqueMount(handle)) mustWalk = true
      const marker = getMarker(handle)
      if (marker !== undefined) anyMethod = true // a marked router or middleware
      const inner = isRouter(handle) ? handle : isApp(handle) ? rootRouter(handle as AppLike) : undefined
      if (inner !== undefined) visit(inner, marker ?? inherited)
    }
  }
  visit(root, undefined)
  if (dependencies.size > SUMMARY_CHECK_LIMIT) mustWalk = true
  const verdicts = new Map<string, boolean>()
  return {
    dependencies,
    routers,
    mustWalk,
    mayApply(method) {
      if (anyMethod) return true
      let verdict = verdicts.get(method)
      if (verdict === undefined) {
        const name = method.toLowerCase()
        verdict = methods.has(name) || (name === 'head' && methods.has('get'))
        if (verdicts.size < 64) verdicts.set(method, verdict)
      }
      return verdict
    },
  }
}

/**
 * How many stacks and layers a summary may depend on and still be checked per
 * request. Checking one costs about 5 ns (Node 24); a walk, cached or not,
 * costs 0.2–4 µs whatever the app's size. At 1000 routes a summary holds
 * about 3200, and checking it took 18 µs.
 */
const SUMMARY_CHECK_LIMIT = 500

function normalizeCacheSize(value: unknown): number {
  if (value === undefined) return 1000
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`option cacheSize must be a non-negative integer, got ${String(value)}`)
  }
  return value
}

// Structural views of the parts of Express 4 and router 2.x that the lookup reads.

type Handler = ((...args: never[]) => unknown) & { stack?: unknown; handle?: unknown; set?: unknown }

interface LayerLike {
  handle: Handler
  route?: RouteLike | null
  match(path: string): unknown
  /** Written by `match()` in Express 4 and router < 2.3. */
  params?: unknown
  path?: unknown
  keys?: unknown
  /** Express 4 layers only. */
  regexp?: unknown
  /** router >= 2.3 layers only. */
  rawPath?: unknown
  /** router 2.x: the path is `/` and does not end there. */
  slash?: unknown
}

interface RouteLike {
  path: unknown
  stack: RouteLayerLike[]
  methods: Record<string, unknown>
  _handlesMethod?(method: string): boolean // router 2.x
  _handles_method?(method: string): boolean // Express 4
}

interface RouteLayerLike {
  handle: Handler
  method?: string
}

interface RouterLike {
  stack: LayerLike[]
}

interface AppLike {
  parent?: unknown
  _router?: unknown
  router?: unknown
}

interface CacheEntry {
  decision: RouteDecision | undefined
  dependencies: Dependencies
}

/**
 * The decisions remembered, in two generations of at most half the size
 * each: a decision read from the older one moves to the newer; when the newer
 * is full it becomes the older and the older is dropped whole. So the least
 * recently used go first, near enough, and no entry is deleted and no Map
 * iterated per request, as a single LRU Map needs: each delete leaves a hole
 * that the next walk of its keys steps over, and an app with REST ids
 * (`/items/:id`) misses and evicts on most requests.
 */
class DecisionCache {
  private newer = new Map<string, CacheEntry>()
  private older = new Map<string, CacheEntry>()
  /**
   * The lookups made lately, by `fingerprint()`: one slot per fingerprint's
   * low bits, holding the last fingerprint there plus one (0: empty).
   */
  private readonly recent: Int32Array
  private readonly half: number
  private readonly keepsOlder: boolean

  constructor(limit: number) {
    this.half = Math.max(1, Math.floor(limit / 2))
    this.keepsOlder = limit >= 2
    // Four slots per decision kept, from 64 to 2^20 (4 MiB).
    let slots = 64
    while (slots < limit * 4 && slots < 1 << 20) slots *= 2
    this.recent = new Int32Array(slots)
  }

  /**
   * Whether a lookup with this fingerprint was made lately (and so may be
   * cached, or is worth caching when it misses), noting it either way. So
   * requests to paths that never come back (a new `/items/:id` every time)
   * neither look in the cache nor push hot decisions out, and a path that
   * comes back is cached from its second request. A hot path whose slot
   * another took in between is walked once more, never answered wrongly:
   * the cache is looked up by the whole key.
   */
  seenBefore(fingerprint: number): boolean {
    const slot = fingerprint & (this.recent.length - 1)
    if (this.recent[slot] === fingerprint + 1) return true
    this.recent[slot] = fingerprint + 1
    return false
  }

  get size(): number {
    return this.newer.size + this.older.size
  }

  get(key: string): CacheEntry | undefined {
    const hit = this.newer.get(key)
    if (hit !== undefined) return hit
    const old = this.older.get(key)
    if (old !== undefined) {
      this.older.delete(key)
      this.add(key, old)
    }
    return old
  }

  add(key: string, entry: CacheEntry): void {
    if (this.newer.size >= this.half) {
      this.older = this.keepsOlder ? this.newer : new Map()
      this.newer = new Map()
    }
    this.newer.set(key, entry)
  }

  delete(key: string): void {
    if (!this.newer.delete(key)) this.older.delete(key)
  }
}

/**
 * The stacks one lookup read, with their lengths then, and the layers that
 * matched on the way to the decision: the decision holds while the stacks
 * keep their lengths and those layers their places (a route swapped for
 * another in place is seen), and no marker was set anywhere since.
 */
class Dependencies {
  private readonly markings = markerCount()
  // Flat triples, two arrays in all: a cached decision keeps its
  // Dependencies for as long as it is cached, and a summary's are checked on
  // every request it spares a walk.
  /** Owner, its stack then, the stack's length then. */
  private readonly recorded: unknown[] = []
  /** Stack, index, the layer there then. */
  private readonly pinned: unknown[] = []

  record(owner: { stack: unknown[] }): void {
    this.recorded.push(owner, owner.stack, owner.stack.length)
  }

  /** The decision depends on `stack[index]` being the layer it is now. */
  pin(stack: unknown[], index: number): void {
    this.pinned.push(stack, index, stack[index])
  }

  /** How many stacks and layers this depends on. */
  get size(): number {
    return (this.recorded.length + this.pinned.length) / 3
  }

  /** Record `owner`'s stack and pin every layer in it. */
  recordAll(owner: { stack: unknown[] }): void {
    this.record(owner)
    for (let i = 0; i < owner.stack.length; i++) this.pin(owner.stack, i)
  }

  unchanged(): boolean {
    if (this.markings !== markerCount()) return false
    const { recorded, pinned } = this
    for (let i = 0; i < recorded.length; i += 3) {
      const stack = (recorded[i] as { stack: unknown[] }).stack
      if (stack !== recorded[i + 1] || stack.length !== recorded[i + 2]) return false
    }
    for (let i = 0; i < pinned.length; i += 3) if ((pinned[i] as unknown[])[pinned[i + 1] as number] !== pinned[i + 2]) return false
    return true
  }
}

const NO_ROUTE = Symbol('no route')
const UNCERTAIN = Symbol('uncertain')
/** A walk asked only the shim's question stopped: whatever it would find, the shim does not act on it. */
const IRRELEVANT = Symbol('irrelevant')
type Outcome = RouteDecision | typeof NO_ROUTE | typeof UNCERTAIN | typeof IRRELEVANT

function outcomeToDecision(outcome: Outcome): RouteDecision | undefined {
  return outcome === NO_ROUTE || outcome === UNCERTAIN || outcome === IRRELEVANT ? undefined : outcome
}

/** What one walk carries from stack to stack. */
interface WalkState {
  /** A body parser of the app's own was passed on the way: the route's decision says the app parses. */
  parsersSeen: boolean
  /**
   * Only the shim's question is asked (`markedRoute()`, a lookup not cached):
   * the walk may stop once nothing left in its way can give a decision the
   * shim acts on (see `relevant()`), without matching the route that ends it.
   */
  readonly relevantOnly: boolean
}

/**
 * Walk `router.stack` the way the router's `next()` does, for a request to
 * `path` (relative to this router) with nothing failing along the way.
 * `prefix` is the path pattern the router is mounted at, `inherited` the
 * nearest enclosing router's marker; `later` says whether a layer the walk
 * may reach after this router's, in an enclosing stack, could matter to the
 * shim (read only when `state.relevantOnly`).
 */
function lookupIn(
  router: RouterLike,
  method: string,
  path: string,
  prefix: string,
  inherited: Marker | undefined,
  dependencies: Dependencies | undefined,
  state: WalkState,
  later: boolean,
): Outcome {
  dependencies?.record(router)
  const stack = router.stack
  const index = stackIndex(stack)
  // The layers that may match, in stack order: those whose path starts with
  // the request's first segment, merged with those whose first segment the
  // index cannot tell.
  const named = index.named(path)
  const others = index.others
  let a = 0
  let b = 0
  while (a < named.length || b < others.length) {
    const i = b >= others.length || (a < named.length && named[a] < others[b]) ? named[a++] : others[b++]
    const layer = stack[i]
    const literal = index.prefixes[i]
    if (literal !== undefined && !startsWithIgnoringCase(path, literal)) continue // cannot match: no call to match()
    const kind = index.kindOf(i, layer)
    if (kind === ERROR_HANDLER) continue // not run for a request without an error
    if (kind === PASSES) {
      // Middleware that matches or not without consequence: no call to match().
      dependencies?.pin(stack, i)
      continue
    }
    const route = layer.route
    if (
      state.relevantOnly &&
      route !== undefined &&
      route !== null &&
      !later &&
      inherited === undefined &&
      !state.parsersSeen &&
      !index.routeMatters(i, route, method) &&
      !mattersAfter(index, stack, path, method, named, a, others, b)
    ) {
      // This route, matched or not, and every layer the walk may still reach
      // give a decision the shim does not act on: no need to match it.
      return IRRELEVANT
    }
    let match: LayerMatch | undefined = index.mountMatch(i, path)
    if (match === undefined) {
      try {
        match = matchLayer(layer, path)
      } catch {
        return UNCERTAIN // Express turns this into an error (400 for bad percent-encoding)
      }
      if (match === undefined) continue
    }

    if (route !== undefined && route !== null) {
      dependencies?.record(route)
      if (!handlesMethod(route, method)) continue
      if (dependencies !== undefined) {
        dependencies.pin(stack, i)
        for (let j = 0; j < route.stack.length; j++) dependencies.pin(route.stack, j)
      }
      const routePath = patternText(match.pattern) ?? patternText(route.path) ?? match.path
      const appParses = state.parsersSeen || routeHasParser(route, method)
      return freezeDecision(routeMarker(route, method) ?? inherited, joinRoutePath(prefix, routePath), appParses)
    }

    const handle = layer.handle
    if (handle.length === 4) continue // error handler: not run for a request without an error
    if (!breaksAtSeparator(layer, match.path, path)) continue
    dependencies?.pin(stack, i)
    const marker = getMarker(handle)

    let inner: RouterLike | undefined
    if (isRouter(handle)) inner = handle
    else if (isApp(handle)) inner = rootRouter(handle as AppLike) // `router.use(path, app)`: reachable
    else if (isOpaqueMount(handle)) return UNCERTAIN // `app.use(path, app)`, vhost: a closure we cannot look into
    else if (marker !== undefined) return freezeDecision(marker, (index.mountPath(i, prefix) ?? mountPathOf(prefix, layer, match)) || '/', state.parsersSeen)
    else {
      // Plain middleware, assumed to call next(); a body parser among them reads the body first.
      if (isBodyParser(handle)) state.parsersSeen = true
      continue
    }

    if (inner === undefined) return UNCERTAIN
    const mountPath = index.mountPath(i, prefix) ?? mountPathOf(prefix, layer, match)
    const after =
      state.relevantOnly && (later || inherited !== undefined || state.parsersSeen || mattersAfter(index, stack, path, method, named, a, others, b))
    const outcome = lookupIn(inner, method, remainingPath(path, match.path), mountPath, marker ?? inherited, dependencies, state, after)
    if (outcome !== NO_ROUTE) return outcome
    // nothing inside: the router calls next() and the walk goes on here
  }
  return NO_ROUTE
}

/** Whether a route's handlers for `method` hold a marker or a body parser: a decision the shim acts on. */
function routeMatters(route: RouteLike, method: string): boolean {
  return routeMarker(route, method) !== undefined || routeHasParser(route, method)
}

/** The handlers' functions of a route layer whose handlers hold no marker and no body parser; else undefined. */
function quietHandles(layer: LayerLike): unknown[] | undefined {
  const route = layer.route
  if (route === undefined || route === null) return undefined
  const handles = route.stack.map((handler) => handler.handle)
  return handles.every((handle) => getMarker(handle) === undefined && !isBodyParser(handle)) ? handles : undefined
}

/** How many candidates `mattersAfter()` looks at before it gives up and says yes. */
const MATTERS_AFTER_LIMIT = 8

/**
 * Whether a layer among the walk's candidates left in this stack
 * (`named[a..]`, `others[b..]`) could give a decision the shim acts on, or
 * lead to one: a marked route or a route with a parser, a router, a sub-app,
 * marked middleware, a body parser. Yes when there are too many to look at.
 */
function mattersAfter(
  index: StackIndex,
  stack: LayerLike[],
  path: string,
  method: string,
  named: readonly number[],
  a: number,
  others: readonly number[],
  b: number,
): boolean {
  if (named.length - a + others.length - b > MATTERS_AFTER_LIMIT) return true
  for (let k = a; k < named.length; k++) if (mayMatter(index, stack, named[k], path, method)) return true
  for (let k = b; k < others.length; k++) if (mayMatter(index, stack, others[k], path, method)) return true
  return false
}

/** Whether the layer at `i` can match `path` and, if it does, give or lead to a decision the shim acts on. */
function mayMatter(index: StackIndex, stack: LayerLike[], i: number, path: string, method: string): boolean {
  const layer = stack[i]
  const literal = index.prefixes[i]
  if (literal !== undefined && !startsWithIgnoringCase(path, literal)) return false
  const route = layer.route
  if (route !== undefined && route !== null) return index.routeMatters(i, route, method)
  return index.kindOf(i, layer) === MATCH
}

/**
 * What a walk needs to know of one router stack, worked out once:
 * - which layers a path's first segment leaves, so that the walk passes over
 *   the others without calling their `match()`: in an app of many routers
 *   (`/api/users`, `/api/orders`, ... or `/g0` to `/g99`) it would otherwise
 *   run every router's regular expression, as Express itself does after it.
 *   Known for router >= 2.3 layers (Express 5), whose string path is kept as
 *   `rawPath`; Express 4 layers are all in `others`;
 * - which layers the walk can pass without matching at all (see `layerKind()`);
 * - the mount path each router layer adds.
 *
 * Made from a copy of the stack and remade whenever the stack differs from
 * it in length or in any layer (a layer replaced in place is seen), or a
 * marker was set anywhere since.
 */
class StackIndex {
  /** The stack's layers when the index was made. */
  readonly layers: LayerLike[]
  /** `markerCount()` when the index was made. */
  readonly markings = markerCount()
  /** Per layer, the lowercased literal its path starts with (see `literalPrefix()`), if one can be told. */
  readonly prefixes: (string | undefined)[]
  /** Per layer, its handle and what the walk does with it, while the handle stays. */
  private readonly handles: unknown[]
  private readonly kinds: number[]
  /** Per layer, the text its path adds to the mount path (no trailing slash), where the path is one string. */
  private readonly mounts: (string | undefined)[]
  /** Per layer, the `app.use()` path that is one plain literal (`/api`, `/g57`), for matching without `match()`. */
  private readonly literals: (string | undefined)[]
  /**
   * Per `segmentHash()` of a first path segment, the indexes of the layers
   * whose path begins with a segment of that hash, ascending. Two segments
   * may share a hash: the walk's prefix check and `match()` tell them apart.
   */
  private readonly bySegment = new Map<number, number[]>()
  /** The indexes of the layers whose first segment cannot be told, ascending: candidates for every path. */
  readonly others: number[] = []
  /**
   * Per route layer whose handlers hold no marker and no body parser, for any
   * method, those handlers' functions: while the route still has exactly
   * them, it gives no decision the shim acts on. Undefined for other layers.
   */
  private readonly quietHandles: (unknown[] | undefined)[]

  constructor(stack: LayerLike[]) {
    this.layers = stack.slice()
    this.prefixes = this.layers.map(literalPrefix)
    this.handles = this.layers.map((layer) => layer.handle)
    this.kinds = this.layers.map(layerKind)
    this.mounts = this.layers.map((layer) => (typeof layer.rawPath === 'string' && layer.regexp === undefined ? joinMountPath('', layer.rawPath) : undefined))
    this.literals = this.layers.map(mountLiteral)
    this.quietHandles = this.layers.map(quietHandles)
    for (let i = 0; i < this.layers.length; i++) {
      const segment = firstSegment(this.layers[i], this.prefixes[i])
      if (segment === undefined) {
        this.others.push(i)
        continue
      }
      const hash = segmentHash(segment, 0)
      const list = this.bySegment.get(hash)
      if (list === undefined) this.bySegment.set(hash, [i])
      else list.push(i)
    }
  }

  /** Whether the stack still holds exactly the layers the index was made from, and no marker was set since. */
  describes(stack: LayerLike[]): boolean {
    const layers = this.layers
    if (stack.length !== layers.length || this.markings !== markerCount()) return false
    for (let i = 0; i < layers.length; i++) if (stack[i] !== layers[i]) return false
    return true
  }

  /**
   * Whether the route of the layer at `index` holds a marker or a body parser
   * for `method`; answered from the index while the route keeps the handlers
   * it had (a marker set since remakes the index).
   */
  routeMatters(index: number, route: RouteLike, method: string): boolean {
    const quiet = this.quietHandles[index]
    if (quiet !== undefined) {
      const handlers = route.stack
      let same = handlers.length === quiet.length
      for (let j = 0; same && j < quiet.length; j++) same = handlers[j].handle === quiet[j]
      if (same) return false
    }
    return routeMatters(route, method)
  }

  /** What the walk does with the layer at `index`: `PASSES`, `ERROR_HANDLER`, or `MATCH` (match it and look closer). */
  kindOf(index: number, layer: LayerLike): number {
    return layer.handle === this.handles[index] ? this.kinds[index] : MATCH
  }

  /** The mount path of the router or middleware at `index` under `prefix`, where it can be told without a match. */
  mountPath(index: number, prefix: string): string | undefined {
    const mount = this.mounts[index]
    return mount === undefined ? undefined : prefix + mount
  }

  /**
   * The match of the middleware or router layer at `index` (the index
   * describes the stack: `stackIndex()` checked) for a path that starts with
   * its literal path exactly, case and all, and goes on past a slash: what
   * `layer.match(path)` would say, whether or not the layer is
   * case-sensitive, without running its regular expression. Undefined when
   * the layer must be asked.
   */
  mountMatch(index: number, path: string): LayerMatch | undefined {
    const literal = this.literals[index]
    if (literal === undefined) return undefined
    const end = literal.length
    if (path.length <= end + 1 || path.charCodeAt(end) !== 0x2f /* / */ || !path.startsWith(literal)) return undefined
    return { path: literal, pattern: literal }
  }

  /** The indexes of the layers that `path`'s first segment may name (compared ignoring ASCII case), and maybe a few more. */
  named(path: string): readonly number[] {
    if (this.bySegment.size === 0) return NONE
    return this.bySegment.get(segmentHash(path, 1)) ?? NONE
  }
}

const NONE: readonly number[] = Object.freeze([])

/**
 * A 30-bit hash of a lookup (the router's id, the method and the path, as
 * the cache key spells them) without making the key's string: FNV-1a, then
 * a finalizer that mixes its high bits into the low ones, which pick the
 * lookup's slot (FNV-1a alone carries a change in a character only upwards).
 */
export function fingerprint(routerId: number, method: string, path: string): number {
  let hash = Math.imul(0x811c9dc5 ^ routerId, 0x01000193)
  for (let i = 0; i < method.length; i++) hash = Math.imul(hash ^ method.charCodeAt(i), 0x01000193)
  hash = Math.imul(hash ^ 0x20, 0x01000193)
  for (let i = 0; i < path.length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), 0x01000193)
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b)
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35)
  return (hash ^ (hash >>> 16)) & 0x3fffffff
}

/**
 * A hash (FNV-1a, cut to a small integer) of the path segment that starts at
 * `start` and ends before the next `/` or the end, ASCII letters folded to
 * lower case: the segment index's key, worked out without making the
 * segment's string (a slice, its lower-case copy, and the string's own hash
 * each time a path is looked up).
 */
export function segmentHash(text: string, start: number): number {
  let hash = 0x811c9dc5
  for (let i = start; i < text.length; i++) {
    let code = text.charCodeAt(i)
    if (code === 0x2f /* / */) break
    if (code >= 0x41 && code <= 0x5a) code |= 0x20
    hash = Math.imul(hash ^ code, 0x01000193)
  }
  return hash & 0x3fffffff
}

/** Match the layer and look at what it holds. */
const MATCH = 0
/** Error-handling middleware, whose path cannot fail to decode: never runs for a request without an error. */
const ERROR_HANDLER = 1
/**
 * Middleware that is not a router, app, marked, a body parser or a mount the
 * lookup cannot see into, on a path without params (`app.use(fn)`, a logger
 * at `/api`): whether it matches changes nothing, and its match cannot fail.
 */
const PASSES = 2

function layerKind(layer: LayerLike): number {
  if ((layer.route !== undefined && layer.route !== null) || !hasPlainPath(layer)) return MATCH
  const handle = layer.handle
  if (typeof handle !== 'function') return MATCH
  if (handle.length === 4) return ERROR_HANDLER
  if (isRouter(handle) || isApp(handle) || isOpaqueMount(handle) || isBodyParser(handle) || getMarker(handle) !== undefined) return MATCH
  return PASSES
}

/** Whether the layer's path has no params, so that matching it decodes nothing and cannot throw. */
function hasPlainPath(layer: LayerLike): boolean {
  if (layer.slash === true) return true // router 2.x: `/`, not ending
  const regexp = layer.regexp as { fast_slash?: unknown } | undefined
  if (regexp !== undefined) return regexp.fast_slash === true // Express 4: `/`, not ending
  const raw = layer.rawPath
  if (typeof raw !== 'string') return false
  for (let i = 0; i < raw.length; i++) if (PATTERN_TOKENS.includes(raw[i])) return false
  return true
}

/**
 * The path of a middleware or router layer (router >= 2.3, which makes them
 * `end: false` and not strict) when it is plain text that `layer.match()`
 * compares literally: printable ASCII without pattern tokens, more than `/`,
 * no trailing slash. A path that starts with it and goes on with a slash
 * matches it exactly, with no params.
 */
function mountLiteral(layer: LayerLike): string | undefined {
  if ((layer.route !== undefined && layer.route !== null) || layer.regexp !== undefined) return undefined
  const raw = layer.rawPath
  if (typeof raw !== 'string' || raw.length < 2 || raw.charCodeAt(0) !== 0x2f || raw.charCodeAt(raw.length - 1) === 0x2f) return undefined
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i)
    if (code <= 0x20 || code > 0x7e || PATTERN_TOKENS.includes(raw[i])) return undefined
  }
  return raw
}

const indexes = new WeakMap<LayerLike[], StackIndex>()

function stackIndex(stack: LayerLike[]): StackIndex {
  let index = indexes.get(stack)
  if (index === undefined || !index.describes(stack)) {
    index = new StackIndex(stack)
    indexes.set(stack, index)
  }
  return index
}

/**
 * The first segment, lowercased, of every path `layer` can match (given its
 * `literalPrefix()`), when its pattern spells that segment out in full (`/g57`,
 * `/r4/:a/:b`, `/files/*rest`);
 * undefined when a token follows the segment's text directly (`/r4:id`,
 * `/files{/:name}`), for `/`, and wherever `literalPrefix()` tells nothing.
 * A path's first segment can equal it, ignoring ASCII case, only if the path
 * starts with the layer's literal, so this is never stricter than the prefix.
 */
function firstSegment(layer: LayerLike, literal: string | undefined): string | undefined {
  if (literal === undefined || literal.charCodeAt(0) !== 0x2f /* / */) return undefined
  const slash = literal.indexOf('/', 1)
  if (slash !== -1) return slash > 1 ? literal.slice(1, slash) : undefined
  // The whole literal is one segment: complete if the pattern ends there or
  // goes on with a slash (the literal's own trailing slashes were cut).
  const raw = layer.rawPath as string
  return literal.length === raw.length || raw.charCodeAt(literal.length) === 0x2f ? literal.slice(1) : undefined
}

/**
 * The text a path-to-regexp 8 pattern starts with, up to its first token
 * (`:name`, `*name`, `{`, an escape, a reserved character) or non-ASCII
 * character, without trailing slashes (the router drops them unless strict),
 * in lower case. Any path the layer matches starts with it, ignoring ASCII
 * case (the router's patterns match case-insensitively unless told not to,
 * and without the `u` flag, so no non-ASCII character matches an ASCII one).
 */
function literalPrefix(layer: LayerLike): string | undefined {
  const raw = layer.rawPath
  if (typeof raw !== 'string' || layer.regexp !== undefined) return undefined
  let end = 0
  while (end < raw.length) {
    const code = raw.charCodeAt(end)
    if (code > 0x7e || PATTERN_TOKENS.includes(raw[end])) break
    end++
  }
  while (end > 0 && raw.charCodeAt(end - 1) === 0x2f /* / */) end--
  return end === 0 ? undefined : raw.slice(0, end).toLowerCase()
}

const PATTERN_TOKENS = '{}()[]+?!:*\\'

function startsWithIgnoringCase(path: string, lowerPrefix: string): boolean {
  if (path.length < lowerPrefix.length) return false
  for (let i = 0; i < lowerPrefix.length; i++) {
    let code = path.charCodeAt(i)
    if (code >= 0x41 && code <= 0x5a) code |= 0x20
    if (code !== lowerPrefix.charCodeAt(i)) return false
  }
  return true
}

interface LayerMatch {
  /** The part of the path the layer matched. */
  path: string
  /** The pattern that matched, when the router says (router >= 2.3). */
  pattern: unknown
}

/**
 * `layer.match(path)` without leaving a trace. Express 4 and router < 2.3
 * store the result on the layer (`params`, `path`, `keys`) and return a
 * boolean; router >= 2.3 returns the result and stores nothing. Read whichever
 * answer the layer gives and put back the fields exactly as they were.
 */
function matchLayer(layer: LayerLike, path: string): LayerMatch | undefined {
  if (layer.rawPath !== undefined) return matchResult(layer, layer.match(path)) // router >= 2.3: nothing stored
  const hadParams = Object.hasOwn(layer, 'params')
  const hadPath = Object.hasOwn(layer, 'path')
  const hadKeys = Object.hasOwn(layer, 'keys')
  const params = layer.params
  const matchedPath = layer.path
  const keys = layer.keys
  try {
    return matchResult(layer, layer.match(path))
  } finally {
    restoreField(layer, 'params', hadParams, params)
    restoreField(layer, 'path', hadPath, matchedPath)
    restoreField(layer, 'keys', hadKeys, keys)
  }
}

function matchResult(layer: LayerLike, result: unknown): LayerMatch | undefined {
  if (result === true) return { path: typeof layer.path === 'string' ? layer.path : '', pattern: undefined }
  if (result !== null && typeof result === 'object') {
    const found = result as { path?: unknown; pattern?: unknown }
    return { path: typeof found.path === 'string' ? found.path : '', pattern: found.pattern }
  }
  return undefined
}

function restoreField(layer: LayerLike, field: 'params' | 'path' | 'keys', had: boolean, value: unknown): void {
  if (had) {
    if (layer[field] !== value) layer[field] = value
  } else if (Object.hasOwn(layer, field)) {
    delete layer[field]
  }
}

function handlesMethod(route: RouteLike, method: string): boolean {
  if (typeof route._handlesMethod === 'function') return route._handlesMethod(method)
  if (typeof route._handles_method === 'function') return route._handles_method(method)
  return false
}

/** The first marker among the route's handlers that run for `method` (as `route.dispatch` picks them). */
export function routeMarker(route: RouteLike, method: string): Marker | undefined {
  let name = method.toLowerCase()
  if (name === 'head' && !route.methods.head) name = 'get'
  for (const layer of route.stack) {
    if (layer.method && layer.method !== name) continue
    if (layer.handle.length > 3) continue // error handler
    const marker = getMarker(layer.handle)
    if (marker !== undefined) return marker
  }
  return undefined
}

/** Whether one of the route's handlers for `method` is a body parser (a route-level `express.raw()`, say). */
export function routeHasParser(route: RouteLike, method: string): boolean {
  let name = method.toLowerCase()
  if (name === 'head' && !route.methods.head) name = 'get'
  return route.stack.some((layer) => (!layer.method || layer.method === name) && isBodyParser(layer.handle))
}

/**
 * A middleware layer whose pattern matched only runs if the match ends at a
 * path separator (`/api` matches `/api/x`, never `/apix`); Express 4 also
 * accepts `.` there.
 */
function breaksAtSeparator(layer: LayerLike, layerPath: string, path: string): boolean {
  if (layerPath.length === 0) return true
  if (!path.startsWith(layerPath)) return false
  const next = path[layerPath.length]
  return next === undefined || next === '/' || (next === '.' && layer.regexp !== undefined)
}

/** The path a mounted router sees: what is left after its mount path, always starting with `/`. */
function remainingPath(path: string, layerPath: string): string {
  const rest = path.slice(layerPath.length)
  return rest[0] === '/' ? rest : '/' + rest
}

/**
 * Middleware that hands requests to an app or router hidden in its closure:
 * Express's own wrapper for `app.use(path, subApp)`, and the vhost package.
 */
export function isOpaqueMount(handle: { name: string }): boolean {
  return handle.name === 'mounted_app' || handle.name === 'vhost'
}

const kGuard = Symbol('stream-shim.route-guard')

/**
 * Wrap a route's dispatch so that, when the route that actually runs is not
 * the streaming one the shim predicted (middleware behind the shim rewrote
 * the URL or the method, a router passed on with `next('router')`), its
 * handlers get the buffered body they expect. Installed once per route, on
 * the routes the lookup reads; a request the shim did not set up for
 * streaming goes straight through.
 */
function guardRoute(layer: LayerLike, route: RouteLike, inherited: Marker | undefined): void {
  const dispatch = layer.handle as Handler & { [kGuard]?: true }
  if (dispatch[kGuard] === true) return
  const guard = function routeGuard(req: Request, res: Response, next: NextFunction): unknown {
    if (req.bodyStream !== undefined && modeOf(req) === 'streaming') {
      const marker = routeMarker(route, req.method) ?? inherited
      if (marker?.mode !== 'streaming') {
        const reading = handOverUnread(req, res, routeHasParser(route, req.method))
        if (reading !== undefined) {
          reading.then(() => (dispatch as RouteDispatch)(req, res, next), next)
          return undefined
        }
      }
    }
    return (dispatch as RouteDispatch)(req, res, next)
  }
  Object.defineProperty(guard, kGuard, { value: true })
  layer.handle = guard as unknown as Handler
}

type RouteDispatch = (req: Request, res: Response, next: NextFunction) => unknown

export function isRouter(value: unknown): value is Handler & RouterLike {
  return typeof value === 'function' && Array.isArray((value as { stack?: unknown }).stack)
}

export function isApp(value: Handler): boolean {
  return typeof value.handle === 'function' && typeof value.set === 'function'
}

/** The app's router: `app._router` in Express 4 (where reading `app.router` throws), `app.router` in Express 5. */
export function rootRouter(app: AppLike): RouterLike | undefined {
  if (isRouter(app._router)) return app._router
  try {
    const router = app.router
    return isRouter(router) ? router : undefined
  } catch {
    return undefined
  }
}

/** The path the app's router matches: relative to the mount point inside a sub-app. */
function requestPath(req: Request, app: AppLike): string | undefined {
  // What the app's router will match: `req.url` as middleware in front may
  // have rewritten it, under the path the caller is mounted at (if any).
  const url = app.parent ? req.url : (req.baseUrl ?? '') + req.url
  return typeof url === 'string' ? pathnameOf(url) : undefined
}

/**
 * The pathname exactly as Express's routers compute it (the `parseurl`
 * package): a plain `/path?query` is cut at `?`; anything else (absolute-form
 * `http://host/path`, a `#`, whitespace) goes through Node's legacy URL
 * parser, as `parseurl` does, so both agree on odd inputs.
 */
function pathnameOf(url: string): string | undefined {
  if (url.charCodeAt(0) === 0x2f /* / */) {
    for (let i = 1; i < url.length; i++) {
      switch (url.charCodeAt(i)) {
        case 0x3f /* ? */:
          return url.slice(0, i)
        case 0x09 /* \t */:
        case 0x0a /* \n */:
        case 0x0c /* \f */:
        case 0x0d /* \r */:
        case 0x20 /* space */:
        case 0x23 /* # */:
        case 0xa0:
        case 0xfeff:
          return legacyPathname(url)
      }
    }
    return url
  }
  return legacyPathname(url)
}

function legacyPathname(url: string): string | undefined {
  try {
    return legacyParseUrl(url).pathname ?? undefined
  } catch {
    return undefined
  }
}

export function patternText(pattern: unknown): string | undefined {
  if (typeof pattern === 'string') return pattern
  if (pattern instanceof RegExp) return String(pattern)
  return undefined
}

function mountPathOf(prefix: string, layer: LayerLike, match: LayerMatch): string {
  return joinMountPath(prefix, patternText(match.pattern) ?? patternText(layer.rawPath) ?? match.path)
}

/** A mount path as a prefix: `''` for `/`, no trailing slash. */
function joinMountPath(prefix: string, mountPath: string): string {
  return prefix + mountPath.replace(/\/+$/, '')
}

function joinRoutePath(prefix: string, routePath: string): string {
  if (prefix === '') return routePath
  return routePath === '/' ? prefix : prefix + routePath
}

function freezeDecision(marker: Marker | undefined, path: string, appParses: boolean): RouteDecision {
  return Object.freeze({ marker, path, appParses })
}
