/**
 * The migration report for an Express app: every route the lookup can see,
 * with its body mode and effective options, and the body record that
 * `recordBodies(app)` keeps while the app runs in development.
 */
import { METHODS, type IncomingMessage } from 'node:http'
import { BodyRecordTable, addRouteKeyer, recordingAllowed, type RecordTarget } from '../../lib/body-record.js'
import { createShim, type Shim } from '../../lib/dispatch.js'
import { getMarker, type Marker } from '../../lib/markers.js'
import { attachBodies, bufferedOptions, streamingOptions, type RouteReport } from '../../lib/route-report.js'
import { shimOptionsOf } from '../../lib/shim-options.js'
import type { ShimOptions, StreamingOptions } from '../../lib/config.js'
import { createRouteResolver, isApp, isBodyParser, isOpaqueMount, isRouter, patternText, rootRouter, routeHasParser, routeMarker } from './route-lookup.js'

// Structural views of what the report reads (Express 4 and router 2.x).
type Handle = ((...args: never[]) => unknown) & { stack?: unknown; handle?: unknown; set?: unknown }
interface RouteLike {
  path: unknown
  stack: { handle: Handle; method?: string }[]
  methods: Record<string, unknown>
}
interface LayerLike {
  handle: Handle
  route?: RouteLike | null
  rawPath?: unknown
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean }
  keys?: { name: string | number }[]
}
interface RouterLike {
  stack: LayerLike[]
}

/** What holds on the way down to a layer: the shim in front (if any), parsers of the app's, a rewriter after the shim. */
interface Scope {
  readonly shim: Shim | undefined
  readonly shimOptions: ShimOptions | undefined
  readonly parser: string | undefined
  readonly rewriter: string | undefined
  readonly inherited: Marker | undefined
}

/** Middleware known to change `req.url` or `req.method`, by function name. */
const REWRITERS = /^methodOverride$|rewrite/i

const SUB_APP =
  'sub-app: an express() app mounted with app.use() is hidden from the lookup; the shim parses its bodies without claiming them (describeRoutes(subApp) lists its routes)'
const VHOST = 'sub-app: the app or router behind vhost is hidden from the lookup; the shim parses its bodies without claiming them'

/**
 * Every route of an Express 4 or 5 app, as `streamShim()` sees it: method,
 * full path, mode (`streaming`, `buffered`, or `unknown` with the reason:
 * a sub-app, rewriting middleware after the shim, no route) and the
 * effective options (limit, types, timeout). With `recordBodies(app)` on,
 * each row also carries what arrived there. The rows are plain data:
 * `JSON.stringify()` them, or print them with `formatRoutes()`.
 *
 * @example
 * import { describeRoutes, formatRoutes } from 'stream-shim/express'
 * console.log(formatRoutes(describeRoutes(app)))
 * app.get('/_routes', (req, res) => res.json(describeRoutes(app)))
 */
export function describeRoutes(app: unknown): RouteReport[] {
  if (typeof app !== 'function' || !isApp(app as Handle)) throw new TypeError('describeRoutes() needs an express() app')
  const rows: RouteReport[] = []
  const root = rootRouter(app as never)
  if (root !== undefined) {
    // A sub-app's routes under the path it is mounted at (`app.use('/admin', admin)`).
    const mountpath = (app as { mountpath?: unknown }).mountpath
    const prefix = typeof mountpath === 'string' ? joinMount('', mountpath) : ''
    walk(root as RouterLike, prefix, { shim: undefined, shimOptions: undefined, parser: undefined, rewriter: undefined, inherited: undefined }, rows, new Set())
  }
  const table = tables.get(app as object)
  if (table === undefined) return rows
  return attachBodies(rows, table.keys(), (key) => table.get(key), (key) =>
    key.endsWith(NO_ROUTE) ? 'no route: no route takes this method and path (or one inside a sub-app)' : 'a route the report cannot list',
  )
}

function walk(router: RouterLike, prefix: string, scope: Scope, rows: RouteReport[], inside: Set<RouterLike>): void {
  if (inside.has(router)) return // mounted inside itself
  inside.add(router)
  let current = scope
  for (const layer of router.stack) {
    const route = layer.route
    if (route !== undefined && route !== null) {
      for (const path of paths(route.path)) addRoute(route, joinRoute(prefix, path), current, rows)
      continue
    }
    const handle = layer.handle
    if (handle.length === 4) continue // error handler
    const options = shimOptionsOf(handle)
    if (options !== undefined) {
      if (current.shim === undefined) current = { ...current, shim: createShim(options as ShimOptions), shimOptions: options as ShimOptions }
      continue
    }
    const marker = getMarker(handle)
    for (const mount of mountPaths(layer)) {
      const mountPath = joinMount(prefix, mount)
      if (isRouter(handle)) walk(handle as RouterLike, mountPath, { ...current, inherited: marker ?? current.inherited }, rows, inside)
      else if (isApp(handle)) walk(rootRouter(handle as never) as RouterLike, mountPath, current, rows, inside)
      else if (isOpaqueMount(handle)) rows.push({ method: 'ALL', path: `${mountPath}/*`, mode: 'unknown', reason: handle.name === 'vhost' ? VHOST : SUB_APP })
      else if (marker !== undefined) rows.push(row('ALL', mountPath || '/', marker, current))
    }
    if (isBodyParser(handle) && current.parser === undefined) current = { ...current, parser: handle.name }
    else if (REWRITERS.test(handle.name) && current.shim !== undefined && current.rewriter === undefined) current = { ...current, rewriter: handle.name }
  }
  inside.delete(router)
}

function addRoute(route: RouteLike, path: string, scope: Scope, rows: RouteReport[]): void {
  const names = Object.keys(route.methods).filter((name) => route.methods[name] === true)
  // Express 5's app.all() registers every method one by one: one ALL row for them.
  const all = EVERY_METHOD.every((name) => names.includes(name))
  if (all) rows.push(row('ALL', path, routeMarker(route as never, 'POST') ?? scope.inherited, scope, appParserOf(route, 'POST', 'post', scope)))
  for (const name of names) {
    if (all && EVERY_METHOD.includes(name)) continue
    const method = name === '_all' ? 'ALL' : name.toUpperCase()
    const marker = name === '_all' ? allMarker(route) : routeMarker(route as never, method)
    rows.push(row(method, path, marker ?? scope.inherited, scope, appParserOf(route, method, name, scope)))
  }
}

const EVERY_METHOD = METHODS.map((method) => method.toLowerCase())

function appParserOf(route: RouteLike, method: string, name: string, scope: Scope): string | undefined {
  return scope.parser ?? (routeHasParser(route as never, method) ? parserName(route, name) : undefined)
}

/** The marker on a route's `.all()` handlers. */
function allMarker(route: RouteLike): Marker | undefined {
  for (const layer of route.stack) {
    if (layer.method || layer.handle.length > 3) continue
    const marker = getMarker(layer.handle)
    if (marker !== undefined) return marker
  }
  return undefined
}

function parserName(route: RouteLike, name: string): string {
  return route.stack.find((layer) => (!layer.method || layer.method === name) && isBodyParser(layer.handle))?.handle.name ?? 'parser'
}

function row(method: string, path: string, marker: Marker | undefined, scope: Scope, appParser?: string): RouteReport {
  if (scope.rewriter !== undefined) {
    return {
      method,
      path,
      mode: 'unknown',
      reason: `rewriting middleware: ${scope.rewriter} runs after streamShim() and may send the request elsewhere; mount it before the shim`,
    }
  }
  const shim = scope.shim
  if (marker?.mode === 'streaming') {
    const config = (shim ?? defaultShim()).streamingFor(marker)
    const types = (marker.options as StreamingOptions).types ?? scope.shimOptions?.streaming?.types
    const reason = shim === undefined ? 'no streamShim() in front: the streaming() wrapper sets the stream up itself' : undefined
    return withReason({ method, path, mode: 'streaming', options: streamingOptions(config, types) }, reason)
  }
  if (appParser !== undefined && marker === undefined) {
    return { method, path, mode: 'buffered', reason: `read by the app's own ${appParser}, with its options` }
  }
  if (shim === undefined && marker === undefined) {
    return { method, path, mode: 'buffered', reason: 'no streamShim() in front: stream-shim does not read this body' }
  }
  const parsers = (shim ?? defaultShim()).parsersFor(marker)
  const reason = shim === undefined ? 'no streamShim() in front: the buffered() wrapper reads the body itself' : undefined
  return withReason({ method, path, mode: 'buffered', options: bufferedOptions(parsers) }, reason)
}

function withReason(report: RouteReport, reason: string | undefined): RouteReport {
  if (reason !== undefined) report.reason = reason
  return report
}

let fallbackShim: Shim | undefined
function defaultShim(): Shim {
  return (fallbackShim ??= createShim())
}

/** A route's path patterns as text: one per entry of an array path. */
function paths(path: unknown): string[] {
  if (Array.isArray(path)) return path.flatMap(paths)
  return [patternText(path) ?? String(path)]
}

/** The path patterns a middleware layer is mounted at: router 2.3 keeps it, Express 4 only as a regexp. */
function mountPaths(layer: LayerLike): string[] {
  if (layer.rawPath !== undefined) return paths(layer.rawPath)
  const regexp = layer.regexp
  if (regexp === undefined) return ['']
  if (regexp.fast_slash === true) return ['']
  return [express4Path(regexp, layer.keys ?? [])]
}

/** The path an Express 4 (path-to-regexp 0.1) mount regexp was made from, or the regexp itself when it is not a plain one. */
function express4Path(regexp: RegExp, keys: { name: string | number }[]): string {
  let index = 0
  const text = regexp.source
    .replace(/^\^/, '')
    .replace(/\\\/\?\(\?=\\\/\|\$\)$/, '')
    .replace(/\(\?:(\\\/)?\(\[\^\\?\/\]\+\?\)\)/g, (_, slash: string | undefined) => `${slash ? '/' : ''}:${keys[index++]?.name ?? index}`)
    .replace(/\\([/.-])/g, '$1')
  return /[\\()[\]?*+^$|]/.test(text) ? String(regexp) : text
}

function joinMount(prefix: string, mount: string): string {
  return prefix + (mount === '/' ? '' : mount.replace(/\/+$/, ''))
}

function joinRoute(prefix: string, path: string): string {
  if (prefix === '') return path
  return path === '/' ? prefix : prefix + path
}

// The body record.

const tables = new WeakMap<object, BodyRecordTable>()
const NO_ROUTE = ' (no route)'
let resolveFull: ((req: never) => { path: string } | undefined) | undefined

function expressKeyer(req: IncomingMessage): RecordTarget | undefined {
  const app = (req as { app?: unknown }).app
  if (typeof app !== 'function') return undefined
  const table = tables.get(app)
  if (table === undefined) return undefined
  resolveFull ??= createRouteResolver()
  const decision = resolveFull(req as never)
  return { table, key: decision === undefined ? `${req.method}${NO_ROUTE}` : `${req.method} ${decision.path}` }
}

/**
 * Keep, while the app runs, a record per route of the buffered bodies that
 * arrived: count, largest and 95th-percentile size, time spent buffering,
 * 413s. `describeRoutes(app)` then reports it with each route. For
 * development: in production (`NODE_ENV=production`) nothing is recorded and
 * this returns false. Memory stays bounded (at most 1000 routes, 512 samples
 * each for the percentiles).
 *
 * @example
 * if (recordBodies(app)) process.on('SIGINT', () => { console.log(formatRoutes(describeRoutes(app))); process.exit() })
 */
export function recordBodies(app: unknown): boolean {
  if (typeof app !== 'function' || !isApp(app as Handle)) throw new TypeError('recordBodies() needs an express() app')
  if (!recordingAllowed()) return false
  if (!tables.has(app)) tables.set(app, new BodyRecordTable())
  addRouteKeyer(expressKeyer)
  return true
}
