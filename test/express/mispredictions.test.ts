/**
 * When the route that runs is not the one first predicted from the method and
 * URL, its handler still gets the mode it was marked for.
 */
import request from 'supertest'
import { streamShim, streaming } from '../../adapters/express/index.js'
import { frameworks, sha256 } from '../helpers/http.js'

const bigJson = () => JSON.stringify({ data: 'x'.repeat(500 * 1024) }) // over the buffered 100 KB default

describe.each(frameworks)('%s: the route that runs is the one predicted, or gets its mode anyway', (_name, express) => {
  it('follows a URL rewritten by middleware in front of the shim (a prefix stripper)', async () => {
    const app = express()
    app.use((req: any, _res: any, next: any) => {
      req.url = req.url.replace(/^\/v1/, '')
      next()
    })
    app.use(streamShim())
    app.put('/upload', streaming(async (req, res) => res.json({ sha: sha256(await req.bodyStream.buffer()) })))
    const body = bigJson()
    const reply = await request(app).put('/v1/upload').set('content-type', 'application/json').send(body)
    expect([reply.status, reply.body]).toEqual([200, { sha: sha256(body) }])
  })

  it('follows a method rewritten by middleware in front of the shim (method-override, header form)', async () => {
    const app = express()
    app.use((req: any, _res: any, next: any) => {
      const override = req.headers['x-http-method-override']
      if (req.method === 'POST' && typeof override === 'string') req.method = override.toUpperCase()
      next()
    })
    app.use(streamShim())
    app.put('/upload', streaming(async (req, res) => res.json({ sha: sha256(await req.bodyStream.buffer()) })))
    const body = bigJson()
    const reply = await request(app).post('/upload').set('x-http-method-override', 'PUT').set('content-type', 'application/json').send(body)
    expect([reply.status, reply.body]).toEqual([200, { sha: sha256(body) }])
  })

  it("gives the next route its req.body when a streaming handler passes on with next('route') unread", async () => {
    const app = express()
    app.use(streamShim())
    app.post('/items', streaming(async (req, res, next) => {
      if (req.headers['x-legacy'] === '1') return next('route')
      res.json({ streamed: (await req.bodyStream.buffer()).length })
    }))
    app.post('/items', (req: any, res: any) => res.json({ legacy: req.body }))
    const legacy = await request(app).post('/items').set('x-legacy', '1').set('content-type', 'application/json').send('{"a":1}')
    expect(legacy.body).toEqual({ legacy: { a: 1 } })
    const streamed = await request(app).post('/items').set('content-type', 'application/json').send('{"a":1}')
    expect(streamed.body).toEqual({ streamed: 7 })
  })

  it('gives a route added to an app of 1000 routes after its first requests its req.body, when middleware behind the shim rewrites the URL to it', async () => {
    const app = express()
    app.use(streamShim())
    app.use((req: any, _res: any, next: any) => {
      if (req.headers['x-legacy'] === '1') req.url = '/legacy'
      next()
    })
    for (let g = 0; g < 100; g++) {
      const group = express.Router()
      for (let r = 0; r < 10; r++) group.put(`/r${r}/:id`, (_req: any, res: any) => res.json({ group: g }))
      app.use(`/g${g}`, group)
    }
    app.put('/upload', streaming(async (req, res) => res.json({ streamed: (await req.bodyStream.buffer()).length })))
    const send = (legacy: boolean) => request(app).put('/upload').set('x-legacy', legacy ? '1' : '0').set('content-type', 'application/json').send('{"a":1}')
    expect((await send(false)).body).toEqual({ streamed: 7 }) // the app's summary is made now, without the route below
    app.put('/legacy', (req: any, res: any) => res.json({ legacy: req.body }))
    expect((await send(true)).body).toEqual({ legacy: { a: 1 } })
  })

  it('sees a route swapped for another in place, the stack length unchanged', async () => {
    const app = express()
    app.use(streamShim())
    app.put('/file', (req: any, res: any) => res.json({ mode: 'buffered', length: req.body?.length ?? null }))
    const body = JSON.stringify({ data: 'y'.repeat(300 * 1024) })
    const send = () => request(app).put('/file').set('content-type', 'application/json').send(body)
    expect((await send()).status).toBe(413) // buffered: over the 100 KB default (and its decision now cached)
    const replacement = express.Router()
    replacement.put('/file', streaming(async (req, res) => res.json({ mode: 'streaming', length: (await req.bodyStream.buffer()).length })))
    const stack = (app._router ?? app.router).stack
    const index = stack.findIndex((layer: any) => layer.route?.path === '/file')
    stack[index] = replacement.stack[0]
    const reply = await send()
    expect([reply.status, reply.body]).toEqual([200, { mode: 'streaming', length: body.length }])
  })
})
