/**
 * The Lad fork, koa-router 14, has the same lookup surface as @koa/router
 * (`routes().router`, `match()`, `matchHost()`): the shim dispatches on it too.
 */
import type Koa from 'koa'
import { streamShim, streaming } from '../../adapters/koa/index'
import { KOA_VERSIONS, listen, openRequest, request, type Running } from './helpers'

const Router = require('koa-router') as new (options?: { prefix?: string }) => any

describe.each(KOA_VERSIONS)('koa-router 14 on %s', (_name, KoaClass) => {
  let running: Running
  let entered = false

  beforeAll(async () => {
    const app: Koa = new KoaClass()
    const api = new Router({ prefix: '/api' })
    const files = new Router()
    files.put(
      '/files/:name',
      streaming(async (ctx: any) => {
        entered = true
        ctx.body = { name: ctx.params.name, text: await ctx.request.bodyStream.text() }
      }),
    )
    api.post('/legacy', (ctx: any) => {
      ctx.body = { body: ctx.request.body, streaming: ctx.request.bodyStream !== undefined }
    })
    api.use(files.routes())
    app.use(streamShim())
    app.use(api.routes())
    running = await listen(app)
  })

  afterAll(() => running.close())

  it('runs a streaming route nested under a prefixed router before the body is sent', async () => {
    entered = false
    const { req, reply } = openRequest(running.port, { method: 'PUT', path: '/api/files/a.txt', headers: { 'content-length': 5 } })
    for (let i = 0; i < 200 && !entered; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(entered).toBe(true) // the body has not been written yet
    req.end('hello')
    expect(JSON.parse((await reply).text)).toEqual({ name: 'a.txt', text: 'hello' })
  })

  it('buffers an unmarked route as @koa/bodyparser would', async () => {
    const reply = await request(running.port, { path: '/api/legacy', headers: { 'content-type': 'application/json' }, body: '{"a":[1]}' })
    expect(JSON.parse(reply.text)).toEqual({ body: { a: [1] }, streaming: false })
  })
})
