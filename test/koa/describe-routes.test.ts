/**
 * describeRoutes(), recordBodies() and formatRoutes() for Koa 2 and 3 with
 * @koa/router and koa-router: the report lists the routers' routes, and the
 * body record counts what arrives over real sockets.
 */
import { describeRoutes, formatRoutes, recordBodies, streamShim, streaming, buffered } from '../../adapters/koa/index.js'
import { KOA_VERSIONS, listen, type Running } from './helpers.js'
import KoaRouter from '@koa/router'

const ROUTERS: [string, any][] = [
  ['@koa/router', KoaRouter],
  ['koa-router', require('koa-router')],
]

function post(url: string, body: string | Buffer, type = 'application/json', method = 'POST'): Promise<Response> {
  return fetch(url, { method, body, headers: { 'content-type': type } })
}

describe.each(KOA_VERSIONS)('describeRoutes() on %s', (_koa, Koa) => {
  describe.each(ROUTERS)('with %s', (_router, Router) => {
    function buildApp() {
      const files = new Router()
      files.put('/:name', streaming({ limit: '5gb' }, async (ctx: any) => {
        ctx.status = 201
      }))
      files.post('/:name/meta', (ctx: any) => {
        ctx.status = 204
      })
      const api = new Router({ prefix: '/api' })
      api.use('/users/:id/files', files.routes())
      api.post('/import', buffered({ jsonLimit: '50mb' }, (ctx: any) => {
        ctx.body = ctx.request.body
      }))
      api.get('/status', (ctx: any) => {
        ctx.body = 'ok'
      })
      const ingest = new Router({ prefix: '/ingest' })
      ingest.post('/ndjson', (ctx: any) => {
        ctx.status = 204
      })
      streaming({ types: 'application/x-ndjson' }, ingest)
      const app = new Koa()
      app.use(streamShim({ jsonLimit: '64kb' }))
      app.use(api.routes())
      app.use(ingest.routes())
      return app
    }

    it('lists the routers’ routes, nested ones with their full paths, with modes and effective options', () => {
      const rows = describeRoutes(buildApp())
      const byKey = Object.fromEntries(rows.map((row) => [`${row.method} ${row.path}`, row]))
      expect(Object.keys(byKey).sort()).toEqual([
        'GET /api/status',
        'POST /api/import',
        'POST /api/users/:id/files/:name/meta',
        'POST /ingest/ndjson',
        'PUT /api/users/:id/files/:name',
      ])
      expect(byKey['PUT /api/users/:id/files/:name']).toEqual({
        method: 'PUT',
        path: '/api/users/:id/files/:name',
        mode: 'streaming',
        options: { limit: 5 * 1024 ** 3, types: null, timeout: 30000 },
      })
      expect(byKey['POST /ingest/ndjson']).toMatchObject({ mode: 'streaming', options: { types: ['application/x-ndjson'] } })
      expect(byKey['POST /api/users/:id/files/:name/meta'].options).toMatchObject({ limit: 64 * 1024, types: ['json', 'urlencoded'] })
      expect(byKey['POST /api/import'].options!.parsers).toEqual([
        { kind: 'json', limit: 50 * 1024 * 1024, timeout: 30000 },
        { kind: 'urlencoded', limit: 56 * 1024, timeout: 30000 },
      ])
      expect(byKey['GET /api/status']).toMatchObject({ mode: 'buffered', reason: 'GET is not in parsedMethods: the body is left unread' })
    })

    it('takes a streaming() marker on router.use() middleware in front of the route', () => {
      const router = new Router()
      router.use('/raw', streaming(async (_ctx: any, next: any) => next()))
      router.post('/raw/in', (ctx: any) => {
        ctx.status = 204
      })
      router.post('/cooked', (ctx: any) => {
        ctx.status = 204
      })
      const app = new Koa()
      app.use(streamShim())
      app.use(router.routes())
      expect(describeRoutes(app).map((row) => [row.path, row.mode])).toEqual([
        ['/raw/in', 'streaming'],
        ['/cooked', 'buffered'],
      ])
    })

    describe('with recordBodies()', () => {
      let running: Running
      afterEach(() => running?.close())

      it('records count, largest and p95 size, buffering time, 413s and requests no route took', async () => {
        const app = buildApp()
        expect(recordBodies(app)).toBe(true)
        running = await listen(app)
        for (const user of ['1', '2', '3', '4']) {
          expect((await post(`${running.url}/api/users/${user}/files/f/meta`, JSON.stringify({ user, pad: 'x'.repeat(Number(user) * 1000) }))).status).toBe(204)
        }
        expect((await post(`${running.url}/api/users/5/files/f/meta`, JSON.stringify({ pad: 'x'.repeat(70 * 1024) }))).status).toBe(413)
        expect((await post(`${running.url}/api/users/5/files/f`, Buffer.alloc(1000), 'application/octet-stream', 'PUT')).status).toBe(201)
        expect((await post(`${running.url}/nowhere`, '{"a":1}')).status).toBe(404)

        const rows = describeRoutes(app)
        const meta = rows.find((row) => row.path === '/api/users/:id/files/:name/meta')!
        expect(meta.bodies).toMatchObject({ count: 4, maxBytes: 4021, p95Bytes: 4021, tooLarge: 1, failed: {} })
        expect(meta.bodies!.totalMs).toBeGreaterThan(0)
        expect(rows.find((row) => row.path === '/api/users/:id/files/:name')!.bodies).toBeUndefined()
        expect(rows.find((row) => row.path === '(no route)')).toMatchObject({ method: 'POST', mode: 'unknown', bodies: { count: 1, maxBytes: 7 } })
        expect(formatRoutes(rows)).toMatch(/^POST +\/api\/users\/:id\/files\/:name\/meta +buffered +64 KB +json,urlencoded +30000 ms +4 +3\.93 KB +3\.93 KB .* 1 +candidate to stream/m)
      })
    })
  })

  it('throws a TypeError for something that is not a Koa app', () => {
    expect(() => describeRoutes({ middleware: 1 })).toThrow(TypeError)
    expect(() => recordBodies(null)).toThrow(TypeError)
  })
})
