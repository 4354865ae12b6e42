/**
 * stream-shim/nest in a real Nest application on each supported major
 * (10 on Express 4, 11 and 12 on Express 5), run in a child process
 * (test/nest/fixtures) so its memory can be measured, over real sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import http from 'node:http'
import path from 'node:path'
import { once } from 'node:events'
import { bytes, rawSocket, request, send, sleep } from '../helpers/http'

const MiB = 1024 * 1024

interface NestApp {
  child: ChildProcess
  port: number
  nest: string
  express: number
  markedAtInit: boolean
  report: Array<{ method: string; path: string; mode: string; limit: number | null }>
  stderr: () => string
}

async function startApp(major: number): Promise<NestApp> {
  // A small young generation (1 MiB semi-spaces): the 64 KiB buffers the HTTP
  // parser allocates per read are garbage at once, and are then collected at
  // once. With Node 24's defaults they pile up uncollected and RSS grows
  // 80-95 MiB during the upload whatever the app keeps (a server that only
  // counts bytes grows as much: bench/RESULTS.md). The cap measures what the
  // app holds, not how long V8 waits to collect.
  const child = spawn(process.execPath, ['--max-semi-space-size=1', path.join(__dirname, 'fixtures', 'run.cjs')], {
    env: { ...process.env, NEST_MAJOR: String(major), NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  let stdout = ''
  for await (const chunk of child.stdout!) {
    stdout += chunk
    if (stdout.includes('\n')) break
  }
  if (!stdout.includes('\n')) throw new Error(`the Nest ${major} app did not start: ${stderr}`)
  const ready = JSON.parse(stdout.slice(0, stdout.indexOf('\n')))
  return { child, port: ready.port, nest: ready.nest, express: ready.express, markedAtInit: ready.markedAtInit, report: ready.report, stderr: () => stderr }
}

/** Upload `total` bytes chunked, 64 KiB at a time with backpressure, and read the reply. */
function uploadChunked(port: number, path: string, total: number) {
  const chunk = bytes(64 * 1024)
  return request(port, { method: 'PUT', path, headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } }, async (req) => {
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!req.write(sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent))) await once(req, 'drain')
    }
    req.end()
  })
}

const json = (port: number, path: string, value: unknown, headers: http.OutgoingHttpHeaders = {}) =>
  send(port, 'POST', path, JSON.stringify(value), { 'content-type': 'application/json', ...headers })

describe.each([
  [10, 4, 1024 * MiB],
  [11, 5, 1024 * MiB],
  [12, 5, 1024 * MiB],
])('stream-shim/nest on Nest %i (Express %i)', (major, expressMajor, uploadSize) => {
  let app: NestApp

  beforeAll(async () => {
    app = await startApp(major)
  }, 20_000)

  afterAll(async () => {
    app.child.kill()
    await once(app.child, 'exit')
  })

  it('runs the Nest major it is meant to test', () => {
    expect(Number(app.nest.split('.')[0])).toBe(major)
    expect(app.express).toBe(expressMajor)
  })

  it('marks the @Streaming() routes once listen() has run init(), before any request', () => {
    expect(app.markedAtInit).toBe(true)
  })

  it("describeRoutes() on the app's Express instance reports each route's mode and limit", () => {
    expect(app.report).toEqual(
      expect.arrayContaining([
        { method: 'PUT', path: '/files/:name', mode: 'streaming', limit: 5 * 1024 ** 3 },
        { method: 'POST', path: '/items', mode: 'buffered', limit: 100 * 1024 },
        { method: 'POST', path: '/import', mode: 'buffered', limit: 2 * 1024 * 1024 },
      ]),
    )
  })

  describe('@Streaming() routes', () => {
    it(`streams a ${uploadSize / MiB} MiB chunked upload with server RSS growth under 64 MiB`, async () => {
      const started = Date.now()
      const reply = await uploadChunked(app.port, '/files/big.bin', uploadSize)
      expect(reply.status).toBe(201)
      const result = JSON.parse(reply.text)
      expect(result).toMatchObject({ name: 'big.bin', bytes: uploadSize })
      if (process.env.NEST_REPORT) console.log(`Nest ${major}: ${uploadSize / MiB} MiB in ${Date.now() - started} ms, RSS growth ${(result.rssGrowth / MiB).toFixed(1)} MiB`)
      expect(result.rssGrowth).toBeLessThanOrEqual(64 * MiB)
    }, 30_000)

    it('refuses a declared 6 GB length with 413 through the exception filters, before the body', async () => {
      const socket = await rawSocket(app.port)
      socket.write('PUT /files/huge.bin HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 6000000000\r\n\r\n')
      let text = ''
      socket.on('data', (chunk) => (text += chunk))
      while (!text.includes('}')) await once(socket, 'data')
      socket.destroy()
      expect(text).toMatch(/^HTTP\/1\.1 413 /)
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))
      expect(body).toMatchObject({ filter: 'ReportingFilter', exception: 'PayloadTooLargeException', status: 413, type: 'entity.too.large' })
      expect(body.response).toEqual({ statusCode: 413, error: 'Payload Too Large', message: 'request entity too large' })
    })

    it('gives the filters a 413 for a chunked body that grows past the limit, read through @Req()', async () => {
      const reply = await send(app.port, 'POST', '/small', bytes(4096), { 'content-type': 'application/octet-stream' }, { chunked: true })
      expect(reply.status).toBe(413)
      expect(JSON.parse(reply.text)).toMatchObject({ exception: 'PayloadTooLargeException', type: 'entity.too.large' })
    })

    it('gives the filters a 413 from a body read with pipe() only, where nobody listens for errors', async () => {
      const ok = await send(app.port, 'POST', '/piped', bytes(500), { 'content-type': 'application/octet-stream' }, { chunked: true })
      expect(JSON.parse(ok.text)).toEqual({ bytes: 500 })
      const reply = await send(app.port, 'POST', '/piped', bytes(4096), { 'content-type': 'application/octet-stream' }, { chunked: true })
      expect(reply.status).toBe(413)
      expect(JSON.parse(reply.text)).toMatchObject({ exception: 'PayloadTooLargeException', type: 'entity.too.large' })
    })

    it('reads a body under the limit through @Req() req.bodyStream', async () => {
      const reply = await send(app.port, 'POST', '/small', bytes(900), { 'content-type': 'application/octet-stream' }, { chunked: true })
      expect(reply.status).toBe(201)
      expect(JSON.parse(reply.text)).toEqual({ bytes: 900 })
    })

    it('gives the filters a 408 for a body that stalls longer than timeout', async () => {
      const reply = await request(app.port, { method: 'POST', path: '/slow', headers: { 'content-type': 'text/plain', 'content-length': 10 } }, async (req) => {
        req.write('abc')
        await sleep(1000)
        if (!req.destroyed) req.destroy()
      }).catch((err: Error) => ({ status: 0, text: err.message }))
      expect(reply.status).toBe(408)
      expect(JSON.parse(reply.text)).toMatchObject({ exception: 'RequestTimeoutException', type: 'request.timeout' })
    })

    it('gives the filters a 400 for a streamed JSON body that does not parse', async () => {
      const reply = await send(app.port, 'POST', '/events', '{"broken', { 'content-type': 'application/json' })
      expect(reply.status).toBe(400)
      expect(JSON.parse(reply.text)).toMatchObject({ exception: 'BadRequestException', type: 'entity.parse.failed' })
    })

    it('leaves @Body() undefined on a streaming route, with a development warning', async () => {
      // Over the buffered routes' 100kb: only a route the shim dispatched as streaming takes it.
      const value = { kind: 'ping', padding: 'x'.repeat(300_000) }
      const reply = await json(app.port, '/events', value)
      expect(reply.status).toBe(201)
      expect(JSON.parse(reply.text)).toEqual({ bodyParam: 'undefined', value })
      expect(app.stderr()).toContain('STREAM_SHIM_BODY_NOT_BUFFERED')
    })
  })

  describe.each([['a URI-versioned controller', '/v2/ingest', 'versioned'], ['a request-scoped controller', '/scoped', 'scoped']])('@Streaming() in %s', (_what, route, controller) => {
    it('streams the body with the route\'s own options, not the buffered limit', async () => {
      // 300 KB of JSON: over the 100kb a buffered route takes, under this route's 1mb.
      const payload = JSON.stringify({ data: 'x'.repeat(300_000) })
      const taken = await send(app.port, 'POST', route, payload, { 'content-type': 'application/json' })
      expect(taken.status).toBe(201)
      expect(JSON.parse(taken.text)).toEqual({ bytes: payload.length, controller })
      const big = await send(app.port, 'POST', route, bytes(2 * MiB), { 'content-type': 'application/octet-stream' }, { chunked: true })
      expect(big.status).toBe(413)
      expect(JSON.parse(big.text)).toMatchObject({ exception: 'PayloadTooLargeException', type: 'entity.too.large' })
    })
  })

  describe('buffered routes', () => {
    it('validates a @Body() DTO with the global ValidationPipe', async () => {
      const ok = await json(app.port, '/items', { name: 'bolt', quantity: 3, extra: 'stripped' })
      expect(ok.status).toBe(201)
      expect(JSON.parse(ok.text)).toEqual({ item: { name: 'bolt', quantity: 3 }, isDto: true })

      const bad = await json(app.port, '/items', { name: 42, quantity: 0 })
      expect(bad.status).toBe(400)
      const body = JSON.parse(bad.text)
      expect(body.exception).toBe('BadRequestException')
      expect(body.response.message).toEqual(expect.arrayContaining(['name must be a string', 'quantity must not be less than 1']))
    })

    it('parses urlencoded forms extended, as Nest does', async () => {
      const reply = await send(app.port, 'POST', '/form', 'user[name]=ada&tags[]=a&tags[]=b', { 'content-type': 'application/x-www-form-urlencoded' })
      expect(JSON.parse(reply.text)).toEqual({ user: { name: 'ada' }, tags: ['a', 'b'] })
    })

    it('gives the filters a 413 for a body over the default 100kb limit, and takes it under @Buffered({ limit })', async () => {
      const rows = Array.from({ length: 20_000 }, (_, i) => ({ i, name: `row ${i}` }))
      const refused = await json(app.port, '/items', rows)
      expect(refused.status).toBe(413)
      expect(JSON.parse(refused.text)).toMatchObject({ exception: 'PayloadTooLargeException', type: 'entity.too.large' })
      const taken = await json(app.port, '/import', rows)
      expect(taken.status).toBe(201)
      expect(JSON.parse(taken.text)).toEqual({ rows: 20_000 })
    })

    it('lets FileInterceptor (multer) read a multipart upload', async () => {
      const file = bytes(300_000)
      const boundary = 'nestboundary'
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
        file,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ])
      const reply = await send(app.port, 'POST', '/upload', body, { 'content-type': `multipart/form-data; boundary=${boundary}` })
      expect(reply.status).toBe(201)
      expect(JSON.parse(reply.text)).toEqual({ originalname: 'photo.bin', size: file.length, note: 'hello' })
    })

    it('checks a webhook signature over req.rawBody', async () => {
      const payload = '{ "type": "invoice.paid",\n  "id": 7 }'
      const signature = createHmac('sha256', 'whsec_test').update(payload).digest('hex')
      const ok = await send(app.port, 'POST', '/webhook', payload, { 'content-type': 'application/json', 'x-signature': signature })
      expect(ok.status).toBe(200)
      expect(JSON.parse(ok.text)).toEqual({ verified: true, type: 'invoice.paid', rawLength: Buffer.byteLength(payload) })
      const forged = await send(app.port, 'POST', '/webhook', payload.replace('7', '8'), { 'content-type': 'application/json', 'x-signature': signature })
      expect(forged.status).toBe(401)
    })
  })
})
