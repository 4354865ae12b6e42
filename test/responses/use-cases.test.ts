/**
 * The use cases of Django's streaming-response proposal, written the way an
 * Express or Koa app would, with compression mounted in front of every route.
 */
import compression from 'compression'
import koaCompress from 'koa-compress'
import koaEtag from '@koa/etag'
import conditional from 'koa-conditional-get'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { createHash } from 'node:crypto'
import { sendStream, streaming, streamingResponses } from '../../adapters/express/index.js'
import * as koaShim from '../../adapters/koa/index.js'
import { EXPRESS_VERSIONS, KOA_VERSIONS, decoder, deferred, fetchAll, get, listen, lockstep, type Running } from './helpers.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stream-shim-use-cases-'))
const file = path.join(dir, 'report.txt')
const content = Buffer.from('line of a large text report\n'.repeat(40000)) // ~1.1 MB, compressible
fs.writeFileSync(file, content)
const stat = fs.statSync(file)
const tag = `"${stat.size.toString(16)}-${stat.mtimeMs.toString(16)}"`
const sha = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

async function* rows() {
  for (let i = 0; i < 3; i++) yield `{"row":${i}}\n`
}

/** A wrapper that would change the body: it must not apply to content sent frozen. */
async function* shouting(body: AsyncIterable<Buffer>) {
  for await (const chunk of body) yield chunk.toString().toUpperCase()
}

function ticks(acks: Array<() => void>, count: number) {
  return (async function* () {
    for (let i = 0; i < count; i++) {
      const ack = deferred()
      acks.push(ack.resolve)
      yield `data: tick ${i}\n\n`
      await ack.promise
    }
  })()
}

describe.each(EXPRESS_VERSIONS)('use cases on %s', (_name, express) => {
  let running: Running
  const acks: Array<() => void> = []
  beforeAll(async () => {
    const app = express()
    app.use(compression())
    app.use(streamingResponses(shouting))
    // 1. Non-streaming response with iterator content: read whole, so Express's ETag and compression apply.
    app.get('/legacy', async (req: any, res: any) => {
      const chunks: Buffer[] = []
      for await (const row of rows()) chunks.push(Buffer.from(row))
      res.type('application/x-ndjson').send(Buffer.concat(chunks))
    })
    // 2. Streaming response with iterator content, through compression.
    app.get('/rows', streaming((req: any, res: any) => {
      res.type('text/plain') // mime-db does not mark NDJSON compressible: compression() would skip it
      return sendStream(res, rows(), { frozen: true })
    }))
    // 3. A large file, validators frozen, Content-Length set, compression prevented.
    app.get('/file', streaming((req: any, res: any) => {
      res.freezeHeader('ETag', tag)
      res.freezeHeader('Last-Modified', stat.mtime.toUTCString())
      res.freezeHeader('Content-Encoding')
      res.type('text/plain')
      if (req.fresh) return res.status(304).end()
      res.setHeader('Content-Length', stat.size)
      return sendStream(res, fs.createReadStream(file), { frozen: true })
    }))
    // 4. The same compressed on the fly: no Content-Length.
    app.get('/file.gz', streaming((req: any, res: any) => {
      res.freezeHeader('ETag', tag)
      res.type('text/plain')
      return sendStream(res, fs.createReadStream(file), { frozen: true })
    }))
    // 5 and 6. A long response, content frozen, as Server-Sent Events through compression.
    app.get('/events', streaming((req: any, res: any) => {
      res.type('text/event-stream')
      res.freezeHeader('Cache-Control', 'no-cache')
      return sendStream(res, ticks(acks, 4), { frozen: true })
    }))
    running = await listen(app)
  })
  afterAll(() => running.close())

  it('1. a non-streaming response with iterator content is sent whole, with Express\'s ETag and a Content-Length', async () => {
    const reply = await fetchAll(running.port, '/legacy', { 'accept-encoding': 'gzip' })
    expect(reply.headers.etag).toMatch(/^W\/"/)
    expect(reply.headers['content-length']).toBe('30')
    expect(reply.body.toString()).toBe('{"row":0}\n{"row":1}\n{"row":2}\n')
  })

  it('2. a streaming response with iterator content goes through compression', async () => {
    const reply = await fetchAll(running.port, '/rows', { 'accept-encoding': 'gzip' })
    expect(reply.headers['content-encoding']).toBe('gzip')
    expect(zlib.gunzipSync(reply.body).toString()).toBe('{"row":0}\n{"row":1}\n{"row":2}\n')
  })

  it('3. a large file keeps its frozen validators and Content-Length, uncompressed, and revalidates with 304', async () => {
    const reply = await fetchAll(running.port, '/file', { 'accept-encoding': 'gzip, br' })
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.headers).toMatchObject({ etag: tag, 'last-modified': stat.mtime.toUTCString(), 'content-length': String(stat.size) })
    expect(reply.headers['content-encoding']).toBeUndefined()
    expect(sha(reply.body)).toBe(sha(content))
    expect((await fetchAll(running.port, '/file', { 'if-none-match': tag })).status).toBe(304)
  })

  it('4. the same file compressed on the fly keeps its frozen ETag and has no Content-Length', async () => {
    const reply = await fetchAll(running.port, '/file.gz', { 'accept-encoding': 'gzip' })
    expect(reply.headers).toMatchObject({ etag: tag, 'content-encoding': 'gzip' })
    expect(reply.headers['content-length']).toBeUndefined()
    expect(sha(zlib.gunzipSync(reply.body))).toBe(sha(content))
  })

  it('5 and 6. a long response of Server-Sent Events reaches the client event by event through compression, untouched by wrappers', async () => {
    acks.length = 0
    const res = await get(running.port, '/events', { 'accept-encoding': 'br' })
    expect(res.headers).toMatchObject({ 'content-encoding': 'br', 'cache-control': 'no-cache' })
    const lines = await lockstep(res.pipe(decoder('br')!), 4, () => acks.shift()?.())
    expect(lines).toEqual(['data: tick 0', 'data: tick 1', 'data: tick 2', 'data: tick 3'])
    res.destroy()
  })
})

describe.each(KOA_VERSIONS)('use cases on %s', (_name, Koa) => {
  let running: Running
  const acks: Array<() => void> = []
  const legacyRead: Buffer[] = []
  beforeAll(async () => {
    const app = new Koa()
    app.use(conditional())
    app.use(koaEtag())
    app.use(koaCompress())
    app.use(async (ctx: any, next: any) => {
      await next()
      if (ctx.path === '/legacy') legacyRead.push(ctx.response.content) // legacy middleware reading the content
    })
    app.use(koaShim.streamingResponses(shouting))
    app.use(async (ctx: any, next: any) => {
      if (ctx.path !== '/legacy') return next()
      ctx.type = 'application/x-ndjson'
      ctx.body = rows() // 1. not a streaming route: read whole
    })
    app.use(koaShim.streaming(async (ctx: any) => {
      if (ctx.path === '/rows') {
        ctx.type = 'text/plain' // koa-compress, like compression(), skips NDJSON by default
        koaShim.sendStream(ctx, rows(), { frozen: true })
      } else if (ctx.path === '/file') {
        ctx.freezeHeader('ETag', tag)
        ctx.freezeHeader('Last-Modified', stat.mtime.toUTCString())
        ctx.freezeHeader('Content-Encoding')
        ctx.type = 'text/plain'
        if (ctx.fresh) {
          ctx.status = 304
          return
        }
        ctx.length = stat.size
        koaShim.sendStream(ctx, fs.createReadStream(file), { frozen: true })
      } else if (ctx.path === '/file.gz') {
        ctx.freezeHeader('ETag', tag)
        ctx.type = 'text/plain'
        koaShim.sendStream(ctx, fs.createReadStream(file), { frozen: true })
      } else if (ctx.path === '/events') {
        ctx.type = 'text/event-stream'
        ctx.freezeHeader('Cache-Control', 'no-cache')
        koaShim.sendStream(ctx, ticks(acks, 4), { frozen: true })
      }
    }))
    running = await listen(app)
  })
  afterAll(() => running.close())

  it('1. a non-streaming response with iterator content is read whole: legacy middleware reads it, @koa/etag tags it', async () => {
    legacyRead.length = 0
    const reply = await fetchAll(running.port, '/legacy')
    expect(reply.body.toString()).toBe('{"row":0}\n{"row":1}\n{"row":2}\n') // not streaming: wrappers do not apply
    expect(reply.headers.etag).toBeDefined()
    expect(legacyRead.map(String)).toEqual(['{"row":0}\n{"row":1}\n{"row":2}\n'])
  })

  it('2. a streaming response with iterator content goes through koa-compress', async () => {
    const reply = await fetchAll(running.port, '/rows', { 'accept-encoding': 'gzip' })
    expect(reply.headers['content-encoding']).toBe('gzip')
    expect(zlib.gunzipSync(reply.body).toString()).toBe('{"row":0}\n{"row":1}\n{"row":2}\n')
  })

  it('3. a large file keeps its frozen validators and Content-Length, uncompressed, and revalidates with 304', async () => {
    const reply = await fetchAll(running.port, '/file', { 'accept-encoding': 'gzip, br' })
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.headers).toMatchObject({ etag: tag, 'last-modified': stat.mtime.toUTCString(), 'content-length': String(stat.size) })
    expect(reply.headers['content-encoding']).toBeUndefined()
    expect(sha(reply.body)).toBe(sha(content))
    expect((await fetchAll(running.port, '/file', { 'if-none-match': tag })).status).toBe(304)
  })

  it('4. the same file compressed on the fly keeps its frozen ETag and has no Content-Length', async () => {
    const reply = await fetchAll(running.port, '/file.gz', { 'accept-encoding': 'gzip' })
    expect(reply.headers).toMatchObject({ etag: tag, 'content-encoding': 'gzip' })
    expect(reply.headers['content-length']).toBeUndefined()
    expect(sha(zlib.gunzipSync(reply.body))).toBe(sha(content))
  })

  it('5 and 6. a long response of Server-Sent Events reaches the client event by event through koa-compress', async () => {
    acks.length = 0
    const res = await get(running.port, '/events', { 'accept-encoding': 'gzip' })
    expect(res.headers).toMatchObject({ 'content-encoding': 'gzip', 'cache-control': 'no-cache' })
    const lines = await lockstep(res.pipe(decoder('gzip')!), 4, () => acks.shift()?.())
    expect(lines).toEqual(['data: tick 0', 'data: tick 1', 'data: tick 2', 'data: tick 3'])
    res.destroy()
  })
})
