import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express'
import request from 'supertest'
import { Pool } from 'undici'
import { setMarker, type Marker } from '../../lib/markers.js'
import { createRouteResolver, fingerprint, segmentHash, type RouteResolver } from '../../adapters/express/route-lookup.js'

// Express 4 is installed under an npm alias; its API is the same for what these tests use.
const express4: typeof express = require('express4')

const streamingMarker: Marker = { mode: 'streaming', options: {} }
const bufferedMarker: Marker = { mode: 'buffered', options: {} }

interface Prediction {
  mode: string | null
  path: string
}

/** A route handler that reports that it ran, and what the first middleware predicted. */
function respond(id: string): RequestHandler {
  return function respondWithId(req: Request, res: Response): void {
    res.setHeader('x-ran', id)
    res.json({ ran: id, predicted: res.locals.predicted })
  }
}

function streamingRoute(id: string): RequestHandler {
  return setMarker(respond(id), streamingMarker)
}

function bufferedRoute(id: string): RequestHandler {
  return setMarker(respond(id), bufferedMarker)
}

/** Requests where `markedRoute()` (the shim's shortcut) disagreed with the full lookup: must stay empty. */
const disagreements: string[] = []

/** Mounted first: asks the resolver, keeps the decision on `res.locals` and in a header (seen even on a 404). */
function predictFirst(resolve: RouteResolver): RequestHandler {
  const shortcut = createRouteResolver() // its own cache: markedRoute() answers from a cold start
  return function predictRoute(req: Request, res: Response, next: NextFunction): void {
    const decision = resolve(req)
    // The shim's part of the full decision: a marker, or a parser of the app's own.
    const expected = decision !== undefined && (decision.marker !== undefined || decision.appParses) ? decision : undefined
    for (const marked of [shortcut.markedRoute(req), resolve.markedRoute(req)]) {
      if (marked?.unseen === true) {
        if (decision !== undefined) disagreements.push(`${req.method} ${req.originalUrl}`)
      } else if (marked?.marker !== expected?.marker || marked?.appParses !== expected?.appParses || marked?.path !== expected?.path) {
        disagreements.push(`${req.method} ${req.originalUrl}`)
      }
    }
    const predicted: Prediction | null =
      decision === undefined ? null : { mode: decision.marker?.mode ?? null, path: decision.path }
    res.locals.decision = decision
    res.locals.predicted = predicted
    res.setHeader('x-predicted', JSON.stringify(predicted))
    next()
  }
}

/** What ran (the `x-ran` header, so HEAD works too) and what was predicted. */
function outcome(res: { headers: Record<string, unknown> }): { ran: string | null; predicted: Prediction | null } {
  const ran = res.headers['x-ran']
  return {
    ran: typeof ran === 'string' ? ran : null,
    predicted: JSON.parse(String(res.headers['x-predicted'])) as Prediction | null,
  }
}

async function listen(app: Express): Promise<http.Server> {
  const server = http.createServer(app)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

async function close(server: http.Server | undefined): Promise<void> {
  if (server === undefined) return
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

function rootRouterOf(app: unknown): { stack: unknown[] } {
  const legacy = (app as { _router?: { stack: unknown[] } })._router
  return legacy ?? (app as { router: { stack: unknown[] } }).router
}

/** Every layer in the router tree, with its own fields, to compare by identity before and after a lookup. */
function snapshotTree(router: { stack: unknown[] }, into: [object, string, unknown][] = []): [object, string, unknown][] {
  for (const layer of router.stack as Record<string, unknown>[]) {
    for (const field of Object.getOwnPropertyNames(layer)) into.push([layer, field, layer[field]])
    const route = layer.route as { stack: Record<string, unknown>[] } | undefined
    if (route) {
      for (const handlerLayer of route.stack) {
        for (const field of Object.getOwnPropertyNames(handlerLayer)) into.push([handlerLayer, field, handlerLayer[field]])
      }
    }
    const handle = layer.handle as { stack?: unknown }
    if (Array.isArray(handle.stack)) snapshotTree(handle as { stack: unknown[] }, into)
  }
  return into
}

function sameSnapshot(a: [object, string, unknown][], b: [object, string, unknown][]): boolean {
  return a.length === b.length && a.every(([obj, field, value], i) => b[i][0] === obj && b[i][1] === field && Object.is(b[i][2], value))
}

afterEach(() => {
  // Emptied here, so that one test's disagreement does not fail the tests after it.
  expect(disagreements.splice(0)).toEqual([])
})

describe.each([
  { name: 'Express 4', x: express4, v4: true },
  { name: 'Express 5', x: express, v4: false },
])('createRouteResolver on $name', ({ x, v4 }) => {
  /** One app with every route shape; `first` is the middleware mounted first. */
  function buildApp(first: RequestHandler): Express {
    const app = x()
    app.use(first)
    app.use(function plainMiddleware(req: Request, res: Response, next: NextFunction) {
      next()
    })
    app.use(
      setMarker(function markedErrorHandler(err: unknown, req: Request, res: Response, next: NextFunction) {
        next(err)
      }, streamingMarker),
    )

    app.post('/plain', respond('plain'))
    app.post('/upload', streamingRoute('upload'))
    app.post('/guarded', function auth(req: Request, res: Response, next: NextFunction) {
      next()
    }, streamingRoute('guarded'))
    app.route('/doc').get(respond('doc-get')).post(streamingRoute('doc-post'))
    app.get('/items/:id', bufferedRoute('item-get'))
    app.put('/items/:id', streamingRoute('item-put'))
    app.post(/^\/re\/\d+$/, streamingRoute('regex'))
    app.post(v4 ? '/files/*' : '/files/*splat', streamingRoute('files'))
    app.all('/any', streamingRoute('any'))
    app.use('/hook', setMarker(respond('hook'), streamingMarker))

    const v1 = x.Router()
    v1.post('/files/:name', streamingRoute('v1-file'))
    v1.get('/status', respond('v1-status'))
    const api = x.Router()
    api.use('/v1', v1)
    api.post('/echo', respond('api-echo'))
    app.use('/api', api)
    app.post('/api/after', respond('after-api'))

    const up = setMarker(x.Router(), streamingMarker)
    up.post('/raw', respond('up-raw'))
    up.post('/form', bufferedRoute('up-form'))
    const deep = x.Router()
    deep.post('/leaf', respond('up-deep-leaf'))
    up.use('/deep', deep)
    app.use('/up', up)

    const userPosts = x.Router({ mergeParams: true })
    userPosts.post('/posts', setMarker(function userPost(req: Request, res: Response) {
      respond(`user-post:${String(req.params.uid)}`)(req, res, () => {})
    }, streamingMarker))
    app.use('/users/:uid', userPosts)

    const strict = x.Router({ caseSensitive: true, strict: true })
    strict.post('/Exact/', streamingRoute('strict'))
    app.use('/strict', strict)
    app.post('/mixedcase', streamingRoute('insensitive'))

    const sub = x()
    sub.post('/x', streamingRoute('sub-x'))
    app.use('/sub', sub)

    const subWithResolver = x()
    subWithResolver.use(predictFirst(createRouteResolver()))
    subWithResolver.post('/x', streamingRoute('sub-resolved-x'))
    app.use('/subapp', subWithResolver)

    const direct = x()
    direct.post('/x', streamingRoute('direct-x'))
    const holder = x.Router()
    holder.use('/direct', direct)
    app.use(holder)
    return app
  }

  let server: http.Server | undefined
  beforeAll(async () => {
    server = await listen(buildApp(predictFirst(createRouteResolver())))
  })
  afterAll(() => close(server))

  async function post(path: string) {
    return outcome(await request(server!).post(path))
  }

  describe('with plain routes', () => {
    it('finds an unmarked route and reports no marker', async () => {
      expect(await post('/plain')).toEqual({ ran: 'plain', predicted: { mode: null, path: '/plain' } })
    })

    it('returns the marker of a marked route', async () => {
      expect(await post('/upload')).toEqual({ ran: 'upload', predicted: { mode: 'streaming', path: '/upload' } })
    })

    it('ignores the query string', async () => {
      expect(await post('/upload?name=a.txt&x=1')).toEqual({
        ran: 'upload',
        predicted: { mode: 'streaming', path: '/upload' },
      })
    })

    it('skips a marked error handler ahead of the routes', async () => {
      expect((await post('/plain')).predicted).toEqual({ mode: null, path: '/plain' })
    })

    it('finds the marked handler behind an unmarked one on the same route', async () => {
      expect(await post('/guarded')).toEqual({ ran: 'guarded', predicted: { mode: 'streaming', path: '/guarded' } })
    })

    it('picks the handler for the method on app.route()', async () => {
      expect(outcome(await request(server!).get('/doc'))).toEqual({ ran: 'doc-get', predicted: { mode: null, path: '/doc' } })
      expect(await post('/doc')).toEqual({ ran: 'doc-post', predicted: { mode: 'streaming', path: '/doc' } })
    })

    it('matches route params', async () => {
      expect(outcome(await request(server!).put('/items/42'))).toEqual({
        ran: 'item-put',
        predicted: { mode: 'streaming', path: '/items/:id' },
      })
    })

    it('answers HEAD with the GET route', async () => {
      expect(outcome(await request(server!).head('/items/42'))).toEqual({
        ran: 'item-get',
        predicted: { mode: 'buffered', path: '/items/:id' },
      })
    })

    it('matches a regular-expression route', async () => {
      expect(await post('/re/123')).toEqual({ ran: 'regex', predicted: { mode: 'streaming', path: String(/^\/re\/\d+$/) } })
    })

    it('matches a wildcard route', async () => {
      expect(await post('/files/a/b.txt')).toEqual({
        ran: 'files',
        predicted: { mode: 'streaming', path: v4 ? '/files/*' : '/files/*splat' },
      })
    })

    it('matches router.all() for any method', async () => {
      expect(outcome(await request(server!).patch('/any'))).toEqual({ ran: 'any', predicted: { mode: 'streaming', path: '/any' } })
      expect(await post('/any')).toEqual({ ran: 'any', predicted: { mode: 'streaming', path: '/any' } })
    })

    it('treats a marked app.use(path, fn) middleware as the handler', async () => {
      expect(await post('/hook/some/thing')).toEqual({ ran: 'hook', predicted: { mode: 'streaming', path: '/hook' } })
    })

    it('matches case-insensitively by default', async () => {
      expect(await post('/MixedCase')).toEqual({
        ran: 'insensitive',
        predicted: { mode: 'streaming', path: '/mixedcase' },
      })
    })
  })

  describe('with nested routers', () => {
    it('finds a route two routers deep and joins the mount paths', async () => {
      expect(await post('/api/v1/files/report.pdf')).toEqual({
        ran: 'v1-file',
        predicted: { mode: 'streaming', path: '/api/v1/files/:name' },
      })
    })

    it('goes on with the parent stack when a matched router has no route', async () => {
      expect(await post('/api/after')).toEqual({ ran: 'after-api', predicted: { mode: null, path: '/api/after' } })
    })

    it("gives a marked router's marker to its unmarked routes, nested ones included", async () => {
      expect(await post('/up/raw')).toEqual({ ran: 'up-raw', predicted: { mode: 'streaming', path: '/up/raw' } })
      expect(await post('/up/deep/leaf')).toEqual({
        ran: 'up-deep-leaf',
        predicted: { mode: 'streaming', path: '/up/deep/leaf' },
      })
    })

    it("lets a route's own marker win over its router's", async () => {
      expect(await post('/up/form')).toEqual({ ran: 'up-form', predicted: { mode: 'buffered', path: '/up/form' } })
    })

    it('follows a mergeParams router mounted under a param', async () => {
      expect(await post('/users/7/posts')).toEqual({
        ran: 'user-post:7',
        // Express 4 layers keep no source pattern for mount paths: the matched text stands in
        predicted: { mode: 'streaming', path: v4 ? '/users/7/posts' : '/users/:uid/posts' },
      })
    })

    it('honours a case-sensitive, strict router', async () => {
      expect(await post('/strict/Exact/')).toEqual({ ran: 'strict', predicted: { mode: 'streaming', path: '/strict/Exact/' } })
      expect(await post('/strict/exact/')).toEqual({ ran: null, predicted: null })
      expect(await post('/strict/Exact')).toEqual({ ran: null, predicted: null })
    })
  })

  describe('when it cannot tell', () => {
    it('returns undefined for an unknown path', async () => {
      const res = await request(server!).post('/nowhere')
      expect(res.status).toBe(404)
      expect(outcome(res)).toEqual({ ran: null, predicted: null })
    })

    it('returns undefined for a known path without a handler for the method', async () => {
      const res = await request(server!).delete('/upload')
      expect(res.status).toBe(404)
      expect(outcome(res)).toEqual({ ran: null, predicted: null })
    })

    it('returns undefined when a mounted sub-app comes first', async () => {
      expect(await post('/sub/x')).toEqual({ ran: 'sub-x', predicted: null })
    })

    it('returns undefined for a path Express rejects as badly percent-encoded', async () => {
      const res = await request(server!).get('/items/%E0%A4%A')
      expect(res.status).toBe(400)
      expect(outcome(res)).toEqual({ ran: null, predicted: null })
    })
  })

  describe('with a sub-app mounted by router.use()', () => {
    it('looks into it, since the layer holds the app itself', async () => {
      expect(await post('/direct/x')).toEqual({ ran: 'direct-x', predicted: { mode: 'streaming', path: '/direct/x' } })
    })
  })

  describe('inside a sub-app', () => {
    it('resolves against the sub-app, relative to its mount path', async () => {
      expect(await post('/subapp/x')).toEqual({ ran: 'sub-resolved-x', predicted: { mode: 'streaming', path: '/x' } })
    })
  })

  describe('with an absolute-form request target', () => {
    it('uses the path of the URL', async () => {
      const { port } = server!.address() as AddressInfo
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `http://127.0.0.1:${port}/upload?x=1` }, resolve)
        req.on('error', reject)
        req.end()
      })
      res.resume()
      expect(outcome(res)).toEqual({ ran: 'upload', predicted: { mode: 'streaming', path: '/upload' } })
    })
  })

  describe('with a catch-all route', () => {
    it('matches any path', async () => {
      const app = x()
      app.use(predictFirst(createRouteResolver()))
      app.post(v4 ? '*' : '/{*splat}', streamingRoute('catch-all'))
      const catchAll = await listen(app)
      try {
        expect(outcome(await request(catchAll).post('/any/where/at/all'))).toEqual({
          ran: 'catch-all',
          predicted: { mode: 'streaming', path: v4 ? '*' : '/{*splat}' },
        })
      } finally {
        await close(catchAll)
      }
    })
  })

  describe('with routers mounted at plain paths', () => {
    let mounts: http.Server | undefined
    afterEach(() => close(mounts))

    /** An app with a router under `/<segment>` for each segment, each with a streaming `/` and `/up`; posts to it. */
    async function mountedAt(segments: string[], caseSensitive = false) {
      const app = x()
      if (caseSensitive) app.set('case sensitive routing', true)
      app.use(predictFirst(createRouteResolver()))
      for (const segment of segments) {
        const router = x.Router({ caseSensitive })
        router.post('/', streamingRoute(`${segment}-root`))
        router.post('/up', streamingRoute(segment))
        app.use(`/${segment}`, router)
      }
      mounts = await listen(app)
      return async (path: string) => outcome(await request(mounts!).post(path))
    }

    it('matches a mount path in any case, as the router does', async () => {
      const post = await mountedAt(['Api'])
      for (const path of ['/Api/up', '/api/up', '/API/up']) {
        // Express 4 keeps no source pattern for mount paths: the matched text stands in
        expect(await post(path)).toEqual({ ran: 'Api', predicted: { mode: 'streaming', path: v4 ? path : '/Api/up' } })
      }
      for (const path of ['/Api', '/Api/', '/api/']) {
        expect(await post(path)).toMatchObject({ ran: 'Api-root', predicted: { mode: 'streaming' } })
      }
    })

    it('honours a case-sensitive app at mount paths', async () => {
      const post = await mountedAt(['Api'], true)
      expect(await post('/Api/up')).toEqual({ ran: 'Api', predicted: { mode: 'streaming', path: '/Api/up' } })
      expect(await post('/api/up')).toEqual({ ran: null, predicted: null })
    })

    it('tells apart mount paths where one begins the other', async () => {
      const post = await mountedAt(['ap', 'api'])
      expect(await post('/api/up')).toMatchObject({ ran: 'api', predicted: { path: '/api/up' } })
      expect(await post('/ap/up')).toMatchObject({ ran: 'ap', predicted: { path: '/ap/up' } })
      expect(await post('/apix/up')).toEqual({ ran: null, predicted: null })
      expect(await post('/ap.i/up')).toEqual({ ran: null, predicted: null })
    })

    it('tells apart mount paths whose first segments share an index hash', async () => {
      const seen = new Map<number, string>()
      let pair: [string, string] | undefined
      for (let n = 0; pair === undefined; n++) {
        const segment = `s${n.toString(36)}`
        const hash = segmentHash(`/${segment}`, 1)
        const other = seen.get(hash)
        if (other !== undefined) pair = [other, segment]
        else seen.set(hash, segment)
      }
      const [first, second] = pair
      expect(segmentHash(`/${first}/up`, 1)).toBe(segmentHash(`/${second.toUpperCase()}`, 1))
      const post = await mountedAt([first, second])
      expect(await post(`/${first}/up`)).toMatchObject({ ran: first, predicted: { mode: 'streaming', path: `/${first}/up` } })
      expect(await post(`/${second}/up`)).toMatchObject({ ran: second, predicted: { mode: 'streaming', path: `/${second}/up` } })
      expect(await post(`/${second}x/up`)).toEqual({ ran: null, predicted: null })
    })
  })

  describe('on a path asked for the first time, where the shim asks only whether the route matters to it', () => {
    let ownServer: http.Server | undefined
    afterEach(() => close(ownServer))

    // `predictFirst()` compares a cold resolver's `markedRoute()` with the full lookup on every request.
    async function postTo(setup: (app: Express) => void, path: string) {
      const app = x()
      app.use(predictFirst(createRouteResolver()))
      setup(app)
      ownServer = await listen(app)
      return outcome(await request(ownServer).post(path))
    }

    /** Middleware named as body-parser's JSON parser (the lookup knows parsers by name) that reads nothing. */
    function jsonParser(req: Request, res: Response, next: NextFunction): void {
      next()
    }

    it('finds a marked route after an unmarked one that shares its first segment', async () => {
      const found = await postTo((app) => {
        app.post('/up/:id', respond('up'))
        app.post('/up/:id/raw', streamingRoute('up-raw'))
      }, '/up/1/raw')
      expect(found).toEqual({ ran: 'up-raw', predicted: { mode: 'streaming', path: '/up/:id/raw' } })
    })

    it('finds a marked route in the app after a router whose unmarked route does not match', async () => {
      const found = await postTo((app) => {
        const api = x.Router()
        api.post('/x/:id', respond('api-x'))
        app.use('/api', api)
        app.post('/api/x/:id/raw', streamingRoute('x-raw'))
      }, '/api/x/1/raw')
      expect(found).toEqual({ ran: 'x-raw', predicted: { mode: 'streaming', path: '/api/x/:id/raw' } })
    })

    it('finds an unmarked route in a marked router, the router\'s marker applying', async () => {
      const found = await postTo((app) => {
        const up = setMarker(x.Router(), streamingMarker)
        up.post('/raw/:id', respond('up-raw'))
        app.use('/up', up)
      }, '/up/raw/1')
      expect(found).toEqual({ ran: 'up-raw', predicted: { mode: 'streaming', path: '/up/raw/:id' } })
    })

    it('sees a marked handler swapped in place into an unmarked route, on the next new path', async () => {
      const app = x()
      app.use(predictFirst(createRouteResolver()))
      const items = app.route('/items/:id').post(respond('items'))
      const spare = x.Router()
      spare.post('/spare', streamingRoute('swapped')) // marked before the first lookup: no marker is set after it
      ownServer = await listen(app)
      const before = outcome(await request(ownServer).post('/items/1'))
      ;(items as unknown as { stack: unknown[] }).stack[0] = (spare.stack[0] as unknown as { route: { stack: unknown[] } }).route.stack[0]
      const after = outcome(await request(ownServer).post('/items/2'))
      expect(before).toEqual({ ran: 'items', predicted: { mode: null, path: '/items/:id' } })
      expect(after).toEqual({ ran: 'swapped', predicted: { mode: 'streaming', path: '/items/:id' } })
    })

    it('tells of a parser of the app\'s own before an unmarked route, in front of it or after a router', async () => {
      const inFront = await postTo((app) => {
        app.use(jsonParser)
        app.post('/p/:id', respond('p'))
      }, '/p/1')
      expect(inFront).toEqual({ ran: 'p', predicted: { mode: null, path: '/p/:id' } })
      await close(ownServer)
      const afterRouter = await postTo((app) => {
        const api = x.Router()
        api.post('/y/:id', respond('api-y'))
        app.use('/api', api)
        app.use(jsonParser)
        app.post('/api/y', respond('y'))
      }, '/api/y')
      expect(afterRouter).toEqual({ ran: 'y', predicted: { mode: null, path: '/api/y' } })
    })
  })

  describe('when routes change after the first request', () => {
    let lateServer: http.Server | undefined
    afterEach(() => close(lateServer))

    /** An app whose lookups for `path` are cached (one request made), then `change` applied. */
    async function changeAfterFirstRequest(setup: (app: Express) => () => void, path: string) {
      const app = x()
      app.use(predictFirst(createRouteResolver()))
      const change = setup(app)
      lateServer = await listen(app)
      const before = outcome(await request(lateServer).post(path))
      change()
      return { before, after: outcome(await request(lateServer).post(path)) }
    }

    it('sees a route added to the app', async () => {
      const { before, after } = await changeAfterFirstRequest((app) => {
        app.post('/early', respond('early'))
        return () => app.post('/top', streamingRoute('top'))
      }, '/top')
      expect(before).toEqual({ ran: null, predicted: null })
      expect(after).toEqual({ ran: 'top', predicted: { mode: 'streaming', path: '/top' } })
    })

    it('sees a route added to a nested router', async () => {
      const { before, after } = await changeAfterFirstRequest((app) => {
        const late = x.Router()
        app.use('/late', late)
        return () => late.post('/x', streamingRoute('late-x'))
      }, '/late/x')
      expect(before).toEqual({ ran: null, predicted: null })
      expect(after).toEqual({ ran: 'late-x', predicted: { mode: 'streaming', path: '/late/x' } })
    })

    it('sees a marked route added to an app of 1000 routes, where the lookup walks instead of checking the whole app', async () => {
      const { before, after } = await changeAfterFirstRequest((app) => {
        const groups = Array.from({ length: 100 }, (_, g) => {
          const group = x.Router()
          for (let r = 0; r < 10; r++) group.post(`/r${r}/:id`, respond(`g${g}.r${r}`))
          app.use(`/g${g}`, group)
          return group
        })
        return () => groups[57].post('/late/:id', streamingRoute('late'))
      }, '/g57/late/1')
      expect(before).toEqual({ ran: null, predicted: null })
      expect(after).toEqual({ ran: 'late', predicted: { mode: 'streaming', path: '/g57/late/:id' } })
    })

    it('sees a layer replaced in place in a router of many, where only the new layer matches the path', async () => {
      const app = x()
      app.use(predictFirst(createRouteResolver()))
      const groups = Array.from({ length: 100 }, (_, g) => {
        const group = x.Router()
        for (let r = 0; r < 10; r++) group.post(`/r${r}/:id`, respond(`g${g}.r${r}`))
        app.use(`/g${g}`, group)
        return group
      })
      lateServer = await listen(app)
      const before = outcome(await request(lateServer).post('/g57/new/1'))
      const replacement = x.Router()
      replacement.post('/new/:id', streamingRoute('new'))
      groups[57].stack[3] = replacement.stack[0]
      const after = outcome(await request(lateServer).post('/g57/new/2')) // another path: no cached decision
      expect(before).toEqual({ ran: null, predicted: null })
      expect(after).toEqual({ ran: 'new', predicted: { mode: 'streaming', path: '/g57/new/:id' } })
    })

    it('sees a marker put on mounted middleware after the first request', async () => {
      const upload = respond('upload')
      const { before, after } = await changeAfterFirstRequest((app) => {
        app.use('/upload', upload)
        return () => setMarker(upload, streamingMarker)
      }, '/upload')
      expect(before).toEqual({ ran: 'upload', predicted: null })
      expect(after).toEqual({ ran: 'upload', predicted: { mode: 'streaming', path: '/upload' } })
    })

    it('sees a handler added to an existing route', async () => {
      const { before, after } = await changeAfterFirstRequest((app) => {
        const grow = app.route('/grow').get(respond('grow-get'))
        return () => grow.post(streamingRoute('grow-post'))
      }, '/grow')
      expect(before).toEqual({ ran: null, predicted: null })
      expect(after).toEqual({ ran: 'grow-post', predicted: { mode: 'streaming', path: '/grow' } })
    })
  })

  describe('with many distinct URLs', () => {
    let cacheServer: http.Server | undefined
    let pool: Pool | undefined
    afterEach(async () => {
      await pool?.close()
      await close(cacheServer)
    })

    async function sendDistinct(resolver: RouteResolver, count: number): Promise<void> {
      const app = x()
      app.use(predictFirst(resolver))
      app.post('/items/:id', streamingRoute('item'))
      cacheServer = await listen(app)
      const { port } = cacheServer.address() as AddressInfo
      pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8 })
      for (let start = 0; start < count; start += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, count - start) }, async (_, i) => {
            const res = await pool!.request({ method: 'POST', path: `/items/${start + i}` })
            expect(res.statusCode).toBe(200)
            await res.body.dump()
          }),
        )
      }
    }

    it('caches a decision the second time its path misses, so that paths asked for once take no room', async () => {
      const resolver = createRouteResolver()
      const app = x()
      app.use((req: Request, _res: Response, next: NextFunction) => {
        resolver.markedRoute(req)
        next()
      })
      app.post('/items/:id', streamingRoute('item'))
      cacheServer = await listen(app)
      const counts: number[] = []
      for (const id of [1, 2, 3, 4, 5, 3, 3, 6]) {
        const res = await request(cacheServer).post(`/items/${id}`)
        expect(res.headers['x-ran']).toBe('item')
        counts.push(resolver.cachedCount)
      }
      expect(counts).toEqual([0, 0, 0, 0, 0, 1, 1, 1])
    })

    it('tells apart two paths whose lookups hash alike, cached or not', async () => {
      // The cache notes lookups by a hash; two paths to different routes with
      // the same hash (found here) must still get each their own decision.
      const byHash = new Map<number, string>()
      for (let n = 0; n < 1 << 16; n++) byHash.set(fingerprint(0, 'POST', `/s/${n}`), `/s/${n}`)
      let pair: [string, string] | undefined
      for (let n = 0; pair === undefined; n++) {
        const twin = byHash.get(fingerprint(0, 'POST', `/b/${n}`))
        if (twin !== undefined) pair = [twin, `/b/${n}`]
      }
      const [streamed, plain] = pair
      const resolver = createRouteResolver()
      const app = x()
      app.use((req: Request, res: Response, next: NextFunction) => {
        const decision = resolver(req)
        res.locals.predicted = decision === undefined ? null : { mode: decision.marker?.mode ?? null, path: decision.path }
        next()
      })
      app.post('/s/:id', streamingRoute('s'))
      app.post('/b/:id', respond('b'))
      cacheServer = await listen(app)
      const predictions: unknown[] = []
      for (const path of [streamed, streamed, streamed, plain, plain, plain, streamed]) {
        predictions.push((await request(cacheServer).post(path)).body.predicted)
      }
      const s = { mode: 'streaming', path: '/s/:id' }
      const b = { mode: null, path: '/b/:id' }
      expect(predictions).toEqual([s, s, s, b, b, b, s])
      expect(resolver.cachedCount).toBe(2)
    })

    it('keeps at most 1000 decisions by default', async () => {
      const resolver = createRouteResolver()
      await sendDistinct(resolver, 5000)
      expect(resolver.cachedCount).toBe(1000)
    })

    it('keeps at most cacheSize decisions', async () => {
      const resolver = createRouteResolver({ cacheSize: 10 })
      await sendDistinct(resolver, 50)
      expect(resolver.cachedCount).toBe(10)
    })
  })

  describe('router state', () => {
    it('is the same after a lookup as before, for found, missing and rejected paths', async () => {
      const resolve = createRouteResolver({ cacheSize: 0 })
      const changed: string[] = []
      const app: Express = buildApp(function checkUnchanged(req: Request, res: Response, next: NextFunction) {
        const before = snapshotTree(rootRouterOf(req.app))
        resolve(req)
        if (!sameSnapshot(before, snapshotTree(rootRouterOf(req.app)))) changed.push(req.url)
        next()
      })
      const stateServer = await listen(app)
      try {
        for (const path of ['/api/v1/files/a', '/up/deep/leaf', '/users/7/posts', '/items/%E0%A4%A', '/nowhere', '/sub/x']) {
          await request(stateServer).post(path)
          await request(stateServer).get(path)
        }
      } finally {
        await close(stateServer)
      }
      expect(changed).toEqual([])
    })
  })
})

describe('createRouteResolver options', () => {
  it('throws a TypeError naming cacheSize when it is not a non-negative integer', () => {
    expect(() => createRouteResolver({ cacheSize: -1 })).toThrow(/cacheSize/)
    expect(() => createRouteResolver({ cacheSize: 1.5 })).toThrow(TypeError)
    expect(() => createRouteResolver({ cacheSize: Infinity })).toThrow(TypeError)
  })

  it('takes a very large cacheSize without reserving memory for it up front', () => {
    const resolver = createRouteResolver({ cacheSize: Number.MAX_SAFE_INTEGER })
    expect(resolver.cachedCount).toBe(0)
  })
})
