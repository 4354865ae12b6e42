import zlib from 'node:zlib'
import Router from '@koa/router'
import type Koa from 'koa'
import { streamShim, streaming } from '../../adapters/koa/index'
import { KOA_VERSIONS, deferred, listen, openRequest, request, type Running } from './helpers'

describe.each(KOA_VERSIONS)('streaming routes on %s', (_name, KoaClass) => {
  let running: Running | undefined

  afterEach(async () => {
    await running?.close()
    running = undefined
  })

  /** An app with the shim and one router; `errors` collects what Koa's error handler saw. */
  async function start(build: (router: Router) => void, options?: Parameters<typeof streamShim>[0]) {
    const app = new KoaClass()
    const errors: Record<string, unknown>[] = []
    app.on('error', (err) => errors.push(err))
    app.use(streamShim(options))
    const router = new Router()
    build(router)
    app.use(router.routes())
    running = await listen(app)
    app.silent = false // the 'error' listener above keeps the output quiet
    return { port: running.port, errors }
  }

  it('runs the handler before the body is sent', async () => {
    const entered = deferred()
    const { port } = await start((router) => {
      router.put('/up', streaming(async (ctx) => {
        entered.resolve()
        ctx.body = { text: await ctx.request.bodyStream.text() }
      }))
    })
    const { req, reply } = openRequest(port, { method: 'PUT', path: '/up', headers: { 'content-length': '5' } })
    await entered.promise // no body byte has been written yet
    req.end('hello')
    expect(JSON.parse((await reply).text)).toEqual({ text: 'hello' })
  })

  it('answers before the body is sent when the handler does not read it', async () => {
    const { port } = await start((router) => {
      router.put('/up', streaming((ctx) => {
        ctx.status = 409
        ctx.body = 'exists'
      }))
    })
    const { req, reply } = openRequest(port, { method: 'PUT', path: '/up', headers: { 'content-length': '100000' } })
    const answer = await reply
    expect([answer.status, answer.text]).toEqual([409, 'exists'])
    req.destroy()
  })

  it('gives undefined for ctx.request.body, so loggers and sanitizers that touch it keep working', async () => {
    const { port, errors } = await start((router) => {
      router.post('/up', streaming(async (ctx) => {
        const body = ctx.request.body
        ctx.body = { body: body === undefined ? 'undefined' : body, text: await ctx.request.bodyStream.text() }
      }))
    })
    const reply = await request(port, { path: '/up', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect([reply.status, JSON.parse(reply.text)]).toEqual([200, { body: 'undefined', text: '{}' }])
    expect(errors).toEqual([])
  })

  it('413s a declared length over the limit before the handler runs', async () => {
    let called = false
    const { port } = await start((router) => {
      router.put('/up', streaming({ limit: '1kb' }, (ctx) => {
        called = true
        ctx.status = 204
      }))
    })
    const reply = await request(port, { method: 'PUT', path: '/up', body: 'x'.repeat(2048) })
    expect([reply.status, reply.text]).toEqual([413, 'request entity too large'])
    expect(called).toBe(false)
  })

  it('413s a chunked body over the limit while it flows', async () => {
    const { port, errors } = await start((router) => {
      router.put('/up', streaming({ limit: '10kb' }, async (ctx) => {
        ctx.body = { size: (await ctx.request.bodyStream.buffer()).length }
      }))
    })
    const { req, reply } = openRequest(port, { method: 'PUT', path: '/up', headers: { 'transfer-encoding': 'chunked' } })
    req.on('error', () => {}) // the server may close before the last chunk
    for (let i = 0; i < 20; i++) req.write(Buffer.alloc(1024, 1))
    req.end()
    const answer = await reply
    expect([answer.status, answer.text]).toEqual([413, 'request entity too large'])
    expect(answer.headers.connection).toBe('close')
    expect(errors[0]).toMatchObject({ type: 'entity.too.large', limit: 10 * 1024 })
  })

  it('415s a media type the route does not take, through Koa', async () => {
    const { port } = await start((router) => {
      router.put('/img', streaming({ types: 'image/*' }, (ctx) => {
        ctx.status = 204
      }))
    })
    const reply = await request(port, { method: 'PUT', path: '/img', headers: { 'content-type': 'text/plain' }, body: 'x' })
    expect(reply.status).toBe(415)
    expect(reply.text).toContain('unsupported media type')
  })

  it('counts the limit after inflation', async () => {
    const { port } = await start((router) => {
      router.put('/up', streaming({ limit: '64kb' }, async (ctx) => {
        ctx.body = { size: (await ctx.request.bodyStream.buffer()).length }
      }))
    })
    const small = zlib.gzipSync(Buffer.alloc(32 * 1024))
    const ok = await request(port, { method: 'PUT', path: '/up', headers: { 'content-encoding': 'gzip' }, body: small })
    expect(JSON.parse(ok.text)).toEqual({ size: 32 * 1024 })
    const bomb = zlib.gzipSync(Buffer.alloc(1024 * 1024))
    expect(bomb.length).toBeLessThan(64 * 1024)
    const refused = await request(port, { method: 'PUT', path: '/up', headers: { 'content-encoding': 'gzip' }, body: bomb })
    expect(refused.status).toBe(413)
  })

  it('gives the handler an error, not a clean end, when the client stops short of Content-Length', async () => {
    const outcome = deferred<string>()
    const { port } = await start((router) => {
      router.put('/up', streaming(async (ctx) => {
        try {
          await ctx.request.bodyStream.buffer()
          outcome.resolve('clean end')
        } catch (err) {
          outcome.resolve((err as { type: string }).type)
          throw err
        }
      }))
    })
    const { req, reply } = openRequest(port, { method: 'PUT', path: '/up', headers: { 'content-length': '1000' } })
    reply.catch(() => {}) // the client gives up: there is no reply
    req.on('error', () => {})
    req.write('only a little')
    await new Promise((resolve) => setTimeout(resolve, 50))
    req.destroy()
    expect(await outcome.promise).toBe('request.aborted')
  })

  it('never calls a buffered handler when the client aborts mid-body', async () => {
    let called = false
    const closed = deferred()
    const app = new KoaClass()
    app.silent = true
    app.use(async (ctx, next) => {
      ctx.req.on('close', () => setTimeout(closed.resolve, 20))
      await next()
    })
    app.use(streamShim())
    const router = new Router()
    router.post('/legacy', (ctx: Koa.Context) => {
      called = true
      ctx.body = 'ok'
    })
    app.use(router.routes())
    running = await listen(app)
    const { req, reply } = openRequest(running.port, {
      path: '/legacy',
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
    })
    reply.catch(() => {}) // the client gives up: there is no reply
    req.on('error', () => {})
    req.write('{"a":')
    await new Promise((resolve) => setTimeout(resolve, 50))
    req.destroy()
    await closed.promise
    expect(called).toBe(false)
  })

  it('sets up the stream itself when streamShim() is not mounted', async () => {
    const app = new KoaClass()
    app.silent = true
    const router = new Router()
    router.put('/up', streaming({ limit: '4b' }, async (ctx) => {
      ctx.body = { text: await ctx.request.bodyStream.text() }
    }))
    app.use(router.routes())
    running = await listen(app)
    const ok = await request(running.port, { method: 'PUT', path: '/up', body: 'abcd' })
    expect(JSON.parse(ok.text)).toEqual({ text: 'abcd' })
    const big = await request(running.port, { method: 'PUT', path: '/up', body: 'abcde' })
    expect(big.status).toBe(413)
  })

  it('uses the shim streaming defaults when the route sets none', async () => {
    const { port } = await start(
      (router) => {
        router.put('/up', streaming(async (ctx) => {
          ctx.body = { size: (await ctx.request.bodyStream.buffer()).length }
        }))
      },
      { streaming: { limit: '8b' } },
    )
    expect((await request(port, { method: 'PUT', path: '/up', body: '12345678' })).status).toBe(200)
    expect((await request(port, { method: 'PUT', path: '/up', body: '123456789' })).status).toBe(413)
  })
})
