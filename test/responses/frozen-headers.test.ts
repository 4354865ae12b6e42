/**
 * Frozen headers on Express 4/5 and Koa 2/3: every way of changing a frozen
 * header throws `header.frozen`, and real middleware (etag, compression,
 * koa-compress, @koa/etag, koa-conditional-get, helmet, apicache) never turns
 * a frozen header into a wrong response.
 */
import apicacheModule from 'apicache'
import compression from 'compression'
import helmet from 'helmet'
import koaCompress from 'koa-compress'
import koaEtag from '@koa/etag'
import conditional from 'koa-conditional-get'
import { freezeHeader, isHeaderFrozen, sendStream, streamingResponses } from '../../adapters/express/index.js'
import { streamingResponses as koaResponses, sendStream as koaSend } from '../../adapters/koa/index.js'
import { EXPRESS_VERSIONS, KOA_VERSIONS, fetchAll, listen, type Running } from './helpers.js'

const TEXT = 'a compressible body '.repeat(200)

/** Run `attempt`, answer with what it threw (its type and header), or 'allowed'. */
function outcome(attempt: () => unknown): { type?: string; header?: string; result?: string } {
  try {
    attempt()
    return { result: 'allowed' }
  } catch (err: any) {
    return { type: err.type, header: err.header }
  }
}

describe.each(EXPRESS_VERSIONS)('frozen headers on %s', (_name, express) => {
  let running: Running
  beforeAll(async () => {
    const app = express()
    app.use(helmet())
    app.use(compression())
    app.use(streamingResponses())
    const attempts: Record<string, (res: any) => unknown> = {
      'res.set': (res) => res.set('Cache-Control', 'max-age=60'),
      'res.header': (res) => res.header('cache-control', 'max-age=60'),
      'res.append': (res) => res.append('Cache-Control', 'public'),
      'res.setHeader': (res) => res.setHeader('CACHE-CONTROL', 'max-age=60'),
      'res.removeHeader': (res) => res.removeHeader('Cache-Control'),
      'res.writeHead': (res) => res.writeHead(200, { 'Cache-Control': 'max-age=60' }),
      'res.writeHead (array)': (res) => res.writeHead(200, ['cache-control', 'max-age=60']),
      'res.set (same value)': (res) => res.set('Cache-Control', 'no-cache'),
      'res.freezeHeader (other value)': (res) => res.freezeHeader('Cache-Control', 'private'),
    }
    app.get('/attempt/:what', (req: any, res: any) => {
      res.freezeHeader('Cache-Control', 'no-cache')
      const result = outcome(() => attempts[req.params.what](res))
      res.json({ ...result, frozen: res.isHeaderFrozen('cache-control'), other: res.isHeaderFrozen('etag') })
    })
    app.get('/etag', (req: any, res: any) => {
      res.freezeHeader('ETag', '"v1"')
      res.send(TEXT)
    })
    app.get('/identity', (req: any, res: any) => {
      res.freezeHeader('Content-Encoding')
      res.type('text/plain').send(TEXT)
    })
    app.get('/identity-stream', (req: any, res: any) => {
      freezeHeader(res, 'Content-Encoding', 'identity')
      res.type('text/plain')
      return sendStream(res, [TEXT, TEXT])
    })
    app.get('/throws', (req: any, res: any) => {
      res.freezeHeader('Content-Type', 'application/x-ndjson')
      res.freezeHeader('Content-Encoding')
      throw new Error('after freezing')
    })
    app.get('/no-cache', (req: any, res: any) => {
      res.freezeHeader('Cache-Control', 'no-cache')
      res.type('text/plain').send('fresh')
    })
    running = await listen(app)
  })
  afterAll(() => running.close())

  it.each([
    'res.set',
    'res.header',
    'res.append',
    'res.setHeader',
    'res.removeHeader',
    'res.writeHead',
    'res.writeHead (array)',
    'res.freezeHeader (other value)',
  ])('%s on a frozen header throws header.frozen naming it', async (what) => {
    const reply = await fetchAll(running.port, `/attempt/${encodeURIComponent(what)}`)
    expect(JSON.parse(reply.body.toString())).toEqual({ type: 'header.frozen', header: 'Cache-Control', frozen: true, other: false })
    expect(reply.headers['cache-control']).toBe('no-cache')
  })

  it('lets the same value be set again', async () => {
    const reply = await fetchAll(running.port, '/attempt/res.set%20(same%20value)')
    expect(JSON.parse(reply.body.toString())).toMatchObject({ result: 'allowed' })
  })

  it('keeps a frozen ETag through res.send and answers If-None-Match with it (304)', async () => {
    const first = await fetchAll(running.port, '/etag')
    expect(first.headers.etag).toBe('"v1"')
    const again = await fetchAll(running.port, '/etag', { 'if-none-match': '"v1"' })
    expect(again.status).toBe(304)
  })

  it.each(['/identity', '/identity-stream'])('sends %s uncompressed and intact under compression when Content-Encoding is frozen absent', async (path) => {
    const reply = await fetchAll(running.port, path, { 'accept-encoding': 'gzip, br' })
    expect(reply.headers['content-encoding']).toBeUndefined()
    expect(reply.headers['cache-control']).toBe('no-transform')
    expect(reply.body.toString()).toBe(path === '/identity' ? TEXT : TEXT + TEXT)
  })

  it('lifts the freezes for the error response when the handler throws after freezing', async () => {
    const reply = await fetchAll(running.port, '/throws')
    expect(reply).toMatchObject({ status: 500, complete: true })
    expect(reply.headers['content-type']).toMatch(/^text\/html/)
  })

  it('keeps a frozen Cache-Control beside helmet, which leaves it alone', async () => {
    const reply = await fetchAll(running.port, '/no-cache')
    expect(reply.headers['cache-control']).toBe('no-cache')
    expect(reply.headers['x-content-type-options']).toBe('nosniff')
    expect(reply.headers['content-security-policy']).toBeDefined()
  })

  it('exposes isHeaderFrozen() as a function too', () => {
    expect(typeof isHeaderFrozen).toBe('function')
  })
})

describe.each(EXPRESS_VERSIONS)('frozen Cache-Control under apicache on %s', (_name, express) => {
  let running: Running
  let apicache: any
  let calls = 0
  const types: string[] = []
  beforeAll(async () => {
    apicache = apicacheModule.newInstance({ statusCodes: { include: [200] } })
    const app = express()
    app.use(streamingResponses())
    app.get('/cached', apicache.middleware('1 minute'), (req: any, res: any) => {
      calls++
      res.freezeHeader('Cache-Control', 'no-cache')
      res.type('text/plain').send(`call ${calls}`)
    })
    app.use((err: any, req: any, res: any, _next: any) => {
      types.push(err.type)
      res.status(500).send('failed')
    })
    running = await listen(app)
  })
  afterAll(async () => {
    apicache.clear()
    await running.close()
  })

  it('fails the view with header.frozen (a 500) each time, never serving it from apicache with a max-age', async () => {
    // apicache ignores the response's Cache-Control and sets max-age in writeHead: the frozen header refuses it.
    const first = await fetchAll(running.port, '/cached')
    const second = await fetchAll(running.port, '/cached')
    expect([first.status, second.status]).toEqual([500, 500])
    expect(types).toEqual(['header.frozen', 'header.frozen'])
    expect(calls).toBe(2) // never served from the cache
  })
})

describe.each(KOA_VERSIONS)('frozen headers on %s', (_name, Koa) => {
  let running: Running
  beforeAll(async () => {
    const app = new Koa()
    app.use(conditional())
    app.use(koaEtag())
    app.use(koaCompress())
    app.use(koaResponses())
    const attempts: Record<string, (ctx: any) => unknown> = {
      'ctx.set': (ctx) => ctx.set('Cache-Control', 'max-age=60'),
      'ctx.set (object)': (ctx) => ctx.set({ 'cache-control': 'max-age=60' }),
      'ctx.append': (ctx) => ctx.append('Cache-Control', 'public'),
      'ctx.remove': (ctx) => ctx.remove('Cache-Control'),
      'ctx.response.set': (ctx) => ctx.response.set('Cache-Control', 'max-age=60'),
      'ctx.res.setHeader': (ctx) => ctx.res.setHeader('Cache-Control', 'max-age=60'),
      'ctx.res.writeHead': (ctx) => ctx.res.writeHead(200, { 'cache-control': 'max-age=60' }),
    }
    app.use(async (ctx: any) => {
      const [, first, what] = ctx.path.split('/')
      if (first === 'attempt') {
        ctx.response.freezeHeader('Cache-Control', 'no-cache')
        const result = outcome(() => attempts[decodeURIComponent(what)](ctx))
        ctx.body = { ...result, frozen: ctx.isHeaderFrozen('Cache-Control'), viaResponse: ctx.response.isHeaderFrozen('cache-control') }
      } else if (first === 'etag') {
        ctx.freezeHeader('ETag', '"v1"')
        ctx.body = TEXT
      } else if (first === 'identity') {
        ctx.freezeHeader('Content-Encoding')
        ctx.type = 'text/plain'
        ctx.body = TEXT
      } else if (first === 'identity-stream') {
        ctx.freezeHeader('Content-Encoding')
        ctx.type = 'text/plain'
        koaSend(ctx, [TEXT, TEXT])
      } else if (first === 'throws') {
        ctx.freezeHeader('Content-Type', 'application/x-ndjson')
        ctx.freezeHeader('Cache-Control', 'no-cache')
        throw new Error('after freezing')
      }
    })
    running = await listen(app)
  })
  afterAll(() => running.close())

  it.each(['ctx.set', 'ctx.set (object)', 'ctx.append', 'ctx.remove', 'ctx.response.set', 'ctx.res.setHeader', 'ctx.res.writeHead'])(
    '%s on a frozen header throws header.frozen naming it',
    async (what) => {
      const reply = await fetchAll(running.port, `/attempt/${encodeURIComponent(what)}`)
      expect(JSON.parse(reply.body.toString())).toEqual({ type: 'header.frozen', header: 'Cache-Control', frozen: true, viaResponse: true })
      expect(reply.headers['cache-control']).toBe('no-cache')
    },
  )

  it('keeps a frozen ETag against @koa/etag and answers If-None-Match with it through koa-conditional-get (304)', async () => {
    const first = await fetchAll(running.port, '/etag')
    expect(first.headers.etag).toBe('"v1"')
    const again = await fetchAll(running.port, '/etag', { 'if-none-match': '"v1"' })
    expect(again.status).toBe(304)
  })

  it.each(['/identity', '/identity-stream'])('sends %s uncompressed and intact under koa-compress when Content-Encoding is frozen absent', async (path) => {
    const reply = await fetchAll(running.port, path, { 'accept-encoding': 'gzip, br' })
    expect(reply.headers['content-encoding']).toBeUndefined()
    expect(reply.body.toString()).toBe(path === '/identity' ? TEXT : TEXT + TEXT)
  })

  it("lets Koa's error handler reset the headers of the error response", async () => {
    const reply = await fetchAll(running.port, '/throws')
    expect(reply).toMatchObject({ status: 500, complete: true })
    expect(reply.headers['content-type']).toMatch(/^text\/plain/)
    expect(reply.headers['cache-control']).toBeUndefined()
  })
})
