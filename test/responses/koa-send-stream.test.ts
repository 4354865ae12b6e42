/**
 * Streaming responses on Koa 2 and 3, over HTTP/1.1 and node:http2:
 * sendStream(ctx, source) and `ctx.body = iterable` on a streaming() route.
 */
import http2 from 'node:http2'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { sendStream, streaming, streamingResponses } from '../../adapters/koa/index.js'
import { KOA_VERSIONS, deferred, fetchAll, get, h2Fetch, listen, lockstep, settled, until, type Running } from './helpers.js'

const CHUNKS = ['alpha\n', 'beta\n', 'gamma\n']

const sources: Record<string, () => unknown> = {
  'an async generator': () =>
    (async function* () {
      for (const chunk of CHUNKS) yield chunk
    })(),
  'a Node Readable': () => Readable.from(CHUNKS.map((c) => Buffer.from(c))),
  'a web ReadableStream': () => ReadableStream.from(CHUNKS.map((c) => new TextEncoder().encode(c))),
}

function endless() {
  const state = { produced: 0, closed: false }
  const chunk = Buffer.alloc(64 * 1024, 'x')
  const source = (async function* () {
    try {
      for (;;) {
        state.produced += chunk.length
        yield chunk
      }
    } finally {
      state.closed = true
    }
  })()
  return { source, state }
}

function failing(afterFirst: boolean) {
  return (async function* () {
    if (afterFirst) {
      yield 'partial\n'
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(afterFirst ? 'source failed mid-way' : 'source failed early')
  })()
}

describe.each(KOA_VERSIONS)('streaming responses on %s', (_name, Koa) => {
  let running: Running
  let route: (ctx: any) => unknown
  const errors: string[] = []
  beforeAll(async () => {
    const app = new Koa()
    app.use(streamingResponses())
    app.use(async (ctx: any, next: any) => (ctx.path.startsWith('/s') ? next() : route(ctx)))
    app.use(streaming(async (ctx: any) => route(ctx)))
    running = await listen(app)
    app.on('error', (err: Error) => errors.push(err.message))
  })
  afterAll(() => running.close())

  it.each(Object.keys(sources))('sendStream(ctx, %s) sends it and ends cleanly', async (kind) => {
    route = (ctx) => sendStream(ctx, sources[kind]() as never)
    const reply = await fetchAll(running.port, '/s')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.body.toString()).toBe(CHUNKS.join(''))
  })

  it('sends ctx.body = async iterable on a streaming() route as it is produced', async () => {
    const acks: Array<() => void> = []
    route = (ctx) => {
      ctx.type = 'application/x-ndjson'
      ctx.body = (async function* () {
        for (let i = 0; i < 4; i++) {
          const ack = deferred()
          acks.push(ack.resolve)
          yield `{"n":${i}}\n`
          await ack.promise
        }
      })()
    }
    const res = await get(running.port, '/s')
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(await lockstep(res, 4, () => acks.shift()?.())).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}'])
  })

  it('reads ctx.body = async iterable on a route that is not streaming into one buffered body', async () => {
    route = (ctx) => {
      ctx.body = sources['an async generator']()
    }
    const reply = await fetchAll(running.port, '/plain')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.headers['content-length']).toBe(String(CHUNKS.join('').length))
    expect(reply.body.toString()).toBe(CHUNKS.join(''))
  })

  it('sends ctx.body = fetch Response with its status and headers', async () => {
    route = (ctx) => {
      ctx.body = new Response('from a Response', { status: 202, headers: { 'x-origin': 'response', 'content-type': 'text/plain' } })
    }
    const reply = await fetchAll(running.port, '/plain')
    expect(reply).toMatchObject({ status: 202, complete: true })
    expect(reply.headers).toMatchObject({ 'x-origin': 'response', 'content-type': 'text/plain' })
    expect(reply.body.toString()).toBe('from a Response')
  })

  it('does not pull the source while the client does not read, and closes it when the client goes away', async () => {
    const { source, state } = endless()
    route = (ctx) => sendStream(ctx, source)
    const res = await get(running.port, '/s')
    res.pause()
    const produced = await settled(() => state.produced)
    expect(produced).toBeLessThan(32 * 1024 * 1024)
    res.destroy()
    await until(() => state.closed)
  })

  it('resets the connection when the source throws mid-way', async () => {
    route = (ctx) => sendStream(ctx, failing(true))
    const reply = await fetchAll(running.port, '/s')
    expect(reply.body.toString()).toBe('partial\n')
    expect(reply.complete).toBe(false)
  })

  it('answers 500 through Koa\'s error handling when the source fails before its first chunk', async () => {
    route = (ctx) => sendStream(ctx, failing(false))
    // Only this test's error: the mid-way failure of the test before may be reported late.
    const early = () => errors.filter((message) => message === 'source failed early')
    const reply = await fetchAll(running.port, '/s')
    expect(reply).toMatchObject({ status: 500, complete: true })
    expect(reply.body.toString()).toBe('Internal Server Error')
    expect(early()).toEqual(['source failed early'])
    route = (ctx) => sendStream(ctx, CHUNKS)
    expect(await fetchAll(running.port, '/s')).toMatchObject({ status: 200, complete: true })
    expect(early()).toEqual(['source failed early'])
  })

  it.each([
    ['overshoots', 5],
    ['undershoots', 50],
  ])('resets the connection when the source %s the declared Content-Length', async (_how, length) => {
    route = (ctx) => {
      ctx.length = length
      sendStream(ctx, (async function* () {
        yield 'part'
        await new Promise((resolve) => setTimeout(resolve, 10))
        yield 'ial'
      })())
    }
    const reply = await fetchAll(running.port, '/s')
    expect(reply.complete).toBe(false)
    expect(reply.body.length).toBeLessThanOrEqual(Math.min(length, 7))
  })
})

describe.each(KOA_VERSIONS)('streaming responses on %s over node:http2', (_name, Koa) => {
  let server: http2.Http2Server
  let session: http2.ClientHttp2Session
  let slow = { produced: 0, closed: false }
  beforeAll(async () => {
    const app = new Koa()
    app.silent = true
    app.use(streamingResponses())
    app.use(streaming(async (ctx: any) => {
      if (ctx.path === '/ok') sendStream(ctx, sources['a web ReadableStream']() as never)
      else if (ctx.path === '/fail') sendStream(ctx, failing(true))
      else if (ctx.path === '/fail-early') sendStream(ctx, failing(false))
      else if (ctx.path === '/short') {
        ctx.length = 100
        sendStream(ctx, ['short'])
      } else if (ctx.path === '/slow') {
        const { source, state } = endless()
        slow = state
        sendStream(ctx, source)
      } else ctx.body = 'fast'
    }))
    server = http2.createServer(app.callback())
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    session.on('error', () => {})
  })
  afterAll(async () => {
    session.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  it('streams a body and ends the stream cleanly', async () => {
    const reply = await h2Fetch(session, '/ok')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.body.toString()).toBe(CHUNKS.join(''))
  })

  it('resets the stream with INTERNAL_ERROR when the source throws mid-way', async () => {
    const reply = await h2Fetch(session, '/fail')
    expect(reply.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR)
  })

  it('answers 500 on the stream when the source fails before its first chunk, and the session serves on', async () => {
    const reply = await h2Fetch(session, '/fail-early')
    expect(reply).toMatchObject({ status: 500, complete: true })
    expect(reply.body.toString()).toBe('Internal Server Error')
    expect(await h2Fetch(session, '/ok')).toMatchObject({ status: 200, complete: true })
  })

  it('resets the stream when the source undershoots its Content-Length', async () => {
    const reply = await h2Fetch(session, '/short')
    expect(reply.complete).toBe(false)
  })

  it('keeps a stream the client does not read from stalling another on the same connection', async () => {
    const stalled = session.request({ ':path': '/slow' })
    stalled.on('error', () => {})
    stalled.pause()
    await until(() => slow.produced > 0)
    expect(await settled(() => slow.produced)).toBeLessThan(8 * 1024 * 1024)
    const reply = await h2Fetch(session, '/fast')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.body.toString()).toBe('fast')
    stalled.close(http2.constants.NGHTTP2_CANCEL)
    await until(() => slow.closed)
  })
})
