/**
 * A route's own buffered options win over the shim's, option by option: its
 * shared `limit`, `inflate` and `timeout` beat the shim's per-parser entries,
 * its per-parser entries beat its shared options, and what it does not say
 * (a `verify`, say) is still the shim's.
 */
import zlib from 'node:zlib'
import { buffered, streamShim } from '../../adapters/express/index.js'
import { frameworks, listen, send, type Running } from '../helpers/http.js'

const JSON_TYPE = { 'content-type': 'application/json' }

/** A JSON document of about `size` bytes. */
function document(size: number): string {
  return JSON.stringify({ rows: 'x'.repeat(size) })
}

function requireSignature(req: any): void {
  if (req.headers['x-signature'] !== 'ok') throw new Error('bad signature')
}

describe.each(frameworks)('%s: options of a buffered() route and of the shim', (_name, express) => {
  let running: Running

  beforeAll(async () => {
    const app = express()
    app.use(streamShim({ json: { limit: '1mb', verify: requireSignature, inflate: true } }))
    const size = (req: any, res: any) => res.json({ size: JSON.stringify(req.body).length })
    app.post('/import', buffered({ limit: '50mb' }, size))
    app.post('/capped', buffered({ limit: '50mb', json: { limit: '2mb' } }, size))
    app.post('/loose', buffered({ json: { strict: false } }, (req: any, res: any) => res.json({ body: req.body })))
    app.post('/plain', buffered({ inflate: false }, size))
    app.post('/other', size)
    app.use((err: any, _req: any, res: any, _next: any) => {
      res.status(err.status ?? 500).json({ type: err.type, limit: err.limit, message: err.message })
    })
    running = await listen(app)
  })

  afterAll(() => running.close())

  const signed = { ...JSON_TYPE, 'x-signature': 'ok' }

  it("accepts a 5 MB import on a route whose limit is 50mb, over the shim's json limit of 1mb", async () => {
    const body = document(5 * 1024 * 1024)
    const reply = await send(running.port, 'POST', '/import', body, signed)
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.text)).toEqual({ size: body.length })
  })

  it('accepts it chunked too', async () => {
    const body = document(5 * 1024 * 1024)
    const reply = await send(running.port, 'POST', '/import', body, signed, { chunked: true })
    expect(reply.status).toBe(200)
  })

  it("keeps the shim's json limit on the other routes", async () => {
    const reply = await send(running.port, 'POST', '/other', document(2 * 1024 * 1024), signed)
    expect(reply.status).toBe(413)
    expect(JSON.parse(reply.text)).toMatchObject({ type: 'entity.too.large', limit: 1024 * 1024 })
  })

  it("lets the route's json limit win over its own shared limit", async () => {
    const reply = await send(running.port, 'POST', '/capped', document(3 * 1024 * 1024), signed)
    expect(reply.status).toBe(413)
    expect(JSON.parse(reply.text)).toMatchObject({ type: 'entity.too.large', limit: 2 * 1024 * 1024 })
  })

  it("keeps the shim's json verify on a route that sets other json options", async () => {
    const unsigned = await send(running.port, 'POST', '/loose', '"just a string"', JSON_TYPE)
    expect(unsigned.status).toBe(403)
    expect(JSON.parse(unsigned.text)).toMatchObject({ type: 'entity.verify.failed', message: 'bad signature' })
    const good = await send(running.port, 'POST', '/loose', '"just a string"', signed)
    expect(JSON.parse(good.text)).toEqual({ body: 'just a string' })
  })

  it("lets the route's inflate: false win over the shim's json inflate: true", async () => {
    const gzipped = zlib.gzipSync(document(100))
    const refused = await send(running.port, 'POST', '/plain', gzipped, { ...signed, 'content-encoding': 'gzip' })
    expect(refused.status).toBe(415)
    expect(JSON.parse(refused.text).type).toBe('encoding.unsupported')
    const accepted = await send(running.port, 'POST', '/other', gzipped, { ...signed, 'content-encoding': 'gzip' })
    expect(accepted.status).toBe(200)
  })
})
