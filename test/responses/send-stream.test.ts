/**
 * sendStream() on Express 4 and 5, plain node:http and node:http2: every kind
 * of source, chunk by chunk, with backpressure, closed when the client goes
 * away, and never a clean end when the source fails or misses its length.
 */
import http2 from 'node:http2'
import { Readable } from 'node:stream'
import { sendStream, streaming } from '../../adapters/express/index.js'
import { EXPRESS_VERSIONS, deferred, fetchAll, get, h2Fetch, listen, listenH2, lockstep, settled, until, type Running } from './helpers.js'

const CHUNKS = ['alpha\n', 'beta\n', 'gamma\n']

/** A source of each kind producing CHUNKS; `closed` tells whether it was closed early. */
const sources: Record<string, () => unknown> = {
  'an async generator': () =>
    (async function* () {
      for (const chunk of CHUNKS) yield chunk
    })(),
  'a Node Readable': () => Readable.from(CHUNKS.map((c) => Buffer.from(c))),
  'a web ReadableStream': () => ReadableStream.from(CHUNKS.map((c) => new TextEncoder().encode(c))),
  'a sync iterable': () => CHUNKS,
}

/** An endless source of 64 KiB chunks that counts what it produced and whether it was closed. */
function endless(kind: 'generator' | 'readable' | 'web') {
  const state = { produced: 0, closed: false }
  const chunk = Buffer.alloc(64 * 1024, 'x')
  const limit = 1024 ** 3
  let source: unknown
  if (kind === 'generator') {
    source = (async function* () {
      try {
        while (state.produced < limit) {
          state.produced += chunk.length
          yield chunk
        }
      } finally {
        state.closed = true
      }
    })()
  } else if (kind === 'readable') {
    source = new Readable({
      read() {
        state.produced += chunk.length
        this.push(chunk)
      },
      destroy(err, cb) {
        state.closed = true
        cb(err)
      },
    })
  } else {
    source = new ReadableStream({
      pull(controller) {
        state.produced += chunk.length
        controller.enqueue(new Uint8Array(chunk))
      },
      cancel() {
        state.closed = true
      },
    }, { highWaterMark: 1 })
  }
  return { source, state }
}

describe.each(EXPRESS_VERSIONS)('sendStream() on %s', (_name, express) => {
  let running: Running
  let route: (req: any, res: any) => unknown
  beforeAll(async () => {
    const app = express()
    app.get('/s', streaming((req: any, res: any) => route(req, res)))
    running = await listen(app)
  })
  afterAll(() => running.close())

  it.each(Object.keys(sources))('sends %s chunk by chunk and ends cleanly', async (kind) => {
    route = (req, res) => sendStream(res, sources[kind]() as never)
    const reply = await fetchAll(running.port, '/s')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.body.toString()).toBe(CHUNKS.join(''))
    expect(reply.headers['transfer-encoding']).toBe('chunked')
  })

  it('takes status and headers from a fetch Response', async () => {
    route = (req, res) =>
      sendStream(res, new Response(ReadableStream.from([new TextEncoder().encode('made')]), {
        status: 201,
        headers: { 'content-type': 'text/plain', 'x-origin': 'response', 'set-cookie': 'a=1' },
      }))
    const reply = await fetchAll(running.port, '/s')
    expect(reply).toMatchObject({ status: 201, complete: true })
    expect(reply.headers).toMatchObject({ 'content-type': 'text/plain', 'x-origin': 'response', 'set-cookie': ['a=1'] })
    expect(reply.body.toString()).toBe('made')
  })

  it('writes each chunk as it is produced: the next is pulled only after the client has the last', async () => {
    const acks: Array<() => void> = []
    route = (req, res) =>
      sendStream(res, (async function* () {
        for (let i = 0; i < 5; i++) {
          const ack = deferred()
          acks.push(ack.resolve)
          yield `event ${i}\n`
          await ack.promise
        }
      })())
    const res = await get(running.port, '/s')
    const lines = await lockstep(res, 5, () => acks.shift()?.())
    expect(lines).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'event 4'])
  })

  it.each(['generator', 'readable', 'web'] as const)(
    'does not pull a %s source while the client does not read, and closes it when the client goes away',
    async (kind) => {
      const { source, state } = endless(kind)
      const done = deferred<unknown>()
      route = (req, res) => sendStream(res, source as never).then(done.resolve, done.resolve)
      const res = await get(running.port, '/s')
      res.pause()
      const produced = await settled(() => state.produced)
      // Socket buffers on loopback hold a few MiB; the source could produce 1 GiB.
      expect(produced).toBeLessThan(32 * 1024 * 1024)
      res.destroy()
      await until(() => state.closed)
      expect(await done.promise).toBeUndefined() // resolves: a client going away is not an error
    },
  )

  it('closes a source waiting for its next chunk when the client goes away', async () => {
    const state = { closed: false }
    const first = deferred()
    route = (req, res) =>
      sendStream(res, new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('first\n'))
          first.resolve()
        },
        cancel() {
          state.closed = true
        },
      }))
    const res = await get(running.port, '/s')
    await first.promise
    res.destroy()
    await until(() => state.closed)
  })

  it('resets the connection when the source throws mid-way, never ending the response cleanly', async () => {
    route = (req, res) =>
      sendStream(res, (async function* () {
        yield 'partial\n'
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('database went away')
      })())
    const reply = await fetchAll(running.port, '/s')
    expect(reply.status).toBe(200)
    expect(reply.body.toString()).toBe('partial\n')
    expect(reply.complete).toBe(false)
  })

  it('leaves a source failing before its first chunk to the error handler (a 500)', async () => {
    route = (req, res) =>
      sendStream(res, {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('no rows')) }),
      })
    const reply = await fetchAll(running.port, '/s')
    expect(reply).toMatchObject({ status: 500, complete: true })
  })

  it.each([
    ['overshoots', 5, 'partial'],
    ['undershoots', 50, 'partial'],
  ])('resets the connection when the source %s the declared Content-Length', async (_how, length) => {
    route = (req, res) => {
      res.setHeader('Content-Length', length)
      return sendStream(res, (async function* () {
        yield 'part'
        await new Promise((resolve) => setTimeout(resolve, 10))
        yield 'ial'
      })())
    }
    const reply = await fetchAll(running.port, '/s')
    expect(reply.complete).toBe(false)
    expect(reply.body.length).toBeLessThanOrEqual(Math.min(length, 7))
  })

  it('sends a body that meets its declared Content-Length with it', async () => {
    route = (req, res) => {
      res.setHeader('Content-Length', 7)
      return sendStream(res, ['part', 'ial'])
    }
    const reply = await fetchAll(running.port, '/s')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.headers['content-length']).toBe('7')
    expect(reply.body.toString()).toBe('partial')
  })
})

describe('sendStream() on a plain node:http response', () => {
  it('streams and ends cleanly', async () => {
    const running = await listen((req: any, res: any) => {
      res.setHeader('content-type', 'text/plain')
      void sendStream(res, sources['an async generator']() as never)
    })
    try {
      const reply = await fetchAll(running.port, '/')
      expect(reply).toMatchObject({ status: 200, complete: true })
      expect(reply.body.toString()).toBe(CHUNKS.join(''))
    } finally {
      await running.close()
    }
  })

  it('destroys the socket when the source throws mid-way, and rejects', async () => {
    const outcome = deferred<unknown>()
    const running = await listen((req: any, res: any) => {
      sendStream(res, (async function* () {
        yield 'partial\n'
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('broken')
      })()).then(() => outcome.resolve('resolved'), outcome.resolve)
    })
    try {
      const reply = await fetchAll(running.port, '/')
      expect(reply.complete).toBe(false)
      expect(reply.body.toString()).toBe('partial\n')
      expect(await outcome.promise).toMatchObject({ message: 'broken' })
    } finally {
      await running.close()
    }
  })

  it('rejects with response.size.invalid when the source undershoots', async () => {
    const outcome = deferred<unknown>()
    const running = await listen((req: any, res: any) => {
      res.setHeader('content-length', 10)
      sendStream(res, ['12345']).then(() => outcome.resolve('resolved'), outcome.resolve)
    })
    try {
      const reply = await fetchAll(running.port, '/')
      expect(reply.complete).toBe(false)
      expect(await outcome.promise).toMatchObject({ type: 'response.size.invalid', expected: 10, sent: 5 })
    } finally {
      await running.close()
    }
  })
})

describe('sendStream() on node:http2 (compatibility API)', () => {
  let h2: Awaited<ReturnType<typeof listenH2>>
  let route: (req: any, res: any) => Promise<void>
  beforeAll(async () => {
    h2 = await listenH2((req, res) => {
      route(req, res).catch(() => {})
    })
  })
  afterAll(() => h2.close())

  it('streams a body and ends the stream cleanly', async () => {
    route = (req, res) => sendStream(res, sources['a web ReadableStream']() as never)
    const reply = await h2Fetch(h2.session, '/')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.body.toString()).toBe(CHUNKS.join(''))
  })

  it('resets the stream with INTERNAL_ERROR when the source throws mid-way', async () => {
    route = (req, res) =>
      sendStream(res, (async function* () {
        yield 'partial\n'
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('broken')
      })())
    const reply = await h2Fetch(h2.session, '/')
    expect(reply.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR)
    expect(reply.complete).toBe(false)
  })

  it('resets the stream when the source undershoots its Content-Length', async () => {
    route = (req, res) => {
      res.setHeader('content-length', 100)
      return sendStream(res, ['short'])
    }
    const reply = await h2Fetch(h2.session, '/')
    expect(reply.complete).toBe(false)
  })

  it('does not let a stream the client does not read stall another on the same connection', async () => {
    const slow = endless('generator')
    route = (req, res) => (req.url === '/slow' ? sendStream(res, slow.source as never) : sendStream(res, ['fast']))
    const stalled = h2.session.request({ ':path': '/slow' })
    stalled.on('error', () => {})
    stalled.pause()
    await until(() => slow.state.produced > 0)
    const produced = await settled(() => slow.state.produced)
    expect(produced).toBeLessThan(8 * 1024 * 1024)
    const reply = await h2Fetch(h2.session, '/fast')
    expect(reply).toMatchObject({ status: 200, complete: true })
    expect(reply.body.toString()).toBe('fast')
    stalled.close(http2.constants.NGHTTP2_CANCEL)
    await until(() => slow.state.closed)
  })
})
