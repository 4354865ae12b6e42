/**
 * The route that runs is decided after the shim: middleware behind it
 * rewrites the URL or the method, a router passes on with next('router'), or
 * the route lives behind vhost. Each handler still gets the mode it was
 * marked for.
 */
import request from 'supertest'
import vhost from 'vhost'
import methodOverride from 'method-override'
import { streamShim, streaming } from '../../adapters/express/index.js'
import { frameworks, sha256 } from '../helpers/http.js'

const json = (size: number) => JSON.stringify({ data: 'x'.repeat(size) })

describe.each(frameworks)('%s: mispredicted after the shim', (_name, express) => {
  const streamed = streaming(async (req, res) => res.json({ mode: 'streaming', sha: sha256(await req.bodyStream.buffer()) }))
  const legacy = (req: any, res: any) => res.json({ mode: 'buffered', body: req.body })

  it('predicted streaming, a rewrite behind the shim sends it to a legacy route: req.body is there', async () => {
    const app = express()
    app.use(streamShim())
    app.use((req: any, _res: any, next: any) => {
      if (req.headers['x-legacy'] === '1') req.url = '/legacy' + req.url
      next()
    })
    app.put('/upload', streamed)
    app.put('/legacy/upload', legacy)
    const reply = await request(app).put('/upload').set('x-legacy', '1').send({ a: 1 })
    expect(reply.body).toEqual({ mode: 'buffered', body: { a: 1 } })
  })

  it('predicted buffered, a rewrite behind the shim sends it to a streaming route: bodyStream has every byte', async () => {
    const app = express()
    app.use(streamShim())
    app.use((req: any, _res: any, next: any) => {
      req.url = req.url.replace(/^\/v1/, '')
      next()
    })
    app.put('/upload', streamed)
    const body = json(50 * 1024)
    const reply = await request(app).put('/v1/upload').set('content-type', 'application/json').send(body)
    expect(reply.body).toEqual({ mode: 'streaming', sha: sha256(body) })
  })

  it("predicted streaming, rewritten to a Stripe-style route with its own express.raw(): the route's parser reads the bytes", async () => {
    const app = express()
    app.use(streamShim())
    app.use((req: any, _res: any, next: any) => {
      if (req.headers['stripe-signature'] !== undefined) req.url = '/webhooks/stripe'
      next()
    })
    app.post('/events', streamed)
    app.post('/webhooks/stripe', express.raw({ type: 'application/json' }), (req: any, res: any) =>
      res.json({ buffer: Buffer.isBuffer(req.body), sha: sha256(req.body) }))
    const payload = '{"id":"evt_1","type":"charge.succeeded"}'
    const reply = await request(app).post('/events').set('stripe-signature', 't=1,v1=x').set('content-type', 'application/json').send(payload)
    expect(reply.body).toEqual({ buffer: true, sha: sha256(payload) })
  })

  it('method-override behind the shim (POST sent as PUT to a legacy route): req.body is there', async () => {
    const app = express()
    app.use(streamShim())
    app.use(methodOverride('X-HTTP-Method-Override'))
    app.post('/items', streamed)
    app.put('/items', legacy)
    const reply = await request(app).post('/items').set('x-http-method-override', 'PUT').send({ b: 2 })
    expect(reply.body).toEqual({ mode: 'buffered', body: { b: 2 } })
  })

  it("next('router') from unmarked middleware inside streaming(router): the legacy route after it gets req.body", async () => {
    const app = express()
    app.use(streamShim())
    const api = express.Router()
    api.use((req: any, _res: any, next: any) => next(req.headers['x-skip'] === '1' ? 'router' : undefined))
    api.put('/doc', streamed)
    app.use('/api', streaming(api))
    app.put('/api/doc', legacy)
    const skipped = await request(app).put('/api/doc').set('x-skip', '1').send({ c: 3 })
    expect(skipped.body).toEqual({ mode: 'buffered', body: { c: 3 } })
    const body = json(300 * 1024)
    const kept = await request(app).put('/api/doc').set('content-type', 'application/json').send(body)
    expect(kept.body).toEqual({ mode: 'streaming', sha: sha256(body) })
  })

  it('vhost: a streaming route and a legacy route in the host-routed app each get their mode', async () => {
    const api = express()
    api.put('/upload', streamed)
    api.post('/form', legacy)
    const app = express()
    app.use(streamShim())
    app.use(vhost('api.example.test', api))
    app.put('/upload', legacy)
    const body = json(50 * 1024)
    const up = await request(app).put('/upload').set('host', 'api.example.test').set('content-type', 'application/json').send(body)
    expect(up.body).toEqual({ mode: 'streaming', sha: sha256(body) })
    const form = await request(app).post('/form').set('host', 'api.example.test').send({ d: 4 })
    expect(form.body).toEqual({ mode: 'buffered', body: { d: 4 } })
    const main = await request(app).put('/upload').set('host', 'www.example.test').send({ e: 5 })
    expect(main.body).toEqual({ mode: 'buffered', body: { e: 5 } })
  })
})
