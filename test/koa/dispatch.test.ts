import { Readable } from 'node:stream'
import Router from '@koa/router'
import type Koa from 'koa'
import { streamShim, streaming, buffered, resolveRoute } from '../../adapters/koa/index'
import { KOA_VERSIONS, listen, request, type Running } from './helpers'

/**
 * Each app records what the shim decided, from a middleware mounted between
 * the shim and the routers: 'streaming' when it set up a body stream,
 * 'buffered' otherwise.
 */
function recordDecision(app: Koa): void {
  app.use(async function recordMode(ctx, next) {
    ctx.set('x-mode', ctx.request.bodyStream !== undefined ? 'streaming' : 'buffered')
    await next()
  })
}

const upload = streaming(async (ctx) => {
  ctx.body = { received: (await ctx.request.bodyStream.text()).length }
})
const legacy = async (ctx: Koa.Context) => {
  ctx.body = { body: ctx.request.body }
}

describe.each(KOA_VERSIONS)('dispatch on %s', (_name, KoaClass) => {
  let running: Running

  afterEach(async () => {
    await running?.close()
  })

  async function start(build: (app: Koa) => void): Promise<number> {
    const app = new KoaClass()
    app.use(streamShim())
    recordDecision(app)
    build(app)
    running = await listen(app)
    return running.port
  }

  const json = { 'content-type': 'application/json' }

  it('streams a marked route and buffers an unmarked one', async () => {
    const port = await start((app) => {
      const router = new Router()
      router.put('/files/:name', upload)
      router.post('/legacy', legacy)
      app.use(router.routes())
    })
    const streamed = await request(port, { method: 'PUT', path: '/files/a.txt', body: 'hello' })
    expect(streamed.headers['x-mode']).toBe('streaming')
    expect(JSON.parse(streamed.text)).toEqual({ received: 5 })
    const parsed = await request(port, { path: '/legacy', headers: json, body: '{"a":1}' })
    expect(parsed.headers['x-mode']).toBe('buffered')
    expect(JSON.parse(parsed.text)).toEqual({ body: { a: 1 } })
  })

  it('buffers a request no route takes', async () => {
    const port = await start((app) => {
      const router = new Router()
      router.put('/files/:name', upload)
      app.use(router.routes())
      app.use((ctx) => {
        ctx.body = { fallback: ctx.request.body }
      })
    })
    const reply = await request(port, { method: 'POST', path: '/files/a.txt', headers: json, body: '{"x":true}' })
    expect(reply.headers['x-mode']).toBe('buffered')
    expect(JSON.parse(reply.text)).toEqual({ fallback: { x: true } })
  })

  it('finds routes of nested routers, under a prefix and a mount path with params', async () => {
    const port = await start((app) => {
      const files = new Router()
      files.put('/:name', upload)
      files.post('/:name/meta', legacy)
      const api = new Router({ prefix: '/api' })
      api.use('/users/:user/files', files.routes())
      app.use(api.routes())
    })
    const streamed = await request(port, { method: 'PUT', path: '/api/users/7/files/x.bin', body: 'abc' })
    expect(streamed.headers['x-mode']).toBe('streaming')
    expect(JSON.parse(streamed.text)).toEqual({ received: 3 })
    const meta = await request(port, { path: '/api/users/7/files/x.bin/meta', headers: json, body: '{"m":1}' })
    expect(meta.headers['x-mode']).toBe('buffered')
    expect(JSON.parse(meta.text)).toEqual({ body: { m: 1 } })
  })

  it('takes the method into account', async () => {
    const port = await start((app) => {
      const router = new Router()
      router.put('/doc', upload)
      router.post('/doc', legacy)
      app.use(router.routes())
    })
    expect((await request(port, { method: 'PUT', path: '/doc', body: 'x' })).headers['x-mode']).toBe('streaming')
    expect((await request(port, { method: 'POST', path: '/doc', headers: json, body: '{}' })).headers['x-mode']).toBe(
      'buffered',
    )
  })

  it('streams every method of a router.all() route', async () => {
    const port = await start((app) => {
      const router = new Router()
      router.all('/any', upload)
      app.use(router.routes())
    })
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const reply = await request(port, { method, path: '/any', body: 'four' })
      expect(reply.headers['x-mode']).toBe('streaming')
      expect(JSON.parse(reply.text)).toEqual({ received: 4 })
    }
  })

  it('lets a marked route win over unmarked router.all() and router.use() middleware', async () => {
    const port = await start((app) => {
      const router = new Router()
      router.use(async (_ctx, next) => next())
      router.all('/up', async (_ctx, next) => next())
      router.post('/up', upload)
      app.use(router.routes())
    })
    expect((await request(port, { path: '/up', body: 'x' })).headers['x-mode']).toBe('streaming')
  })

  it('lets the innermost marker win', async () => {
    const port = await start((app) => {
      const router = new Router()
      router.use('/zone', buffered({ jsonLimit: '1kb' }, async (_ctx, next) => next()))
      router.post('/zone/upload', upload)
      router.post('/zone/form', legacy)
      app.use(router.routes())
    })
    expect((await request(port, { path: '/zone/upload', body: 'x' })).headers['x-mode']).toBe('streaming')
    const big = await request(port, { path: '/zone/form', headers: json, body: JSON.stringify({ a: 'x'.repeat(2000) }) })
    expect([big.status, big.text]).toEqual([413, 'request entity too large'])
  })

  it('honours a router host', async () => {
    const port = await start((app) => {
      const uploads = new Router({ host: 'upload.example' })
      uploads.post('/in', upload)
      const www = new Router()
      www.post('/in', legacy)
      app.use(uploads.routes())
      app.use(www.routes())
    })
    const streamed = await request(port, { path: '/in', host: 'upload.example', body: 'abc' })
    expect(streamed.headers['x-mode']).toBe('streaming')
    const parsed = await request(port, { path: '/in', host: 'www.example', headers: json, body: '{"w":1}' })
    expect(parsed.headers['x-mode']).toBe('buffered')
    expect(JSON.parse(parsed.text)).toEqual({ body: { w: 1 } })
  })

  it('streams every route of a router marked streaming() at the app', async () => {
    const port = await start((app) => {
      const router = new Router()
      router.post('/a', async (ctx) => {
        ctx.body = { size: (await ctx.request.bodyStream!.buffer()).length }
      })
      app.use(streaming(router).routes())
      router.post('/added-later', async (ctx) => {
        ctx.body = { size: (await ctx.request.bodyStream!.buffer()).length }
      })
    })
    expect((await request(port, { path: '/a', body: '12' })).headers['x-mode']).toBe('streaming')
    expect((await request(port, { path: '/added-later', body: '12' })).headers['x-mode']).toBe('streaming')
  })

  it('streams the routes of a router marked streaming() before it is nested', async () => {
    const port = await start((app) => {
      const sub = new Router()
      sub.post('/blob', async (ctx) => {
        ctx.body = { size: (await ctx.request.bodyStream!.buffer()).length }
      })
      const root = new Router()
      root.use('/v1', streaming(sub).routes())
      root.post('/v1/json', legacy)
      app.use(root.routes())
    })
    const streamed = await request(port, { path: '/v1/blob', body: 'abcd' })
    expect(streamed.headers['x-mode']).toBe('streaming')
    expect(JSON.parse(streamed.text)).toEqual({ size: 4 })
    expect((await request(port, { path: '/v1/json', headers: json, body: '{}' })).headers['x-mode']).toBe('buffered')
  })

  it('uses the last matching layer of an exclusive router', async () => {
    const port = await start((app) => {
      const router = new Router({ exclusive: true })
      router.post('/x/:id', legacy)
      router.post('/x/upload', upload)
      app.use(router.routes())
    })
    expect((await request(port, { path: '/x/upload', body: 'q' })).headers['x-mode']).toBe('streaming')
  })

  it('resolves a route without side effects on the router', async () => {
    const router = new Router()
    router.put('/files/:name', upload)
    const app = new KoaClass()
    const routes = router.routes()
    app.use(routes)
    const before = JSON.stringify(router.stack.map((l) => [l.path, l.methods, l.paramNames]))
    const ctx = app.createContext(
      Object.assign(new Readable({ read() {} }), {
        url: '/files/x',
        method: 'PUT',
        headers: { host: 'h' },
        socket: {},
      }) as never,
      { getHeader() {}, setHeader() {} } as never,
    )
    expect(resolveRoute(ctx)).toEqual({ marker: expect.objectContaining({ mode: 'streaming' }), path: '/files/:name' })
    expect(JSON.stringify(router.stack.map((l) => [l.path, l.methods, l.paramNames]))).toBe(before)
  })
})
