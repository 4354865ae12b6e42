// The route lookup against Express itself, on random route tables: for every
// request, the route the lookup predicts from method and path must be the one
// Express runs. The tables are drawn from a small alphabet of look-alike
// segments (`g1`, `g17`, `G1`, `x.y`, ...) so that mount paths share
// prefixes, differ in case only, or sit in case-sensitive and strict
// routers; the paths are the routes' own with their params filled in, then
// bent: a letter's case flipped, a segment lengthened, a slash doubled or
// added at the end, a character percent-encoded. A segment may also be text
// with a param glued to it (`/g1:p0`), so that routes whose first segment
// the lookup's index cannot tell sit beside routes it can.
//
// The second property asks the shim's own question (`markedRoute()`) of apps
// where only some routes are marked and body parsers of the app's own sit
// between routes and routers: the answer must be the marked route Express
// runs, or that the app parses the body itself, or nothing.
import express from 'express'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import fc from 'fast-check'
import { Pool } from 'undici'
import { setMarker, type Marker } from '../../lib/markers.js'
import { createRouteResolver } from '../../adapters/express/route-lookup.js'
import { listen } from '../helpers/http.js'

const express4: typeof express = require('express4')

const RUNS = 40
const LITERALS = ['a', 'A', 'ab', 'aB', 'b', 'g1', 'g17', 'G1', 'x.y', 'x-y', '~u', 'api', 'Api']
const METHODS = ['post', 'put', 'all'] as const

/** A segment: a literal, null for a param, or a literal with a param glued to its end. */
type SegmentSpec = string | null | { glued: string }

interface RouteSpec {
  method: (typeof METHODS)[number]
  segments: SegmentSpec[]
}

interface RouterSpec {
  mount: string
  caseSensitive: boolean
  strict: boolean
  routes: RouteSpec[]
}

interface AppSpec {
  routes: RouteSpec[]
  routers: RouterSpec[]
}

const segmentArb: fc.Arbitrary<SegmentSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...LITERALS) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom(...LITERALS).map((glued) => ({ glued })) },
)
const routeArb: fc.Arbitrary<RouteSpec> = fc.record({
  method: fc.constantFrom(...METHODS),
  segments: fc.array(segmentArb, { minLength: 1, maxLength: 3 }),
})
const routerArb: fc.Arbitrary<RouterSpec> = fc.record({
  mount: fc.constantFrom(...LITERALS),
  caseSensitive: fc.boolean(),
  strict: fc.boolean(),
  routes: fc.array(routeArb, { minLength: 1, maxLength: 4 }),
})
const appArb: fc.Arbitrary<AppSpec> = fc.record({
  routes: fc.array(routeArb, { maxLength: 3 }),
  routers: fc.array(routerArb, { minLength: 1, maxLength: 4 }),
})

/** An item of the second property's apps, mounted in order: a route, a router of routes, or a body parser at a path. */
type Item =
  | { kind: 'route'; route: RouteSpec; marked: boolean }
  | { kind: 'router'; mount: string; caseSensitive: boolean; routes: { route: RouteSpec; marked: boolean }[] }
  | { kind: 'parser'; mount: string }

const markedRouteArb = fc.record({ route: routeArb, marked: fc.boolean() })
const itemArb: fc.Arbitrary<Item> = fc.oneof(
  { weight: 3, arbitrary: markedRouteArb.map((r) => ({ kind: 'route' as const, ...r })) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('router' as const),
      mount: fc.constantFrom(...LITERALS),
      caseSensitive: fc.boolean(),
      routes: fc.array(markedRouteArb, { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('parser' as const), mount: fc.constantFrom('', ...LITERALS) }) },
)

type Bend = 'none' | 'flip-case' | 'lengthen' | 'double-slash' | 'trailing-slash' | 'percent'
const bendArb = fc.constantFrom<Bend>('none', 'none', 'flip-case', 'lengthen', 'double-slash', 'trailing-slash', 'percent')

function routePath(route: RouteSpec): string {
  return '/' + route.segments.map((s, i) => (s === null ? `:p${i}` : typeof s === 'string' ? s : `${s.glued}:p${i}`)).join('/')
}

/** A request path for `route` mounted at `mount` (params filled in), bent by `bend` at `at`. */
function requestPath(mount: string, route: RouteSpec, bend: Bend, at: number): string {
  const parts = [...(mount === '' ? [] : [mount]), ...route.segments.map((s, i) => (s === null ? `v${i}` : typeof s === 'string' ? s : `${s.glued}v${i}`))]
  const index = at % parts.length
  const part = parts[index]
  switch (bend) {
    case 'flip-case': {
      const c = part[at % part.length]
      parts[index] = part.replace(c, c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())
      break
    }
    case 'lengthen':
      parts[index] = part + '7'
      break
    case 'double-slash':
      parts[index] = '/' + part
      break
    case 'percent':
      parts[index] = part.replace(part[0], '%' + part.charCodeAt(0).toString(16).toUpperCase())
      break
  }
  return '/' + parts.join('/') + (bend === 'trailing-slash' ? '/' : '')
}

type Ask = [pick: number, method: string, bend: Bend, at: number]
const asksArb: fc.Arbitrary<Ask[]> = fc.array(fc.tuple(fc.nat(), fc.constantFrom('POST', 'PUT', 'PATCH'), bendArb, fc.nat()), { minLength: 4, maxLength: 12 })

/** Serve `app`, send each ask to a path of the route it picks (bent), and hand every answer's headers to `check`. */
async function askAll(
  app: Parameters<typeof listen>[0],
  targets: { mount: string; route: RouteSpec }[],
  asks: Ask[],
  check: (method: string, path: string, headers: Record<string, unknown>) => void,
): Promise<void> {
  const running = await listen(app)
  const pool = new Pool(running.url, { connections: 4 })
  try {
    for (const [pick, method, bend, at] of asks) {
      const { mount, route } = targets[pick % targets.length]
      const path = requestPath(mount, route, bend, at)
      const res = await pool.request({ method, path })
      await res.body.dump()
      check(method, path, res.headers)
    }
  } finally {
    await pool.close()
    await running.close()
  }
}

describe.each([
  { name: 'Express 4', x: express4 },
  { name: 'Express 5', x: express },
])('route lookup on random route tables, $name', ({ x }) => {
  /** The app for `spec`; each route's handler is marked, and answers with its id; the first middleware says what the lookup predicted. */
  function build(spec: AppSpec) {
    const ids = new Map<Marker, string>()
    const route = (target: { [m: string]: unknown }, r: RouteSpec, id: string) => {
      const marker: Marker = { mode: 'streaming', options: {} }
      ids.set(marker, id)
      const handler = setMarker(function ran(req: Request, res: Response) {
        res.setHeader('x-ran', id)
        res.end()
      }, marker)
      ;(target[r.method] as (path: string, h: RequestHandler) => void).call(target, routePath(r), handler)
    }
    const app = x()
    const resolve = createRouteResolver()
    app.use(function predict(req: Request, res: Response, next: NextFunction) {
      const decision = resolve(req)
      const marked = resolve.markedRoute(req)
      res.setHeader('x-predicted', decision?.marker === undefined ? '-' : (ids.get(decision.marker) ?? '?'))
      res.setHeader('x-marked', marked?.marker === undefined ? '-' : (ids.get(marked.marker) ?? '?'))
      next()
    })
    spec.routes.forEach((r, i) => route(app as never, r, `app.${i}`))
    spec.routers.forEach((rs, j) => {
      const router = x.Router({ caseSensitive: rs.caseSensitive, strict: rs.strict })
      rs.routes.forEach((r, i) => route(router as never, r, `r${j}.${i}`))
      app.use('/' + rs.mount, router)
    })
    return app
  }

  it('predicts the route Express runs, for every request', async () => {
    await fc.assert(
      fc.asyncProperty(
        appArb,
        asksArb,
        async (spec, asks) => {
          const targets = [
            ...spec.routes.map((r) => ({ mount: '', route: r })),
            ...spec.routers.flatMap((rs) => rs.routes.map((r) => ({ mount: rs.mount, route: r }))),
          ]
          await askAll(build(spec), targets, asks, (method, path, headers) => {
            const ran = (headers['x-ran'] as string | undefined) ?? '-'
            expect({ method, path, predicted: headers['x-predicted'], marked: headers['x-marked'] }).toEqual({ method, path, predicted: ran, marked: ran })
          })
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    )
  })

  /**
   * The second property's app. Marked routes answer with their id, unmarked
   * ones with `plain`; a parser is a middleware named as body-parser's JSON
   * parser (the lookup knows parsers by name) that only notes it ran. The
   * first middleware asks `markedRoute()` of a resolver of its own.
   */
  function buildMixed(items: Item[]) {
    const ids = new Map<Marker, string>()
    const route = (target: { [m: string]: unknown }, r: RouteSpec, marked: boolean, id: string) => {
      let handler: RequestHandler = function ran(req: Request, res: Response) {
        res.setHeader('x-ran', marked ? id : 'plain')
        res.end()
      }
      if (marked) {
        const marker: Marker = { mode: 'streaming', options: {} }
        ids.set(marker, id)
        handler = setMarker(handler, marker)
      }
      ;(target[r.method] as (path: string, h: RequestHandler) => void).call(target, routePath(r), handler)
    }
    const app = x()
    const resolve = createRouteResolver()
    app.use(function predict(req: Request, res: Response, next: NextFunction) {
      const marked = resolve.markedRoute(req)
      const said = marked === undefined ? '-' : marked.marker !== undefined ? (ids.get(marked.marker) ?? '?') : marked.appParses ? 'parses' : '?'
      res.setHeader('x-marked', said)
      next()
    })
    items.forEach((item, i) => {
      if (item.kind === 'route') route(app as never, item.route, item.marked, `app.${i}`)
      else if (item.kind === 'parser') {
        app.use('/' + item.mount, function jsonParser(req: Request, res: Response, next: NextFunction) {
          res.setHeader('x-parser', 'ran')
          next()
        })
      } else {
        const router = x.Router({ caseSensitive: item.caseSensitive })
        item.routes.forEach((r, j) => route(router as never, r.route, r.marked, `r${i}.${j}`))
        app.use('/' + item.mount, router)
      }
    })
    return app
  }

  it('tells the shim of the marked route Express runs or of the app parsing the body, with unmarked routes and parsers in the way', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(itemArb, { minLength: 1, maxLength: 6 }).filter((items) => items.some((item) => item.kind !== 'parser')),
        asksArb,
        async (items, asks) => {
          const targets = items.flatMap((item) =>
            item.kind === 'route' ? [{ mount: '', route: item.route }] : item.kind === 'router' ? item.routes.map((r) => ({ mount: item.mount, route: r.route })) : [],
          )
          await askAll(buildMixed(items), targets, asks, (method, path, headers) => {
            const ran = (headers['x-ran'] as string | undefined) ?? '-'
            // What the shim must hear: the marked route that ran; else, when
            // a route ran after the app's parser, that the app parses.
            const expected = ran === 'plain' ? (headers['x-parser'] === 'ran' ? 'parses' : '-') : ran
            expect({ method, path, marked: headers['x-marked'] }).toEqual({ method, path, marked: expected })
          })
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    )
  })
})
