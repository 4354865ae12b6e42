/**
 * body-parser 1.x semantics on Express 4: `streamShim()`, `buffered()` and
 * the drop-ins give an Express 4 app what its own `express.json()` &
 * `express.urlencoded()` give (`req.body` is `{}` when nothing was parsed,
 * forms are `extended`), and an Express 5 app what Express 5's give. The form
 * apps below are written in the style of Express's own examples (a "remember
 * me" checkbox, a user edit form with `user[name]` fields).
 */
import { buffered, json, streamShim, streaming, urlencoded } from '../../adapters/express/index.js'
import { listen, send, type Reply, type Running } from '../helpers/http.js'

const express4 = require('express4')
const express5 = require('express')

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }

// body-parser 1.x warns once that `extended` should be given; keep the test output clean.
process.noDeprecation = true

type Parsers = (app: any) => void

/**
 * A small app with two form routes: a "remember me" checkbox that sets a
 * cookie, and a user edit form read as `req.body.user`. `parsers` mounts the
 * body parsing under test; errors are answered with their status and type.
 */
function formApp(express: any, parsers: Parsers) {
  const app = express()
  const users: Record<string, { name: string; email: string }> = { 1: { name: 'tj', email: 'tj@example.com' } }
  parsers(app)
  app.post('/remember', (req: any, res: any) => {
    if (req.body.remember) res.cookie('remember', '1', { maxAge: 60_000 })
    res.redirect('/')
  })
  app.post('/user/:id/edit', (req: any, res: any) => {
    const user = users[req.params.id]
    user.name = req.body.user.name
    user.email = req.body.user.email
    res.json(user)
  })
  app.post('/echo', (req: any, res: any) => res.json({ body: req.body ?? null, type: typeof req.body }))
  app.use((err: any, _req: any, res: any, _next: any) => {
    res.status(err.status ?? 500).json({ error: err.message, type: err.type })
  })
  return app
}

/** What a test compares: the status, the cookie set, and the body. */
function outcome(reply: Reply) {
  return { status: reply.status, cookie: reply.headers['set-cookie']?.[0]?.split(';')[0] ?? null, text: reply.text }
}

const cases = {
  'a "remember me" form without a body': ['/remember', ''] as const,
  'a "remember me" form with the box ticked': ['/remember', 'remember=on'] as const,
  'a user edit form with user[name] fields': ['/user/1/edit', 'user[name]=Tobi&user[email]=tobi%40example.com'] as const,
}

describe.each([
  ['Express 4', express4],
  ['Express 5', express5],
] as const)("Express's form examples on %s", (name, express) => {
  // The app as its authors wrote it: Express's own bundled parser.
  const own: Parsers = (app) => app.use(express.urlencoded({ extended: true }))
  const variants: [string, Parsers][] = [
    ["streamShim() first, given the parser's options", (app) => app.use(streamShim({ urlencoded: { extended: true } }))],
    ['the urlencoded() drop-in in its place', (app) => app.use(urlencoded({ extended: true }))],
    // On Express 4, forms are extended by default, as express.urlencoded() parses them.
    ...(name === 'Express 4'
      ? ([
          ['streamShim() first, without options', (app) => app.use(streamShim())],
          ['the urlencoded() drop-in without options', (app) => app.use(urlencoded())],
        ] as [string, Parsers][])
      : []),
  ]
  const servers: Running[] = []
  let reference: Running

  beforeAll(async () => {
    reference = await listen(formApp(express, own))
    servers.push(reference)
  })

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  describe.each(variants)('with %s', (_variant, parsers) => {
    let running: Running

    beforeAll(async () => {
      running = await listen(formApp(express, parsers))
      servers.push(running)
    })

    it.each(Object.entries(cases))('answers %s as the app with its own parser does', async (_case, [path, body]) => {
      const expected = outcome(await send(reference.port, 'POST', path, body, FORM))
      const actual = outcome(await send(running.port, 'POST', path, body, FORM))
      expect(actual).toEqual(expected)
    })

    it('reads nested user[name] fields', async () => {
      const reply = await send(running.port, 'POST', '/user/1/edit', 'user[name]=Tobi&user[email]=t%40example.com', FORM)
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.text)).toEqual({ name: 'Tobi', email: 't@example.com' })
    })

    it('sets the cookie when the box is ticked', async () => {
      const reply = await send(running.port, 'POST', '/remember', 'remember=on', FORM)
      expect(reply.status).toBe(302)
      expect(reply.headers['set-cookie']?.[0]).toMatch(/^remember=1;/)
    })

    if (name === 'Express 4') {
      it('reads req.body.remember of a post without a body (req.body is {})', async () => {
        const reply = await send(running.port, 'POST', '/remember', '', {})
        expect(reply.status).toBe(302)
        expect(reply.headers['set-cookie']).toBeUndefined()
      })
    } else {
      it('leaves req.body undefined for a post without a body, as Express 5 does', async () => {
        const reply = await send(running.port, 'POST', '/echo', '', {})
        expect(JSON.parse(reply.text)).toEqual({ body: null, type: 'undefined' })
      })
    }
  })
})

describe('choosing the body-parser major', () => {
  const servers: Running[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  async function start(app: any): Promise<number> {
    const running = await listen(app)
    servers.push(running)
    return running.port
  }

  const echo = (req: any, res: any) => res.json({ body: req.body ?? null, type: typeof req.body })
  const errors = (err: any, _req: any, res: any, _next: any) =>
    res.status(err.status ?? 500).json({ error: err.message, type: err.type ?? err.name })

  async function body(port: number, path: string, payload: string, headers: Record<string, string> = FORM) {
    const reply = await send(port, 'POST', path, payload, headers)
    return { status: reply.status, ...JSON.parse(reply.text) }
  }

  it('detects Express 4 inside a sub-app mounted on an Express 4 app', async () => {
    const sub = express4()
    sub.post('/echo', echo)
    const app = express4()
    app.use(streamShim())
    app.use('/sub', sub)
    const port = await start(app)
    expect(await body(port, '/sub/echo', '', {})).toMatchObject({ body: {}, type: 'object' })
    expect(await body(port, '/sub/echo', 'a[b]=1')).toMatchObject({ body: { a: { b: '1' } } })
  })

  it('keeps body-parser 2 on an Express 5 app that aliases app._router for old libraries', async () => {
    const app = express5()
    ;(app as any)._router = app.router
    app.use(streamShim())
    app.post('/echo', echo)
    const port = await start(app)
    expect(await body(port, '/echo', '', {})).toMatchObject({ body: null, type: 'undefined' })
    expect(await body(port, '/echo', 'a[b]=1')).toMatchObject({ body: { 'a[b]': '1' } })
  })

  it('follows bodyParser: 2 on Express 4', async () => {
    const app = express4()
    app.use(streamShim({ bodyParser: 2 }))
    app.post('/echo', echo)
    const port = await start(app)
    expect(await body(port, '/echo', '', {})).toMatchObject({ body: null, type: 'undefined' })
    expect(await body(port, '/echo', 'a[b]=1')).toMatchObject({ body: { 'a[b]': '1' } })
  })

  it('follows bodyParser: 1 on Express 5', async () => {
    const app = express5()
    app.use(streamShim({ bodyParser: 1 }))
    app.post('/echo', echo)
    app.post('/json', json({ bodyParser: 1 }), echo)
    app.use(errors)
    const port = await start(app)
    expect(await body(port, '/echo', '', {})).toMatchObject({ body: {}, type: 'object' })
    expect(await body(port, '/echo', 'a[b]=1')).toMatchObject({ body: { a: { b: '1' } } })
    expect(await body(port, '/echo', 'a=1', { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' })).toMatchObject({
      status: 415,
      type: 'charset.unsupported',
    })
    expect(await body(port, '/json', '', {})).toMatchObject({ body: {}, type: 'object' })
  })

  it("lets a buffered() route's bodyParser win over the shim's", async () => {
    const app4 = express4()
    app4.use(streamShim())
    app4.post('/two', buffered({ bodyParser: 2 }, echo))
    const app5 = express5()
    app5.use(streamShim({ bodyParser: 2 }))
    app5.post('/one', buffered({ bodyParser: 1 }, echo))
    const [port4, port5] = [await start(app4), await start(app5)]
    expect(await body(port4, '/two', 'a[b]=1')).toMatchObject({ body: { 'a[b]': '1' } })
    expect(await body(port5, '/one', 'a[b]=1')).toMatchObject({ body: { a: { b: '1' } } })
    expect(await body(port5, '/one', '', {})).toMatchObject({ body: {}, type: 'object' })
  })

  it('gives a buffered() route without the shim body-parser 1.x semantics on Express 4', async () => {
    const app = express4()
    app.post('/echo', buffered({ limit: '1mb' }, echo))
    const port = await start(app)
    expect(await body(port, '/echo', '', {})).toMatchObject({ body: {}, type: 'object' })
    expect(await body(port, '/echo', 'user[name]=Tobi')).toMatchObject({ body: { user: { name: 'Tobi' } } })
  })

  it('still gives a streaming route on Express 4 its body stream', async () => {
    const app = express4()
    app.use(streamShim())
    app.post('/stream', streaming(async (req, res) => res.json({ text: await req.bodyStream.text() })))
    app.post('/empty', streaming(async (req, res) => res.json({ text: await req.bodyStream.text() })))
    const port = await start(app)
    expect(await body(port, '/stream', 'a[b]=1')).toEqual({ status: 200, text: 'a[b]=1' })
    expect(await body(port, '/empty', '', {})).toEqual({ status: 200, text: '' })
  })

  it('answers a body-parser 1.x option error for each Express 4 request when the major was not given', async () => {
    // depth must be a number for an extended parser; body-parser 2 forms are not extended by default.
    const shim = () => streamShim({ urlencoded: { depth: -1 } })
    const app4 = express4()
    app4.use(shim())
    app4.post('/echo', echo)
    app4.use(errors)
    const app5 = express5()
    app5.use(shim())
    app5.post('/echo', echo)
    const [port4, port5] = [await start(app4), await start(app5)]
    expect(await body(port4, '/echo', 'a=1')).toEqual({ status: 500, error: 'option depth must be a zero or a positive number', type: 'TypeError' })
    expect(await body(port5, '/echo', 'a=1')).toMatchObject({ status: 200, body: { a: '1' } })
    expect(() => streamShim({ bodyParser: 1, urlencoded: { depth: -1 } })).toThrow(TypeError)
  })

  it.each([3, '1', null])('refuses bodyParser: %p when the middleware is created', (value) => {
    expect(() => streamShim({ bodyParser: value } as never)).toThrow(new TypeError('option bodyParser must be 1 or 2'))
    expect(() => buffered({ bodyParser: value } as never, echo)).toThrow(new TypeError('option bodyParser must be 1 or 2'))
    expect(() => urlencoded({ bodyParser: value } as never)).toThrow(new TypeError('option bodyParser must be 1 or 2'))
  })

  it('parses JSON with the shim on Express 4 as express.json() does', async () => {
    const app = express4()
    app.use(streamShim())
    app.post('/echo', echo)
    app.use(errors)
    const port = await start(app)
    expect(await body(port, '/echo', '{"a":[1]}', JSON_TYPE)).toMatchObject({ body: { a: [1] } })
    expect(await body(port, '/echo', '', JSON_TYPE)).toMatchObject({ body: {} })
    expect(await body(port, '/echo', '"x"', JSON_TYPE)).toMatchObject({ status: 400, type: 'entity.parse.failed' })
  })
})
