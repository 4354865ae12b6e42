import zlib from 'node:zlib'
import Router from '@koa/router'
import type Koa from 'koa'
import { buffered, streamShim } from '../../adapters/koa/index'
import { KOA_VERSIONS, listen, request, type Running } from './helpers'

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

describe.each(KOA_VERSIONS)('raw bodies and replay on %s', (_name, KoaClass) => {
  let running: Running
  let port: number

  beforeAll(async () => {
    const app = new KoaClass()
    app.use(streamShim({ enableTypes: ['json', 'form', 'text'] }))
    const router = new Router()
    router.post('/raw', (ctx) => {
      const buffer = ctx.request.rawBodyBuffer
      ctx.body = {
        rawBody: ctx.request.rawBody,
        rawBodyBuffer: buffer?.toString('hex'),
        sameBuffer: buffer !== undefined && buffer === (ctx.req as { rawBody?: unknown }).rawBody,
      }
    })
    router.post('/legacy-stream', async (ctx) => {
      const replayed = await readAll(ctx.req)
      ctx.body = { body: ctx.request.body, replayed: replayed.toString('hex') }
    })
    app.use(router.routes())
    running = await listen(app)
    port = running.port
  })

  afterAll(async () => {
    await running.close()
  })

  it('gives ctx.request.rawBody as a string', async () => {
    const reply = await request(port, { path: '/raw', headers: { 'content-type': 'application/json' }, body: '{"é":1}' })
    const { rawBody } = JSON.parse(reply.text)
    expect(rawBody).toBe('{"é":1}')
  })

  it('gives the decoded bytes as ctx.request.rawBodyBuffer, the same Buffer as ctx.req.rawBody', async () => {
    const reply = await request(port, { path: '/raw', headers: { 'content-type': 'text/plain' }, body: 'héllo' })
    const parsed = JSON.parse(reply.text)
    expect(parsed.rawBodyBuffer).toBe(Buffer.from('héllo').toString('hex'))
    expect(parsed.sameBuffer).toBe(true)
  })

  it('gives the inflated text as rawBody for a gzip body', async () => {
    const reply = await request(port, {
      path: '/raw',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
      body: zlib.gzipSync('a=1&b=2'),
    })
    expect(JSON.parse(reply.text).rawBody).toBe('a=1&b=2')
  })

  it('replays the same bytes on ctx.req after parsing', async () => {
    const body = JSON.stringify({ list: Array.from({ length: 2000 }, (_, i) => i) })
    const reply = await request(port, { path: '/legacy-stream', headers: { 'content-type': 'application/json' }, body })
    const parsed = JSON.parse(reply.text)
    expect(parsed.body.list).toHaveLength(2000)
    expect(Buffer.from(parsed.replayed, 'hex').toString()).toBe(body)
  })

  it('replays the bytes as they came off the wire for an encoded body', async () => {
    const wire = zlib.gzipSync('{"z":1}')
    const reply = await request(port, {
      path: '/legacy-stream',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: wire,
    })
    const parsed = JSON.parse(reply.text)
    expect(parsed.body).toEqual({ z: 1 })
    expect(parsed.replayed).toBe(wire.toString('hex'))
  })

  it('leaves ctx.req untouched for a body no parser takes', async () => {
    const reply = await request(port, { path: '/legacy-stream', headers: { 'content-type': 'application/octet-stream' }, body: 'bin' })
    expect(JSON.parse(reply.text)).toEqual({ body: {}, replayed: Buffer.from('bin').toString('hex') })
  })
})

describe.each(KOA_VERSIONS)('buffered() on %s', (_name, KoaClass) => {
  it('reads the body itself when streamShim() is not mounted', async () => {
    const app = new KoaClass()
    const router = new Router()
    router.post('/b', buffered({ jsonLimit: '10b' }, (ctx: Koa.Context) => {
      ctx.body = { body: ctx.request.body }
    }))
    app.use(router.routes())
    const running = await listen(app)
    try {
      const ok = await request(running.port, { path: '/b', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
      expect(JSON.parse(ok.text)).toEqual({ body: { a: 1 } })
      const big = await request(running.port, { path: '/b', headers: { 'content-type': 'application/json' }, body: '{"a":"0123456789"}' })
      expect(big.status).toBe(413)
    } finally {
      await running.close()
    }
  })
})
