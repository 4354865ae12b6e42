/**
 * `req.rawBody` and `req._body` on Express requests. stream-shim gives them
 * through accessors on Express's request prototype, reading the state it keeps
 * beside the request, instead of adding them to each request: on Node 20 and
 * 22 every request Express serves has a hidden class of its own, and each
 * property added to it costs a copy of that class. What handlers read, and
 * what middleware assigns, must be as with own properties.
 */
import { createServer, streamShim, streaming } from '../../adapters/express/index.js'
import { frameworks, listen, request, send, type Running } from '../helpers/http.js'

const JSON_TYPE = { 'content-type': 'application/json' }

/** What a handler sees of the two fields, and which properties the request gained since `before`. */
function fields(req: any, before: string[]) {
  return {
    raw: Buffer.isBuffer(req.rawBody) ? req.rawBody.toString() : req.rawBody === undefined ? 'undefined' : typeof req.rawBody,
    flag: req._body === undefined ? 'undefined' : req._body,
    body: req.body,
    added: Object.keys(req).filter((key) => !before.includes(key)),
  }
}

describe.each(frameworks)('%s: req.rawBody and req._body', (_name, express) => {
  let running: Running

  beforeAll(async () => {
    const app = express()
    app.use((req: any, _res: any, next: any) => {
      req.keysBefore = Object.keys(req)
      next()
    })
    app.use(streamShim({ raw: { type: 'application/octet-stream' } }))
    app.post('/fields', (req: any, res: any) => res.json(fields(req, req.keysBefore)))
    app.get('/fields', (req: any, res: any) => res.json(fields(req, req.keysBefore)))
    app.post(
      '/replaced',
      (req: any, _res: any, next: any) => {
        req.rawBody = Buffer.from('replaced')
        req._body = false
        next()
      },
      (req: any, res: any) => res.json(fields(req, req.keysBefore)),
    )
    // A route of the app's own in front of the sub-app, so that the shim sees where the request goes and claims the body.
    app.post(/^\/sub\//, (_req: any, _res: any, next: any) => next())
    const sub = express()
    sub.post('/fields', (req: any, res: any) => res.json(fields(req, req.keysBefore)))
    app.use('/sub', sub)
    // A streaming route that passes its request on unread: the buffered route after it gets the parsed body.
    app.post('/handover', streaming((_req: any, _res: any, next: any) => next('route')))
    app.post('/handover', (req: any, res: any) => res.json(fields(req, req.keysBefore)))
    running = await listen(app)
  })

  afterAll(() => running.close())

  it('gives the decoded bytes and the parsed flag without adding either to the request', async () => {
    const reply = await send(running.port, 'POST', '/fields', '{"a":1}', JSON_TYPE)
    expect(reply.status).toBe(200)
    const seen = JSON.parse(reply.text)
    expect(seen).toMatchObject({ raw: '{"a":1}', flag: true, body: { a: 1 } })
    expect(seen.added).not.toContain('rawBody')
    expect(seen.added).not.toContain('_body')
  })

  it('leaves both undefined on a request it did not parse', async () => {
    const get = await request(running.port, { method: 'GET', path: '/fields' }, (req) => {
      req.end()
    })
    expect(JSON.parse(get.text)).toMatchObject({ raw: 'undefined', flag: 'undefined' })
    const unknownType = await send(running.port, 'POST', '/fields', 'GIF89a', { 'content-type': 'image/gif' })
    expect(JSON.parse(unknownType.text)).toMatchObject({ raw: 'undefined', flag: 'undefined' })
  })

  it('lets middleware after the shim replace them, as own properties of the request', async () => {
    const reply = await send(running.port, 'POST', '/replaced', '{"a":1}', JSON_TYPE)
    const seen = JSON.parse(reply.text)
    expect(seen).toMatchObject({ raw: 'replaced', flag: false, body: { a: 1 } })
    expect(seen.added).toEqual(expect.arrayContaining(['rawBody', '_body']))
  })

  it('gives them in a mounted sub-app, whose requests have other prototypes', async () => {
    const reply = await send(running.port, 'POST', '/sub/fields', Buffer.from([0, 1, 2, 0x41]), { 'content-type': 'application/octet-stream' })
    expect(JSON.parse(reply.text)).toMatchObject({ raw: '\u0000\u0001\u0002A', flag: true })
  })

  it('gives them to the buffered route after a streaming route that passed its request on unread', async () => {
    const reply = await send(running.port, 'POST', '/handover', '{"handed":"over"}', JSON_TYPE)
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.text)).toMatchObject({ raw: '{"handed":"over"}', flag: true, body: { handed: 'over' } })
  })

  it('gives them under createServer(app), whose requests are born with the prototypes', async () => {
    const app = express()
    app.use(streamShim())
    app.post('/fields', (req: any, res: any) => res.json(fields(req, [])))
    const server = await listen(createServer(app))
    try {
      const reply = await send(server.port, 'POST', '/fields', '{"b":2}', JSON_TYPE)
      expect(JSON.parse(reply.text)).toMatchObject({ raw: '{"b":2}', flag: true, body: { b: 2 } })
    } finally {
      await server.close()
    }
  })

  it("sets them on the request when the app's request prototype has a rawBody of its own", async () => {
    const app = express()
    app.request.rawBody = null // an app declaring the field, as some do for their types
    app.use(streamShim())
    app.post('/fields', (req: any, res: any) => res.json(fields(req, [])))
    const server = await listen(app)
    try {
      const reply = await send(server.port, 'POST', '/fields', '{"c":3}', JSON_TYPE)
      const seen = JSON.parse(reply.text)
      expect(seen).toMatchObject({ raw: '{"c":3}', flag: true })
      expect(seen.added).toEqual(expect.arrayContaining(['rawBody', '_body']))
    } finally {
      await server.close()
    }
  })
})
