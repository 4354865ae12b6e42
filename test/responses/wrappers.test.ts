/**
 * The read-once rule: middleware observes or changes a streaming body by
 * wrapping its iterator (wrappers compose in registration order), and asking
 * for the whole content of a streaming response throws `response.streaming`.
 */
import { sendStream as expressSend, streamingResponses as expressResponses } from '../../adapters/express/index.js'
import { sendStream as koaSend, streaming as koaStreaming, streamingResponses as koaResponses } from '../../adapters/koa/index.js'
import { EXPRESS_VERSIONS, KOA_VERSIONS, fetchAll, listen, type Running } from './helpers.js'

/** A wrapper that tags each chunk with `tag`. */
function tagging(tag: string) {
  return async function* (body: AsyncIterable<Buffer>) {
    for await (const chunk of body) yield `${tag}(${chunk.toString()})`
  }
}

/** A wrapper that counts bytes into `counter` without changing them. */
function counting(counter: { bytes: number }) {
  return async function* (body: AsyncIterable<Buffer>) {
    for await (const chunk of body) {
      counter.bytes += chunk.length
      yield chunk
    }
  }
}

describe.each(EXPRESS_VERSIONS)('response wrappers on %s', (_name, express) => {
  let running: Running
  const counter = { bytes: 0 }
  const seen: unknown[] = []
  beforeAll(async () => {
    const app = express()
    app.use(expressResponses(tagging('a')))
    app.use(expressResponses(tagging('b')))
    app.use(expressResponses(counting(counter)))
    app.use((req: any, res: any, next: any) => {
      res.on('finish', () => {
        try {
          seen.push(res.content)
        } catch (err) {
          seen.push(err)
        }
      })
      next()
    })
    app.get('/wrapped', (req: any, res: any) => expressSend(res, ['x', 'y']))
    app.get('/frozen', (req: any, res: any) => expressSend(res, ['x', 'y'], { frozen: true }))
    app.get('/buffered', (req: any, res: any) => res.send('whole'))
    running = await listen(app)
  })
  afterAll(() => running.close())

  it('applies wrappers in registration order, the first around the source', async () => {
    counter.bytes = 0
    const reply = await fetchAll(running.port, '/wrapped')
    expect(reply.body.toString()).toBe('b(a(x))b(a(y))')
    expect(counter.bytes).toBe('b(a(x))b(a(y))'.length)
  })

  it('skips the wrappers for a body sent with { frozen: true }', async () => {
    counter.bytes = 0
    const reply = await fetchAll(running.port, '/frozen')
    expect(reply.body.toString()).toBe('xy')
    expect(counter.bytes).toBe(0)
  })

  it('throws response.streaming when middleware asks for the whole content of a streaming response', async () => {
    seen.length = 0
    await fetchAll(running.port, '/wrapped')
    expect(seen[0]).toMatchObject({ type: 'response.streaming', status: 500 })
    expect((seen[0] as Error).message).toMatch(/wrap its iterator/)
  })

  it('leaves a buffered response alone: res.content does not throw, wrappers do not run', async () => {
    seen.length = 0
    counter.bytes = 0
    const reply = await fetchAll(running.port, '/buffered')
    expect(reply.body.toString()).toBe('whole')
    expect(seen).toEqual([undefined])
    expect(counter.bytes).toBe(0)
  })
})

describe.each(KOA_VERSIONS)('response wrappers on %s', (_name, Koa) => {
  let running: Running
  const seen: unknown[] = []
  beforeAll(async () => {
    const app = new Koa()
    app.use(async (ctx: any, next: any) => {
      await next()
      try {
        seen.push(ctx.response.content)
      } catch (err) {
        seen.push(err)
      }
    })
    app.use(koaResponses(tagging('a')))
    app.use(koaResponses(tagging('b')))
    app.use(async (ctx: any, next: any) => {
      if (ctx.path === '/wrapped') koaSend(ctx, ['x', 'y'])
      else if (ctx.path === '/frozen') koaSend(ctx, ['x', 'y'], { frozen: true })
      else if (ctx.path === '/legacy') {
        ctx.body = (async function* () {
          yield 'legacy '
          yield 'iterator'
        })()
      } else return next()
    })
    app.use(koaStreaming(async (ctx: any) => {
      ctx.body = (async function* () {
        yield 'x'
        yield 'y'
      })()
    }))
    running = await listen(app)
  })
  afterAll(() => running.close())

  it('applies wrappers in registration order to sendStream() bodies', async () => {
    expect((await fetchAll(running.port, '/wrapped')).body.toString()).toBe('b(a(x))b(a(y))')
  })

  it('applies them to ctx.body = iterable on a streaming() route too', async () => {
    expect((await fetchAll(running.port, '/streamed')).body.toString()).toBe('b(a(x))b(a(y))')
  })

  it('skips them for a body sent with { frozen: true }', async () => {
    expect((await fetchAll(running.port, '/frozen')).body.toString()).toBe('xy')
  })

  it('throws response.streaming from ctx.response.content of a streaming response', async () => {
    seen.length = 0
    await fetchAll(running.port, '/wrapped')
    expect(seen[0]).toMatchObject({ type: 'response.streaming' })
  })

  it('gives legacy middleware the whole content of an iterable body on a route that is not streaming', async () => {
    seen.length = 0
    const reply = await fetchAll(running.port, '/legacy')
    expect(reply.body.toString()).toBe('legacy iterator')
    expect(seen).toEqual([Buffer.from('legacy iterator')])
  })
})
