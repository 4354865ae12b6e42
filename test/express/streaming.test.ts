import zlib from 'node:zlib'
import multer from 'multer'
import { streamShim, streaming, buffered, json } from '../../adapters/express/index.js'
import { bytes, frameworks, listen, rawSocket, request, send, sha256, sleep, waitFor, type Running } from '../helpers/http.js'

function errorHandler(err: any, _req: any, res: any, _next: any) {
  res.status(err.status ?? 500).json({ type: err.type, message: err.message, expose: err.expose })
}

describe.each(frameworks)('%s: streaming routes', (_name, express) => {
  let running: Running
  const events: string[] = []
  let lastError: any

  beforeAll(async () => {
    const app = express()
    app.use(streamShim())

    app.put(
      '/echo-hash',
      streaming(async (req, res) => {
        events.push('handler')
        const body = await req.bodyStream.buffer()
        res.json({ length: body.length, sha: sha256(body), received: req.bodyStream.bytesReceived, expected: req.bodyStream.expectedLength ?? null })
      }),
    )
    app.put(
      '/signal',
      streaming(async (req) => {
        // Never reads and never answers: only the client going away ends this.
        events.push('waiting')
        await new Promise((resolve) => req.bodyStream.signal.addEventListener('abort', resolve))
        events.push('aborted')
      }),
    )
    app.post(
      '/after-json',
      json(),
      streaming(async (req, res) => {
        res.json({ text: await req.bodyStream.text() })
      }),
    )
    app.post('/legacy', (req: any, res: any) => {
      events.push('legacy')
      res.json(req.body)
    })
    app.put(
      '/slow',
      streaming(async (req, res) => {
        let consumed = 0
        let maxAhead = 0
        for await (const chunk of req.bodyStream) {
          consumed += chunk.length
          maxAhead = Math.max(maxAhead, req.bodyStream.bytesReceived - consumed)
          await sleep(1)
        }
        res.json({ consumed, maxAhead })
      }),
    )
    app.post(
      '/json',
      streaming(async (req, res) => {
        res.json({ parsed: await req.bodyStream.json() })
      }),
    )
    app.post(
      '/text',
      streaming(async (req, res) => {
        res.json({ text: await req.bodyStream.text() })
      }),
    )
    app.post(
      '/web',
      streaming(async (req, res) => {
        const chunks: Uint8Array[] = []
        for await (const chunk of req.bodyStream.toWeb()) chunks.push(chunk)
        res.json({ sha: sha256(Buffer.concat(chunks)) })
      }),
    )
    app.post(
      '/limited',
      streaming({ limit: '64kb' }, async (req, res, next) => {
        events.push('limited-handler')
        try {
          const body = await req.bodyStream.buffer()
          res.json({ length: body.length })
        } catch (err) {
          lastError = err
          next(err)
        }
      }),
    )
    app.post(
      '/typed',
      streaming({ types: ['application/x-ndjson', 'text/*'] }, async (req, res) => {
        res.json({ text: await req.bodyStream.text() })
      }),
    )
    app.post(
      '/timeout',
      streaming({ timeout: 200 }, async (req, res, next) => {
        try {
          await req.bodyStream.buffer()
          res.end('done')
        } catch (err) {
          lastError = err
          next(err)
        }
      }),
    )
    app.post(
      '/no-inflate',
      streaming({ inflate: false }, async (req, res) => {
        res.json({ length: (await req.bodyStream.buffer()).length })
      }),
    )
    app.post(
      '/touch-body',
      streaming((req: any, res: any) => {
        try {
          res.json({ threw: false, body: req.body === undefined ? 'undefined' : req.body })
        } catch (err: any) {
          res.json({ threw: true, type: err.type, message: err.message })
        }
      }),
    )

    const router = express.Router()
    router.put('/:name', async (req: any, res: any) => {
      const body = await req.bodyStream.buffer()
      res.json({ name: req.params.name, length: body.length, bodyStream: true })
    })
    router.post('/buffered', buffered({ limit: '1mb' }, (req: any, res: any) => res.json({ body: req.body })))
    app.use('/router', streaming(router))

    const upload = multer({ storage: multer.memoryStorage() })
    app.post('/multer-streaming', streaming(upload.single('file') as any), (req: any, res: any) => {
      res.json({ size: req.file.size, sha: sha256(req.file.buffer), field: req.body.field })
    })
    app.post('/multer-legacy', upload.single('file'), (req: any, res: any) => {
      res.json({ size: req.file.size, sha: sha256(req.file.buffer), field: req.body.field })
    })
    app.use(errorHandler)
    running = await listen(app)
  })

  afterAll(() => running.close())
  beforeEach(() => {
    events.length = 0
    lastError = undefined
  })

  it('runs the handler as soon as the headers arrive, before any body byte is sent', async () => {
    const body = bytes(200_000, 7)
    const reply = await request(running.port, { method: 'PUT', path: '/echo-hash', headers: { 'content-length': body.length } }, async (req) => {
      await waitFor(() => events.includes('handler')) // the body has not been written yet
      req.end(body)
    })
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.text)).toEqual({ length: body.length, sha: sha256(body), received: body.length, expected: body.length })
  })

  it('fires bodyStream.signal when the client goes away', async () => {
    const socket = await rawSocket(running.port)
    socket.write('PUT /signal HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc')
    await waitFor(() => events.includes('waiting'))
    socket.destroy()
    await waitFor(() => events.includes('aborted'))
  })

  it('is skipped by a json() parser mounted between the shim and the handler', async () => {
    const reply = await send(running.port, 'POST', '/after-json', '{"left":"unread"}', { 'content-type': 'application/json' })
    expect(JSON.parse(reply.text)).toEqual({ text: '{"left":"unread"}' })
  })

  it('does not run a legacy handler until its whole body has arrived', async () => {
    const reply = await request(running.port, { method: 'POST', path: '/legacy', headers: { 'content-type': 'application/json', 'content-length': 11 } }, async (req) => {
      req.write('{"a":')
      await sleep(100)
      expect(events).toEqual([])
      req.end('[1,2]}')
    })
    expect(JSON.parse(reply.text)).toEqual({ a: [1, 2] })
    expect(events).toEqual(['legacy'])
  })

  it('streams a chunked body of unknown length byte for byte', async () => {
    const body = bytes(3 * 1024 * 1024 + 17, 3)
    const reply = await send(running.port, 'PUT', '/echo-hash', body, {}, { chunked: true })
    expect(JSON.parse(reply.text)).toMatchObject({ length: body.length, sha: sha256(body), expected: null })
  })

  it('applies backpressure: a slow reader holds the client back', async () => {
    const body = bytes(16 * 1024 * 1024, 5)
    const reply = await send(running.port, 'PUT', '/slow', body)
    const result = JSON.parse(reply.text)
    expect(result.consumed).toBe(body.length)
    // Without backpressure the server would have taken nearly all 16 MiB ahead of the reader.
    expect(result.maxAhead).toBeLessThan(1024 * 1024)
  })

  it('parses json() and decodes text() with the request charset', async () => {
    const json = await send(running.port, 'POST', '/json', '{"x":[1,"é"]}', { 'content-type': 'application/json' })
    expect(JSON.parse(json.text)).toEqual({ parsed: { x: [1, 'é'] } })
    const latin1 = Buffer.from('caf\xe9', 'latin1')
    const text = await send(running.port, 'POST', '/text', latin1, { 'content-type': 'text/plain; charset=iso-8859-1' })
    expect(JSON.parse(text.text)).toEqual({ text: 'café' })
  })

  it('answers a malformed json() body with 400 entity.parse.failed', async () => {
    const reply = await send(running.port, 'POST', '/json', '{"x":', { 'content-type': 'application/json' })
    expect(reply.status).toBe(400)
    expect(JSON.parse(reply.text).type).toBe('entity.parse.failed')
  })

  it('exposes the body as a web ReadableStream', async () => {
    const body = bytes(300_000, 11)
    const reply = await send(running.port, 'POST', '/web', body)
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body) })
  })

  describe('with limit option', () => {
    it('413s a declared Content-Length over the limit without calling the handler', async () => {
      const reply = await send(running.port, 'POST', '/limited', bytes(65 * 1024))
      expect(reply.status).toBe(413)
      expect(JSON.parse(reply.text)).toMatchObject({ type: 'entity.too.large', expose: true })
      expect(events).toEqual([])
    })

    it('413s a chunked body over the limit while it flows', async () => {
      const reply = await send(running.port, 'POST', '/limited', bytes(200 * 1024), {}, { chunked: true })
      expect(reply.status).toBe(413)
      expect(events).toEqual(['limited-handler'])
      expect(lastError).toMatchObject({ type: 'entity.too.large', status: 413, limit: 64 * 1024 })
    })

    it('counts the limit after decoding: a small gzip body that inflates past it is a 413', async () => {
      const inflated = Buffer.alloc(1024 * 1024)
      const gz = zlib.gzipSync(inflated)
      expect(gz.length).toBeLessThan(64 * 1024)
      const reply = await send(running.port, 'POST', '/limited', gz, { 'content-encoding': 'gzip' })
      expect(reply.status).toBe(413)
      expect(lastError).toMatchObject({ type: 'entity.too.large' })
    })

    it('accepts a body exactly at the limit', async () => {
      const reply = await send(running.port, 'POST', '/limited', bytes(64 * 1024), {}, { chunked: true })
      expect(JSON.parse(reply.text)).toEqual({ length: 64 * 1024 })
    })
  })

  describe('with content encodings', () => {
    it.each([
      ['gzip', zlib.gzipSync],
      ['deflate', zlib.deflateSync],
      ['br', zlib.brotliCompressSync],
    ] as const)('decodes %s in-stream', async (encoding, compress) => {
      const body = bytes(500_000, 13)
      const reply = await send(running.port, 'PUT', '/echo-hash', compress(body), { 'content-encoding': encoding })
      expect(JSON.parse(reply.text)).toMatchObject({ length: body.length, sha: sha256(body) })
    })

    it('refuses an unknown encoding with 415 encoding.unsupported', async () => {
      const reply = await send(running.port, 'PUT', '/echo-hash', 'abc', { 'content-encoding': 'compress' })
      expect(reply.status).toBe(415)
      expect(JSON.parse(reply.text).type).toBe('encoding.unsupported')
      expect(events).toEqual([])
    })

    it('refuses any encoding with 415 when inflate is false', async () => {
      const reply = await send(running.port, 'POST', '/no-inflate', zlib.gzipSync('x'), { 'content-encoding': 'gzip' })
      expect(reply.status).toBe(415)
      expect(JSON.parse(reply.text).type).toBe('encoding.unsupported')
    })

    it('answers a corrupt gzip body with 400 encoding.invalid', async () => {
      const reply = await send(running.port, 'PUT', '/echo-hash', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' })
      expect(reply.status).toBe(400)
      expect(JSON.parse(reply.text).type).toBe('encoding.invalid')
    })
  })

  describe('with types option', () => {
    it('415s another media type before reading the body', async () => {
      const reply = await send(running.port, 'POST', '/typed', '{}', { 'content-type': 'application/json' })
      expect(reply.status).toBe(415)
      expect(JSON.parse(reply.text).type).toBe('media.type.unsupported')
    })

    it('accepts a listed media type', async () => {
      const reply = await send(running.port, 'POST', '/typed', '{"a":1}\n', { 'content-type': 'application/x-ndjson' })
      expect(JSON.parse(reply.text)).toEqual({ text: '{"a":1}\n' })
    })
  })

  describe('with timeout option', () => {
    it('408s when the client stalls between chunks', async () => {
      const reply = await request(running.port, { method: 'POST', path: '/timeout', headers: { 'transfer-encoding': 'chunked' } }, (req) => {
        req.write('first chunk')
        // …and nothing more: the server must give up, not wait forever.
      })
      expect(reply.status).toBe(408)
      expect(lastError).toMatchObject({ type: 'request.timeout', status: 408 })
    })
  })

  it('gives undefined for req.body, and warns once naming the route and req.bodyStream', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      for (let i = 0; i < 2; i++) {
        const reply = await send(running.port, 'POST', '/touch-body', '{}', { 'content-type': 'application/json' })
        expect(JSON.parse(reply.text)).toEqual({ threw: false, body: 'undefined' })
      }
      const warnings = emitWarning.mock.calls.filter((call) => (call[1] as { code?: string })?.code === 'STREAM_SHIM_BODY_NOT_BUFFERED')
      // Warnings are once per route for the process: the first framework of the run sees it.
      expect(warnings.length).toBeLessThanOrEqual(1)
      for (const [message] of warnings) expect(String(message)).toMatch(/POST \/touch-body.*req\.bodyStream/s)
    } finally {
      emitWarning.mockRestore()
    }
  })

  it('streams every route of a router marked streaming, and lets buffered() inside it win', async () => {
    const body = bytes(100_000, 17)
    const put = await send(running.port, 'PUT', '/router/report.bin', body)
    expect(JSON.parse(put.text)).toEqual({ name: 'report.bin', length: body.length, bodyStream: true })
    const post = await send(running.port, 'POST', '/router/buffered', '{"ok":true}', { 'content-type': 'application/json' })
    expect(JSON.parse(post.text)).toEqual({ body: { ok: true } })
  })

  describe('multer', () => {
    function multipart(file: Buffer): { body: Buffer; type: string } {
      const boundary = '----shim' + Date.now()
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n`),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
        file,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ])
      return { body, type: `multipart/form-data; boundary=${boundary}` }
    }

    it.each(['/multer-streaming', '/multer-legacy'])('reads a multipart upload on %s', async (path) => {
      const file = bytes(250_000, 19)
      const { body, type } = multipart(file)
      const reply = await send(running.port, 'POST', path, body, { 'content-type': type })
      expect(JSON.parse(reply.text)).toEqual({ size: file.length, sha: sha256(file), field: 'value' })
    })
  })
})

describe.each(frameworks)('%s: a body parser mounted before the shim', (_name, express) => {
  it('gives a streaming route a clear 500 naming the cause instead of a hang', async () => {
    const app = express()
    app.use(express.json())
    app.use(streamShim())
    let seen: any
    app.post('/up', streaming(async (_req, res) => res.end('unreachable')))
    app.use((err: any, _req: any, res: any, _next: any) => {
      seen = err
      res.status(err.status).end()
    })
    const running = await listen(app)
    try {
      const reply = await send(running.port, 'POST', '/up', '{"a":1}', { 'content-type': 'application/json' })
      expect(reply.status).toBe(500)
      expect(seen.type).toBe('stream.not.readable')
      expect(seen.message).toMatch(/before stream-shim could read it/)
      expect(seen.message).toMatch(/mount streamShim\(\) first/)
    } finally {
      await running.close()
    }
  })
})

describe('options are checked when the middleware is created', () => {
  it.each([
    [() => streaming({ limit: 'lots' }, () => {}), /option limit "lots" is invalid/],
    [() => streaming({ timeout: -1 }, () => {}), /option timeout/],
    [() => streaming({ inflate: 'yes' as any }, () => {}), /option inflate/],
    [() => streaming({ types: [] }, () => {}), /option types/],
    [() => streaming({ limt: 1 } as any, () => {}), /unknown streaming option "limt"/],
    [() => streaming('nope' as any), /handler/],
    [() => buffered({ limit: 'lots' }, () => {}), /option limit/],
    [() => buffered({ json: { verify: 'no' as any } }, () => {}), /option verify must be function/],
    [() => streamShim({ urlencoded: { parameterLimit: 0 } }), /option parameterLimit/],
    [() => streamShim({ streaming: { limit: {} as any } }), /option limit/],
    [() => streamShim({ jsno: {} } as any), /unknown streamShim option "jsno"/],
  ])('throws a TypeError naming the bad option (%#)', (create, message) => {
    expect(create).toThrow(TypeError)
    expect(create).toThrow(message)
  })
})
