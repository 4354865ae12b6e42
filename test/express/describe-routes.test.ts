/**
 * describeRoutes(), recordBodies() and formatRoutes() for Express 4 and 5:
 * the report lists what the lookup sees, and the body record counts what
 * arrives over real sockets.
 */
import vhost from 'vhost'
import { frameworks, listen, type Running } from '../helpers/http.js'
import { buffered, describeRoutes, formatRoutes, recordBodies, streamShim, streaming } from '../../adapters/express/index.js'

function post(url: string, body: string | Buffer, type = 'application/json', method = 'POST'): Promise<Response> {
  return fetch(url, { method, body, headers: { 'content-type': type } })
}

const ok = (_req: any, res: any) => res.status(204).end()

describe.each(frameworks)('describeRoutes() on %s', (name, express) => {
  function buildApp() {
    const app = express()
    app.use(streamShim({ limit: '1mb', streaming: { types: 'application/octet-stream' } }))
    const files = express.Router({ mergeParams: true })
    files.put('/:name', streaming({ limit: '5gb' }, ok))
    files.post('/:name/meta', ok)
    const api = express.Router()
    api.use('/users/:id/files', files)
    api.post('/import', buffered({ limit: '50mb' }, ok))
    app.use('/api', api)
    app.use('/ingest', streaming({ timeout: false }, express.Router().post('/ndjson', ok)))
    const admin = express()
    admin.post('/settings', ok)
    app.use('/admin', admin)
    app.route('/things').get(ok).post(ok)
    app.post('/hook', express.raw({ type: 'application/json' }), ok)
    app.all('/any', ok)
    return { app, admin }
  }

  it('lists nested routes with their full paths, modes and effective options', () => {
    const { app } = buildApp()
    const rows = describeRoutes(app)
    const byKey = Object.fromEntries(rows.map((row) => [`${row.method} ${row.path}`, row]))
    expect(Object.keys(byKey)).toEqual([
      'PUT /api/users/:id/files/:name',
      'POST /api/users/:id/files/:name/meta',
      'POST /api/import',
      'POST /ingest/ndjson',
      'ALL /admin/*',
      'GET /things',
      'POST /things',
      'POST /hook',
      'ALL /any',
    ])
    expect(byKey['PUT /api/users/:id/files/:name']).toEqual({
      method: 'PUT',
      path: '/api/users/:id/files/:name',
      mode: 'streaming',
      options: { limit: 5 * 1024 ** 3, types: ['application/octet-stream'], timeout: 30000 },
    })
    expect(byKey['POST /ingest/ndjson'].options).toEqual({ limit: 1024 ** 3, types: ['application/octet-stream'], timeout: false })
    expect(byKey['POST /api/users/:id/files/:name/meta'].mode).toBe('buffered')
    expect(byKey['POST /api/users/:id/files/:name/meta'].options).toMatchObject({ limit: 1024 * 1024, types: ['json', 'urlencoded', 'text'] })
    expect(byKey['POST /api/import'].options!.limit).toBe(50 * 1024 * 1024)
    expect(byKey['POST /api/import'].options!.parsers!.map((p) => p.kind)).toEqual(['json', 'urlencoded', 'text'])
    expect(byKey['ALL /admin/*']).toMatchObject({ mode: 'unknown', reason: expect.stringMatching(/^sub-app/) })
    expect(byKey['POST /hook']).toMatchObject({ mode: 'buffered', reason: expect.stringContaining('rawParser') })
    expect(byKey['POST /hook'].options).toBeUndefined()
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows)
  })

  it("lists a sub-app's routes under its mount path when asked for the sub-app", () => {
    const { admin } = buildApp()
    expect(describeRoutes(admin)).toEqual([
      { method: 'POST', path: '/admin/settings', mode: 'buffered', reason: expect.stringMatching(/no streamShim\(\) in front/) },
    ])
  })

  it('says unknown for routes behind middleware after the shim that rewrites the method', () => {
    const app = express()
    app.use(streamShim())
    app.use(function methodOverride(_req: any, _res: any, next: any) {
      next()
    })
    app.put('/doc', streaming(ok))
    expect(describeRoutes(app)).toEqual([
      { method: 'PUT', path: '/doc', mode: 'unknown', reason: expect.stringContaining('rewriting middleware: methodOverride') },
    ])
  })

  it('says unknown for the apps behind vhost', () => {
    const app = express()
    app.use(streamShim())
    const tenant = express.Router()
    tenant.post('/upload', streaming(ok))
    app.use(vhost('*.example.com', tenant))
    expect(describeRoutes(app)).toEqual([{ method: 'ALL', path: '/*', mode: 'unknown', reason: expect.stringContaining('vhost') }])
  })

  it('reports an unlimited streaming route with a null limit', () => {
    const app = express()
    app.use(streamShim())
    app.put('/big', streaming({ limit: Infinity }, ok))
    expect(describeRoutes(app)[0].options).toEqual({ limit: null, types: null, timeout: 30000 })
  })

  it('throws a TypeError for something that is not an app', () => {
    expect(() => describeRoutes({})).toThrow(TypeError)
    expect(() => recordBodies(express.Router())).toThrow(TypeError)
  })

  describe('with recordBodies()', () => {
    let running: Running
    afterEach(() => running?.close())

    it('records count, largest and p95 size, buffering time and 413s per route, over real sockets', async () => {
      const app = express()
      app.use(streamShim({ limit: '64kb' }))
      const api = express.Router()
      api.post('/items', (req: any, res: any) => res.json({ n: req.body.length }))
      app.use('/api', api)
      app.put('/files/:name', streaming(async (req: any, res: any) => {
        for await (const _chunk of req.bodyStream) void _chunk
        res.status(201).end()
      }))
      app.use((err: any, _req: any, res: any, _next: any) => res.status(err.status ?? 500).json({ type: err.type }))
      expect(recordBodies(app)).toBe(true)
      running = await listen(app)

      for (let kb = 1; kb <= 20; kb++) {
        const res = await post(`${running.url}/api/items`, JSON.stringify(['x'.repeat(kb * 1024 - 4)]))
        expect(res.status).toBe(200)
      }
      const tooLarge = await post(`${running.url}/api/items`, JSON.stringify(['x'.repeat(100 * 1024)]))
      expect(tooLarge.status).toBe(413)
      const bad = await post(`${running.url}/api/items`, '{"broken')
      expect(bad.status).toBe(400)
      expect((await post(`${running.url}/files/a`, Buffer.alloc(300 * 1024), 'application/octet-stream', 'PUT')).status).toBe(201)
      expect((await post(`${running.url}/nowhere`, '{}')).status).toBe(404)

      const rows = describeRoutes(app)
      const items = rows.find((row) => row.path === '/api/items')!
      expect(items.bodies).toEqual({
        count: 20,
        maxBytes: 20 * 1024,
        p95Bytes: 19 * 1024,
        totalMs: expect.any(Number),
        p95Ms: expect.any(Number),
        tooLarge: 1,
        failed: { 'entity.parse.failed': 1 },
      })
      expect(items.bodies!.totalMs).toBeGreaterThan(0)
      // Streaming bodies are not buffered: nothing recorded there.
      expect(rows.find((row) => row.path === '/files/:name')!.bodies).toBeUndefined()
      expect(rows.find((row) => row.method === 'POST' && row.path === '(no route)')).toMatchObject({
        mode: 'unknown',
        reason: expect.stringMatching(/^no route/),
        bodies: { count: 1, maxBytes: 2 },
      })

      const table = formatRoutes(rows)
      expect(table).toMatch(/^METHOD +PATH +MODE +LIMIT +TYPES +TIMEOUT +BODIES +MAX +P95 +BUFFER MS +P95 MS +413 +NOTE$/m)
      expect(table).toMatch(/^POST +\/api\/items +buffered +64 KB +json,urlencoded,text +30000 ms +20 +20 KB +19 KB .* 1 +candidate to stream/m)
      expect(table).toContain('Candidates to stream (413s, or a body of 1 MiB or more): POST /api/items')
    })

    it('records under the route pattern, nested routers and params included, and an app.all() route per method', async () => {
      const app = express()
      app.use(streamShim())
      const files = express.Router({ mergeParams: true })
      files.post('/:name/meta', ok)
      app.use('/users', express.Router().use('/files', files))
      app.all('/any', ok)
      recordBodies(app)
      running = await listen(app)
      for (const user of ['a', 'b', 'c']) expect((await post(`${running.url}/users/files/${user}/meta`, '{}')).status).toBe(204)
      expect((await post(`${running.url}/any`, 'hello', 'text/plain', 'PATCH')).status).toBe(204)
      const rows = describeRoutes(app)
      expect(rows.find((row) => row.path === '/users/files/:name/meta')!.bodies!.count).toBe(3)
      expect(rows.find((row) => row.method === 'PATCH' && row.path === '/any')).toMatchObject({ mode: 'buffered', bodies: { count: 1, maxBytes: 5 } })
    })

    it('records nothing and returns false when NODE_ENV is production', async () => {
      const previous = process.env.NODE_ENV
      process.env.NODE_ENV = 'production'
      const app = express()
      try {
        expect(recordBodies(app)).toBe(false)
      } finally {
        process.env.NODE_ENV = previous
      }
      app.use(streamShim())
      app.post('/x', ok)
      running = await listen(app)
      expect((await post(`${running.url}/x`, '{}')).status).toBe(204)
      expect(describeRoutes(app)[0].bodies).toBeUndefined()
    })
  })
  void name
})
