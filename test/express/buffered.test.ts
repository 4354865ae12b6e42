import http from 'node:http'
import zlib from 'node:zlib'
import { createHmac, timingSafeEqual } from 'node:crypto'
import getRawBody from 'raw-body'
import { createProxyMiddleware } from 'http-proxy-middleware'
import { streamShim, buffered } from '../../adapters/express/index.js'
import { bytes, frameworks, listen, readReply, request, send, sha256, type Running } from '../helpers/http.js'

const SECRET = 'whsec_test'

function sign(payload: Buffer, timestamp: number): string {
  const mac = createHmac('sha256', SECRET).update(`${timestamp}.`).update(payload).digest('hex')
  return `t=${timestamp},v1=${mac}`
}

describe.each(frameworks)('%s: buffered (legacy) routes behind the shim', (name, express) => {
  let running: Running
  let upstream: Running

  beforeAll(async () => {
    // An upstream that answers with a digest of what it received: the proxy target.
    upstream = await listen((req, res) => {
      getRawBody(req).then(
        (body) => res.end(JSON.stringify({ sha: sha256(body), length: body.length, type: req.headers['content-type'] })),
        (err: Error) => res.destroy(err),
      )
    })

    const app = express()
    app.use(streamShim({ raw: { type: 'application/octet-stream', limit: '8mb' } }))
    app.post('/body', (req: any, res: any) => {
      res.json({ body: req.body, raw: req.rawBody ? req.rawBody.toString('base64') : null })
    })
    app.get('/body', (req: any, res: any) => res.json({ hasBody: req.body !== undefined }))
    app.post('/on-data', (req: any, res: any) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => res.json({ sha: sha256(Buffer.concat(chunks)), parsed: Buffer.isBuffer(req.body) ? 'buffer' : typeof req.body }))
    })
    app.post('/raw-body', async (req: any, res: any, next: any) => {
      try {
        const body = await getRawBody(req)
        res.json({ sha: sha256(body) })
      } catch (err) {
        next(err)
      }
    })
    app.post('/proxy', (req: any, res: any) => {
      // What http-proxy-middleware does: pipe the incoming request to the target.
      const out = http.request(
        { host: '127.0.0.1', port: upstream.port, method: 'POST', path: '/', headers: req.headers },
        (upstreamRes) => upstreamRes.pipe(res),
      )
      req.pipe(out)
    })
    app.post('/hpm', createProxyMiddleware({ target: 'http://127.0.0.1:1', router: () => upstream.url, changeOrigin: true }))
    app.post('/webhook', (req: any, res: any) => {
      const header = String(req.headers['stripe-signature'] ?? '')
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(header) ?? []
      const expected = createHmac('sha256', SECRET).update(`${t}.`).update(req.rawBody).digest()
      const given = Buffer.from(v1 ?? '', 'hex')
      const ok = given.length === expected.length && timingSafeEqual(given, expected)
      res.status(ok ? 200 : 400).json({ ok, event: req.body.type })
    })
    app.post('/big', buffered({ limit: '1mb' }, (req: any, res: any) => res.json({ length: JSON.stringify(req.body).length })))
    app.post('/express-json-after', express.json(), (req: any, res: any) => res.json({ body: req.body }))
    app.use((err: any, _req: any, res: any, _next: any) => {
      res.status(err.status ?? 500).json({ type: err.type, message: err.message, expose: err.expose, limit: err.limit, length: err.length })
    })
    running = await listen(app)
  })

  afterAll(async () => {
    await running.close()
    await upstream.close()
  })

  it('parses json, urlencoded and text into req.body and keeps req.rawBody', async () => {
    const json = await send(running.port, 'POST', '/body', '{"a":{"b":[1,2]}}', { 'content-type': 'application/json' })
    expect(JSON.parse(json.text)).toEqual({ body: { a: { b: [1, 2] } }, raw: Buffer.from('{"a":{"b":[1,2]}}').toString('base64') })
    const form = await send(running.port, 'POST', '/body', 'name=ada&lang=en', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(JSON.parse(form.text).body).toEqual({ name: 'ada', lang: 'en' })
    const text = await send(running.port, 'POST', '/body', 'hello', { 'content-type': 'text/plain' })
    expect(JSON.parse(text.text).body).toBe('hello')
  })

  it("gives req.body without a body as the framework's bundled body-parser: {} on Express 4, undefined on Express 5", async () => {
    const reply = await request(running.port, { method: 'GET', path: '/body' }, (req) => {
      req.end()
    })
    expect(JSON.parse(reply.text)).toEqual({ hasBody: name === 'express 4' })
  })

  it('sets req.rawBody to the decoded bytes of a gzip body', async () => {
    const reply = await send(running.port, 'POST', '/body', zlib.gzipSync('{"z":1}'), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    })
    expect(JSON.parse(reply.text)).toEqual({ body: { z: 1 }, raw: Buffer.from('{"z":1}').toString('base64') })
  })

  it("replays the whole body to a legacy handler's req.on('data')", async () => {
    const body = bytes(3 * 1024 * 1024, 23)
    const reply = await send(running.port, 'POST', '/on-data', body, { 'content-type': 'application/octet-stream' })
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body), parsed: 'buffer' })
  })

  it('replays the body to raw-body called on req', async () => {
    const body = '{"replayed":true}'
    const reply = await send(running.port, 'POST', '/raw-body', body, { 'content-type': 'application/json' })
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body) })
  })

  it('replays an empty body (Content-Length: 0) to a stream reader without hanging', async () => {
    const reply = await send(running.port, 'POST', '/on-data', '', { 'content-type': 'application/json' })
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(''), parsed: 'object' })
  })

  it('replays the wire bytes when req is piped to a proxy target', async () => {
    const body = bytes(500_000, 29)
    const reply = await send(running.port, 'POST', '/proxy', body, { 'content-type': 'application/octet-stream' })
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body), length: body.length, type: 'application/octet-stream' })
  })

  it('replays the original gzip bytes to a proxy, matching the Content-Encoding it forwards', async () => {
    const gz = zlib.gzipSync('{"compressed":"yes"}')
    const reply = await send(running.port, 'POST', '/proxy', gz, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    expect(JSON.parse(reply.text)).toMatchObject({ sha: sha256(gz), length: gz.length })
  })

  it('forwards the whole body through http-proxy-middleware, with no fixRequestBody', async () => {
    const body = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => i) })
    const reply = await send(running.port, 'POST', '/hpm', body, { 'content-type': 'application/json' })
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body), length: body.length, type: 'application/json' })
  })

  it('lets a Stripe-style HMAC check run over req.rawBody', async () => {
    const payload = Buffer.from('{\n  "id": "evt_1",  "type": "charge.succeeded"\n}')
    const now = Math.floor(Date.now() / 1000)
    const good = await send(running.port, 'POST', '/webhook', payload, { 'content-type': 'application/json', 'stripe-signature': sign(payload, now) })
    expect(good.status).toBe(200)
    expect(JSON.parse(good.text)).toEqual({ ok: true, event: 'charge.succeeded' })
    const tampered = Buffer.from(payload.toString().replace('succeeded', 'refunded '))
    const bad = await send(running.port, 'POST', '/webhook', tampered, { 'content-type': 'application/json', 'stripe-signature': sign(payload, now) })
    expect(bad.status).toBe(400)
  })

  describe('with limit option', () => {
    const big = JSON.stringify({ data: 'x'.repeat(300 * 1024) })

    it("413s a body over the shim's default limit with body-parser's error", async () => {
      const reply = await send(running.port, 'POST', '/body', big, { 'content-type': 'application/json' })
      expect(reply.status).toBe(413)
      expect(JSON.parse(reply.text)).toEqual({
        type: 'entity.too.large',
        message: 'request entity too large',
        expose: true,
        limit: 102400,
        length: big.length,
      })
    })

    it('413s a chunked body over the limit', async () => {
      const reply = await send(running.port, 'POST', '/body', big, { 'content-type': 'application/json' }, { chunked: true })
      expect(reply.status).toBe(413)
      expect(JSON.parse(reply.text).type).toBe('entity.too.large')
    })

    it("accepts it on a route marked buffered({ limit: '1mb' })", async () => {
      const reply = await send(running.port, 'POST', '/big', big, { 'content-type': 'application/json' })
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.text)).toEqual({ length: big.length })
    })
  })

  it("answers malformed JSON with body-parser's 400 entity.parse.failed", async () => {
    const reply = await send(running.port, 'POST', '/body', '{"a":', { 'content-type': 'application/json' })
    expect(reply.status).toBe(400)
    expect(JSON.parse(reply.text)).toMatchObject({ type: 'entity.parse.failed', expose: true })
  })

  it("keeps req.body when the framework's own express.json() runs after the shim", async () => {
    const reply = await send(running.port, 'POST', '/express-json-after', '{"kept":1}', { 'content-type': 'application/json' })
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.text)).toEqual({ body: { kept: 1 } })
  })

  it('keeps serving on the same connection after a parse error', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const post = (body: string) =>
        new Promise<number>((resolve, reject) => {
          const req = http.request(
            { host: '127.0.0.1', port: running.port, method: 'POST', path: '/body', agent, headers: { 'content-type': 'application/json' } },
            (res) => readReply(res).then((r) => resolve(r.status), reject),
          )
          req.on('error', reject)
          req.end(body)
        })
      expect(await post('{bad')).toBe(400)
      expect(await post('{"good":true}')).toBe(200)
    } finally {
      agent.destroy()
    }
  })
})
