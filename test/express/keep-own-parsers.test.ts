/**
 * "Add the shim, keep everything": `streamShim()` first, the app's own body
 * parsers left where they are. On a buffered route they read the body with
 * their own options, at their own place, with their own errors, exactly as
 * without the shim; streaming routes in the same app still stream.
 */
import { createHmac } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import request from 'supertest'
import * as dropIns from '../../adapters/express/index.js'
import { streamShim, streaming } from '../../adapters/express/index.js'
import { bytes, frameworks, sha256 } from '../helpers/http.js'

const SECRET = 'whsec_test'
const sign = (body: Buffer | string) => createHmac('sha256', SECRET).update(body).digest('hex')

describe.each(frameworks)('%s: the app keeps its own parsers after streamShim()', (_name, express) => {
  function app() {
    const app = express()
    app.use(streamShim())
    const order: string[] = []
    app.use((req: any, _res: any, next: any) => {
      order.length = 0
      order.push('logger')
      req.order = order
      next()
    })
    // Stripe's documented layout: the webhook route reads its own raw body.
    app.post('/webhook', express.raw({ type: 'application/json' }), (req: any, res: any) => {
      const ok = Buffer.isBuffer(req.body) && sign(req.body) === req.headers['stripe-signature']
      res.status(ok ? 200 : 400).json({ buffer: Buffer.isBuffer(req.body), ok })
    })
    app.post('/verify', express.json({ verify: (_req: any, _res: any, buf: Buffer) => {
      if (sign(buf) !== _req.headers['x-signature']) throw new Error('bad signature')
    } }), (req: any, res: any) => res.json(req.body))
    app.post('/small', express.json({ limit: '1kb' }), (req: any, res: any) => res.json({ size: JSON.stringify(req.body).length }))
    app.post('/loose', express.json({ strict: false }), (req: any, res: any) => res.json({ body: req.body }))
    app.post('/nested', express.urlencoded({ extended: true }), (req: any, res: any) => res.json(req.body))
    app.post('/params', express.urlencoded({ extended: false, parameterLimit: 2000 }), (req: any, res: any) => res.json({ n: Object.keys(req.body).length }))
    app.post('/no-inflate', express.json({ inflate: false }), (req: any, res: any) => res.json(req.body))
    app.post('/drop-in', dropIns.json({ limit: '1kb' }), (req: any, res: any) => res.json(req.body))
    app.put('/upload', streaming(async (req, res) => res.json({ sha: sha256(await req.bodyStream.buffer()) })))
    app.use((err: any, req: any, res: any, _next: any) => {
      res.status(err.status ?? 500).json({ type: err.type ?? null, order: req.order ?? [] })
    })
    return app
  }

  it("gives Stripe's route-level express.raw() the exact bytes, so the signature checks", async () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', data: { amount: 2000 } })
    const reply = await request(app()).post('/webhook').set('content-type', 'application/json').set('stripe-signature', sign(payload)).send(payload)
    expect([reply.status, reply.body]).toEqual([200, { buffer: true, ok: true }])
  })

  it('runs the app parser\'s verify, and its 403 goes through the middleware in front', async () => {
    const good = await request(app()).post('/verify').set('content-type', 'application/json').set('x-signature', sign('{"a":1}')).send('{"a":1}')
    expect([good.status, good.body]).toEqual([200, { a: 1 }])
    const bad = await request(app()).post('/verify').set('content-type', 'application/json').set('x-signature', 'nope').send('{"a":1}')
    expect([bad.status, bad.body]).toEqual([403, { type: 'entity.verify.failed', order: ['logger'] }])
  })

  it("applies the app parser's own limit, not the shim's", async () => {
    const over = await request(app()).post('/small').set('content-type', 'application/json').send(JSON.stringify({ s: 'x'.repeat(2000) }))
    expect([over.status, over.body.type]).toEqual([413, 'entity.too.large'])
    expect(over.body.order).toEqual(['logger']) // raised at the parser's place, after the logger
  })

  it("applies the app parser's strict: false", async () => {
    const reply = await request(app()).post('/loose').set('content-type', 'application/json').send('"just a string"')
    expect([reply.status, reply.body]).toEqual([200, { body: 'just a string' }])
  })

  it("applies the app parser's extended: true and parameterLimit", async () => {
    const nested = await request(app()).post('/nested').type('form').send('user[name]=tobi&user[email]=t%40x.io')
    expect(nested.body).toEqual({ user: { name: 'tobi', email: 't@x.io' } })
    const many = Array.from({ length: 1500 }, (_, i) => `k${i}=${i}`).join('&')
    const params = await request(app()).post('/params').type('form').send(many)
    expect([params.status, params.body]).toEqual([200, { n: 1500 }])
  })

  it("applies the app parser's inflate: false", async () => {
    const reply = await request(app()).post('/no-inflate').set('content-type', 'application/json').set('content-encoding', 'gzip').send(gzipSync('{"a":1}'))
    expect([reply.status, reply.body.type]).toEqual([415, 'encoding.unsupported'])
  })

  it("lets stream-shim's own drop-in after the shim apply its options", async () => {
    const over = await request(app()).post('/drop-in').set('content-type', 'application/json').send(JSON.stringify({ s: 'x'.repeat(2000) }))
    expect([over.status, over.body.type]).toEqual([413, 'entity.too.large'])
    const ok = await request(app()).post('/drop-in').set('content-type', 'application/json').send('{"a":1}')
    expect(ok.body).toEqual({ a: 1 })
  })

  it('still streams the streaming routes of the same app', async () => {
    const body = bytes(300_000, 9)
    const reply = await request(app()).put('/upload').set('content-type', 'application/octet-stream').send(body)
    expect(reply.body).toEqual({ sha: sha256(body) })
  })
})

describe.each(frameworks)('%s: app-wide parsers kept after streamShim() step aside on streaming routes', (_name, express) => {
  function app() {
    const app = express()
    app.use(streamShim())
    app.use(express.json()) // body-parser 1.x on Express 4, 2.x on Express 5: 100 KB limit
    app.use(express.urlencoded({ extended: false }))
    app.use(express.raw({ type: 'application/octet-stream' }))
    app.put('/upload', streaming(async (req, res) => {
      const body = await req.bodyStream.buffer()
      res.json({ sha: sha256(body), length: body.length })
    }))
    app.post('/form', (req: any, res: any) => res.json(req.body))
    return app
  }

  it.each(['application/json', 'application/x-www-form-urlencoded', 'application/octet-stream'])(
    'streams a 1 MB %s body past them, byte for byte',
    async (type) => {
      // ASCII, sent as a string: superagent would encode a Buffer as JSON for these types.
      const body = Buffer.from(Array.from(bytes(1024 * 1024, 12), (b) => 97 + (b % 26)))
      const reply = await request(app()).put('/upload').set('content-type', type).send(body.toString('latin1'))
      expect([reply.status, reply.body]).toEqual([200, { sha: sha256(body), length: body.length }])
    },
  )

  it('still lets them parse the buffered routes of the same app', async () => {
    const reply = await request(app()).post('/form').type('form').send('a=1&b=2')
    expect(reply.body).toEqual({ a: '1', b: '2' })
  })
})

describe.each(frameworks)('%s: a sub-app mounted with app.use(express()), where the lookup cannot see', (_name, express) => {
  function app() {
    const app = express()
    app.use(streamShim())
    const own = express()
    own.use(express.urlencoded({ extended: true })) // the sub-app's own parser and options
    own.put('/pet/:id', (req: any, res: any) => res.json(req.body))
    const bare = express()
    bare.post('/note', (req: any, res: any) => res.json({ body: req.body, raw: req.rawBody?.toString() }))
    app.use(own)
    app.use('/bare', bare)
    return app
  }

  it("lets the sub-app's own parser parse with its options", async () => {
    const reply = await request(app()).put('/pet/2').type('form').send('pet[name]=Tobi&pet[species]=ferret')
    expect(reply.body).toEqual({ pet: { name: 'Tobi', species: 'ferret' } })
  })

  it('still parses for a sub-app with no parser of its own', async () => {
    const reply = await request(app()).post('/bare/note').set('content-type', 'application/json').send('{"text":"hi"}')
    expect(reply.body).toEqual({ body: { text: 'hi' }, raw: '{"text":"hi"}' })
  })
})
