/**
 * The route that runs is not the one the shim predicted at its own place:
 * routers behind koa-mount or koa-compose, a path rewritten behind the shim.
 * Each route still gets the mode it was marked for.
 */
import { createHash } from 'node:crypto'
import Router from '@koa/router'
import mount from 'koa-mount'
import compose from 'koa-compose'
import { streamShim, streaming } from '../../adapters/koa/index'
import { KOA_VERSIONS, listen, request, type Running } from './helpers'

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')
const json = (size: number) => JSON.stringify({ data: 'x'.repeat(size) })

describe.each(KOA_VERSIONS)('%s: mispredicted routes', (name, Koa) => {
  const label = name.replace(' ', '')
  let running: Running | undefined
  afterEach(async () => {
    await running?.close()
    running = undefined
  })

  function routes(tag = ''): Router {
    const router = new Router()
    router.put(`/upload${tag}`, streaming(async (ctx) => {
      const chunks: Buffer[] = []
      for await (const chunk of ctx.request.bodyStream!) chunks.push(chunk)
      ctx.body = { mode: 'streaming', sha: sha256(Buffer.concat(chunks)) }
    }))
    router.post('/form', (ctx) => {
      ctx.body = { mode: 'buffered', body: ctx.request.body }
    })
    return router
  }

  async function check(app: any, prefix: string, tag: string) {
    running = await listen(app)
    // Jest's sandboxed `process` never delivers 'warning' events: watch emitWarning itself.
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const big = json(512 * 1024) // within the buffered 1 MB JSON default: the shim could not see the route and buffered it
    const up = await request(running.port, { method: 'PUT', path: `${prefix}/upload${tag}`, headers: { 'content-type': 'application/json' }, body: big })
    expect([up.status, JSON.parse(up.body.toString())]).toEqual([200, { mode: 'streaming', sha: sha256(big) }])
    const form = await request(running.port, { path: `${prefix}/form`, headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
    expect([form.status, JSON.parse(form.body.toString())]).toEqual([200, { mode: 'buffered', body: { a: 1 } }])
    const codes = emitWarning.mock.calls.map((call) => (call[1] as { code?: string })?.code)
    emitWarning.mockRestore()
    expect(codes).toContain('STREAM_SHIM_BUFFERED_BEFORE_STREAMING')
  }

  it('routers behind koa-mount', async () => {
    const app = new Koa()
    app.use(streamShim())
    app.use(mount('/v1', routes(`-mount-${label}`).routes()))
    await check(app, '/v1', `-mount-${label}`)
  })

  it('routers composed with koa-compose', async () => {
    const app = new Koa()
    app.use(streamShim())
    const other = new Router()
    other.get('/health', (ctx) => (ctx.body = 'ok'))
    app.use(compose([other.routes(), routes(`-compose-${label}`).routes()]))
    await check(app, '', `-compose-${label}`)
  })

  it('a path rewritten behind the shim from a streaming route to a buffered one: ctx.request.body is there', async () => {
    const app = new Koa()
    app.use(streamShim())
    app.use(async (ctx, next) => {
      if (ctx.get('x-legacy') === '1') [ctx.method, ctx.path] = ['POST', '/form']
      await next()
    })
    app.use(routes().routes())
    running = await listen(app)
    const reply = await request(running.port, { method: 'PUT', path: '/upload', headers: { 'content-type': 'application/json', 'x-legacy': '1' }, body: '{"b":2}' })
    expect([reply.status, JSON.parse(reply.body.toString())]).toEqual([200, { mode: 'buffered', body: { b: 2 } }])
  })
})
