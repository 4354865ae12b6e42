/**
 * The options of @koa/bodyparser 6 and koa-bodyparser 4 under their own
 * names: `patchNode`, `enableRawChecking`, `ctx.disableBodyParser`, and
 * koa-bodyparser 4's `onerror` and `strict`. Each app is served three ways
 * (the shim, @koa/bodyparser, koa-bodyparser 4) where the package has the
 * option, and the replies must be the same. Also: a route's `buffered()`
 * options win over the shim's.
 */
import Router from '@koa/router'
import type Koa from 'koa'
import { buffered, streamShim } from '../../adapters/koa/index'
import { KOA_VERSIONS, listen, request, type RawRequest, type Running } from './helpers'

// Loaded untyped, as in buffered-parity.test.ts.
const koaBodyParser = (require('@koa/bodyparser') as { bodyParser: (options?: object) => Koa.Middleware }).bodyParser
const legacyBodyParser = require('koa-bodyparser') as (options?: object) => Koa.Middleware

type Factory = (options: any) => Koa.Middleware
const SHIM: [string, Factory] = ['streamShim', (options) => streamShim(options)]
const KOA_BODYPARSER: [string, Factory] = ['@koa/bodyparser 6', koaBodyParser]
const LEGACY: [string, Factory] = ['koa-bodyparser 4', legacyBodyParser]

const json = { 'content-type': 'application/json' }

/**
 * What the app answers: the body and raw body on ctx.request and on ctx.req.
 * (A Buffer on ctx.req.rawBody is the shim's own `rawBodyBuffer`, not compared.)
 */
function report(ctx: Koa.Context): void {
  const req = ctx.req as { body?: unknown; rawBody?: unknown }
  ctx.body = {
    body: ctx.request.body ?? null,
    rawBody: ctx.request.rawBody ?? null,
    reqBody: req.body ?? null,
    reqRawBody: typeof req.rawBody === 'string' ? req.rawBody : null,
    note: ctx.state.note ?? null,
  }
}

describe.each(KOA_VERSIONS)('on %s', (_name, KoaClass) => {
  const servers: Running[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  /** Serve `parser` between `before` (middleware that runs first) and the report. */
  async function serve(parser: Koa.Middleware, before?: Koa.Middleware): Promise<number> {
    const app = new KoaClass()
    if (before !== undefined) app.use(before)
    app.use(parser)
    app.use(report)
    const running = await listen(app)
    servers.push(running)
    return running.port
  }

  /** Send `req` to the app built with each factory and expect the same reply from all of them; return it. */
  async function alike(factories: [string, Factory][], options: object, req: RawRequest, before?: Koa.Middleware) {
    const replies = []
    for (const [, factory] of factories) {
      const port = await serve(factory({ ...options }), before)
      const reply = await request(port, req)
      replies.push({ status: reply.status, text: reply.text })
    }
    for (const reply of replies.slice(1)) expect(replies[0]).toEqual(reply)
    return { status: replies[0].status, json: replies[0].status === 200 ? JSON.parse(replies[0].text) : replies[0].text }
  }

  const setReqBody: Koa.Middleware = (ctx, next) => {
    ;(ctx.req as { body?: unknown }).body = { from: 'an earlier parser' }
    return next()
  }

  describe('patchNode', () => {
    it('puts the parsed body and its text on ctx.req too', async () => {
      const res = await alike([SHIM, KOA_BODYPARSER], { patchNode: true }, { path: '/', headers: json, body: '{"foo":"bar"}' })
      expect(res.json).toEqual({ body: { foo: 'bar' }, rawBody: '{"foo":"bar"}', reqBody: { foo: 'bar' }, reqRawBody: '{"foo":"bar"}', note: null })
    })

    it('puts {} on ctx.req for a type it does not parse', async () => {
      const res = await alike([SHIM, KOA_BODYPARSER], { patchNode: true }, {
        path: '/',
        headers: { 'content-type': 'application/x-unsupported' },
        body: 'x',
      })
      expect(res.json).toMatchObject({ body: {}, reqBody: {}, reqRawBody: null })
    })

    it('skips a request whose ctx.req.body is already set', async () => {
      const res = await alike([SHIM, KOA_BODYPARSER], { patchNode: true }, { path: '/', headers: json, body: '{"a":1}' }, setReqBody)
      expect(res.json).toMatchObject({ body: null, rawBody: null, reqBody: { from: 'an earlier parser' } })
    })

    it('keeps the Buffer on ctx.request.rawBodyBuffer', async () => {
      const app = new KoaClass()
      app.use(streamShim({ patchNode: true }))
      app.use((ctx) => {
        ctx.body = { isBuffer: Buffer.isBuffer(ctx.request.rawBodyBuffer), text: ctx.request.rawBodyBuffer?.toString() }
      })
      const running = await listen(app)
      servers.push(running)
      const reply = await request(running.port, { path: '/', headers: json, body: '{"b":2}' })
      expect(JSON.parse(reply.text)).toEqual({ isBuffer: true, text: '{"b":2}' })
    })
  })

  describe('enableRawChecking', () => {
    it('takes a ctx.req.body set by an earlier parser as the body, without reading', async () => {
      const res = await alike([SHIM, KOA_BODYPARSER], { enableRawChecking: true }, { path: '/', headers: json, body: '{"a":1}' }, setReqBody)
      expect(res.json).toMatchObject({ body: { from: 'an earlier parser' }, rawBody: null })
    })

    it('parses as usual when ctx.req.body is not set', async () => {
      const res = await alike([SHIM, KOA_BODYPARSER], { enableRawChecking: true }, { path: '/', headers: json, body: '{"a":1}' })
      expect(res.json).toMatchObject({ body: { a: 1 }, rawBody: '{"a":1}' })
    })

    it('is off by default: the body is read whatever ctx.req.body holds', async () => {
      const res = await alike([SHIM, KOA_BODYPARSER], {}, { path: '/', headers: json, body: '{"a":1}' }, setReqBody)
      expect(res.json).toMatchObject({ body: { a: 1 } })
    })
  })

  describe('ctx.disableBodyParser', () => {
    const disable: Koa.Middleware = (ctx, next) => {
      ctx.disableBodyParser = true
      return next()
    }

    it('leaves the body unread', async () => {
      const res = await alike([SHIM, KOA_BODYPARSER, LEGACY], {}, { path: '/', headers: json, body: '{"a":1}' }, disable)
      expect(res.json).toMatchObject({ body: null, rawBody: null })
    })

    it('leaves the body to a reader after it', async () => {
      const app = new KoaClass()
      app.use(disable)
      app.use(streamShim())
      app.use(async (ctx) => {
        const chunks: Buffer[] = []
        for await (const chunk of ctx.req) chunks.push(chunk as Buffer)
        ctx.body = { read: Buffer.concat(chunks).toString(), body: ctx.request.body ?? null }
      })
      const running = await listen(app)
      servers.push(running)
      const reply = await request(running.port, { path: '/', headers: json, body: '{"mine":true}' })
      expect(JSON.parse(reply.text)).toEqual({ read: '{"mine":true}', body: null })
    })
  })

  describe("koa-bodyparser 4's names", () => {
    const onerror = (_err: Error, ctx: Koa.Context) => {
      ctx.throw(422, 'custom parse error')
    }

    it('calls onerror instead of throwing a parse error', async () => {
      const res = await alike([SHIM, LEGACY], { onerror }, { path: '/', headers: json, body: 'test' })
      expect(res).toEqual({ status: 422, json: 'custom parse error' })
    })

    it('lets the request go on without a body when onerror returns', async () => {
      const note = (err: Error, ctx: Koa.Context) => {
        ctx.state.note = `handled ${(err as { status?: number }).status}`
      }
      const res = await alike([SHIM, LEGACY], { onerror: note }, { path: '/', headers: json, body: '{"a":' })
      expect(res.json).toMatchObject({ body: null, note: 'handled 400' })
    })

    it('takes strict: false as jsonStrict: false', async () => {
      const res = await alike([SHIM, LEGACY], { strict: false }, { path: '/', headers: json, body: '"valid"' })
      expect(res.json).toMatchObject({ body: 'valid', rawBody: '"valid"' })
    })

    it('answers a JSON string with 400 in strict mode', async () => {
      const res = await alike([SHIM, LEGACY], { strict: true }, { path: '/', headers: json, body: '"invalid"' })
      expect(res.status).toBe(400)
    })

    it('refuses onError and onerror, or jsonStrict and strict, that disagree', () => {
      expect(() => streamShim({ onError: () => {}, onerror: () => {} })).toThrow(/onError and onerror/)
      expect(() => streamShim({ jsonStrict: true, strict: false })).toThrow(/jsonStrict and strict/)
      expect(() => streamShim({ onerror: 'log' as never })).toThrow('option onerror must be a function')
      expect(() => streamShim({ patchNode: 'yes' as never })).toThrow('option patchNode must be a boolean')
      expect(() => streamShim({ enableRawChecking: 1 as never })).toThrow('option enableRawChecking must be a boolean')
    })
  })

  describe("a buffered() route's options", () => {
    let port: number

    beforeAll(async () => {
      const router = new Router()
      const size = (ctx: Koa.Context) => {
        ctx.body = { size: JSON.stringify(ctx.request.body).length }
      }
      router.post('/import', buffered({ jsonLimit: '50mb' }, size))
      router.post('/loose', buffered({ strict: false }, report))
      router.post('/patched', buffered({ patchNode: true }, report))
      router.post('/handled', buffered({ onerror: (_err, ctx) => (ctx.state.note = 'route') }, report))
      router.post('/other', size)
      const app = new KoaClass()
      app.use(streamShim({ jsonLimit: '1mb', jsonStrict: true, onError: (_err, ctx) => ctx.throw(418, 'shim') }))
      app.use(router.routes())
      const running = await listen(app)
      servers.push(running)
      port = running.port
    })

    it("win over the shim's: a 5 MB import under jsonLimit: '50mb'", async () => {
      const body = JSON.stringify({ rows: 'x'.repeat(5 * 1024 * 1024) })
      const reply = await request(port, { path: '/import', headers: json, body })
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.text)).toEqual({ size: body.length })
    })

    it("leave the shim's jsonLimit on the other routes", async () => {
      const reply = await request(port, { path: '/other', headers: json, body: JSON.stringify({ rows: 'x'.repeat(2 * 1024 * 1024) }) })
      expect(reply.status).toBe(418)
    })

    it("win with koa-bodyparser 4's names too", async () => {
      const loose = await request(port, { path: '/loose', headers: json, body: '"fine"' })
      expect(JSON.parse(loose.text)).toMatchObject({ body: 'fine' })
      const handled = await request(port, { path: '/handled', headers: json, body: '{' })
      expect(JSON.parse(handled.text)).toMatchObject({ body: null, note: 'route' })
    })

    it('can turn on patchNode for one route', async () => {
      const patched = await request(port, { path: '/patched', headers: json, body: '{"p":1}' })
      expect(JSON.parse(patched.text)).toMatchObject({ reqBody: { p: 1 }, reqRawBody: '{"p":1}' })
    })
  })
})
