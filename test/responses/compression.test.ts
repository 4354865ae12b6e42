/**
 * With `compression` (Express) and `koa-compress` (Koa) mounted, each chunk
 * of a streaming response reaches the client as it is produced, gzip and br,
 * without handler changes; buffered responses are compressed as before.
 *
 * "As produced" is checked without timing: the server produces event n+1
 * only after the client has decoded event n, so a chunk held back in an
 * encoder stalls the exchange and the test fails.
 */
import compression from 'compression'
import koaCompress from 'koa-compress'
import { randomBytes } from 'node:crypto'
import zlib from 'node:zlib'
import { sendStream as expressSend, streamingResponses as expressResponses } from '../../adapters/express/index.js'
import { streaming as koaStreaming, streamingResponses as koaResponses } from '../../adapters/koa/index.js'
import { EXPRESS_VERSIONS, KOA_VERSIONS, decoder, deferred, fetchAll, get, listen, lockstep, type Running } from './helpers.js'

const EVENTS = 5

/** Server-Sent Events, the next produced only once `acks` lets it. */
function events(acks: Array<() => void>) {
  return (async function* () {
    for (let i = 0; i < EVENTS; i++) {
      const ack = deferred()
      acks.push(ack.resolve)
      yield `data: {"tick":${i}}\n\n`
      await ack.promise
    }
  })()
}

/** 24 chunks of 128 KiB that gzip cannot shrink. */
const noise = Array.from({ length: 24 }, () => randomBytes(128 * 1024))

/** A source that fails before producing anything. */
function failingEarly(): AsyncIterable<string> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise((resolve, reject) => setTimeout(() => reject(new Error('no rows today')), 5)),
    }),
  }
}

const big = { rows: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `row ${i}` })) }

async function expectLockstep(port: number, path: string, encoding: 'gzip' | 'br', acks: Array<() => void>) {
  const res = await get(port, path, { 'accept-encoding': encoding })
  expect(res.headers['content-encoding']).toBe(encoding)
  expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
  const decoded = res.pipe(decoder(encoding)!)
  const lines = await lockstep(decoded, EVENTS, () => acks.shift()?.())
  expect(lines).toEqual(Array.from({ length: EVENTS }, (_, i) => `data: {"tick":${i}}`))
  res.destroy()
}

describe.each(EXPRESS_VERSIONS)('compression on %s', (_name, express) => {
  let running: Running
  let drainListeners = 0
  const acks: Array<() => void> = []
  beforeAll(async () => {
    const app = express()
    app.use(compression())
    app.use(expressResponses())
    app.get('/events', (req: any, res: any) => {
      res.type('text/event-stream')
      return expressSend(res, events(acks))
    })
    app.get('/buffered', (req: any, res: any) => res.json(big))
    app.get('/noise', (req: any, res: any, next: () => void) => {
      // Count the 'drain' listeners added through compression's res.on.
      const on = res.on
      res.on = function (type: string, listener: () => void) {
        if (type === 'drain') drainListeners++
        return on.call(this, type, listener)
      }
      next()
    }, (req: any, res: any) => {
      res.type('application/octet-stream')
      return expressSend(res, noise)
    })
    running = await listen(app)
  })
  afterAll(() => running.close())

  it.each(['gzip', 'br'] as const)('delivers each event of a streaming response as it is produced (%s)', async (encoding) => {
    acks.length = 0
    await expectLockstep(running.port, '/events', encoding, acks)
  })

  it('waits for drain through the encoder with one listener, not one per wait', async () => {
    // Incompressible chunks larger than the encoder's buffer: every write waits
    // for 'drain', and compression() moves 'drain' listeners onto its encoder,
    // where removing them from res cannot reach them.
    drainListeners = 0
    const reply = await fetchAll(running.port, '/noise', { 'accept-encoding': 'gzip' })
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(zlib.gunzipSync(reply.body).equals(Buffer.concat(noise))).toBe(true)
    expect(drainListeners).toBe(1)
  })

  it('still compresses a buffered res.json() response whole, with its ETag', async () => {
    const reply = await fetchAll(running.port, '/buffered', { 'accept-encoding': 'gzip' })
    expect(reply.headers['content-encoding']).toBe('gzip')
    expect(reply.headers.etag).toMatch(/^W\/"/)
    expect(JSON.parse(zlib.gunzipSync(reply.body).toString())).toEqual(big)
  })
})

describe.each(KOA_VERSIONS)('koa-compress on %s', (_name, Koa) => {
  let running: Running
  const acks: Array<() => void> = []
  beforeAll(async () => {
    const app = new Koa()
    app.use(koaCompress())
    app.use(koaResponses())
    app.use(async (ctx: any, next: any) => {
      if (ctx.path !== '/buffered') return next()
      ctx.body = big
    })
    app.use(koaStreaming(async (ctx: any) => {
      ctx.type = 'text/event-stream'
      ctx.body = ctx.path === '/fail-early' ? failingEarly() : events(acks)
    }))
    running = await listen(app)
  })
  afterAll(() => running.close())

  it.each(['gzip', 'br'] as const)('delivers each event of ctx.body = iterable as it is produced (%s)', async (encoding) => {
    acks.length = 0
    await expectLockstep(running.port, '/events', encoding, acks)
  })

  it('answers 500 when a source fails before its first chunk, compressed or not', async () => {
    for (const encoding of ['gzip', 'identity']) {
      const reply = await fetchAll(running.port, '/fail-early', { 'accept-encoding': encoding })
      expect(reply).toMatchObject({ status: 500, complete: true })
      expect(reply.headers['content-encoding']).toBeUndefined()
      expect(reply.body.toString()).toBe('Internal Server Error')
    }
  })

  it('still compresses a buffered JSON body', async () => {
    const reply = await fetchAll(running.port, '/buffered', { 'accept-encoding': 'gzip' })
    expect(reply.headers['content-encoding']).toBe('gzip')
    expect(JSON.parse(zlib.gunzipSync(reply.body).toString())).toEqual(big)
  })
})
