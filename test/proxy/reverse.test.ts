/**
 * proxy(): bodies forwarded byte-exact both ways, headers of this hop
 * handled, and each failure answered as it should be, on Express 4 and 5 and
 * Koa 2 and 3, over real sockets.
 */
import http from 'node:http'
import zlib from 'node:zlib'
import { once } from 'node:events'
import fc from 'fast-check'
import express from 'express'
import { proxy, streamShim } from '../../adapters/express/index'
import { bytes, listen, rawSocket, request, send, sha256, sleep, waitFor, type Running } from '../helpers/http.js'
import { FLOOD, GZIPPED, STACKS, closeSharedAgent, startUpstream, type Upstream } from './harness.js'

let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(async () => {
  await upstream.close()
  await closeSharedAgent()
})

/** Read a whole response, or say how it broke off. */
function fetchRaw(port: number, options: http.RequestOptions, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...options }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', (err) => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), error: err.message }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe.each(STACKS)('proxy() on $name', (stack) => {
  let proxy: Running
  beforeAll(async () => {
    proxy = await stack.start(upstream.url, { limit: '80mb', timeout: 200 })
  })
  afterAll(() => proxy.close())

  describe('bodies', () => {
    // 64 MiB on the newest majors; 8 MiB on the older ones keeps the file fast.
    const big = stack.name.endsWith('4') || stack.name.endsWith('2') ? 8 : 64
    it(`forwards a ${big} MiB body with Content-Length and streams it back byte-exact`, async () => {
      const body = bytes(big * 1024 * 1024, 7)
      const reply = await send(proxy.port, 'PUT', '/p/big/echo', body)
      expect(reply.status).toBe(200)
      expect(reply.body.length).toBe(body.length)
      expect(sha256(reply.body)).toBe(sha256(body))
      expect(upstream.last().headers['content-length']).toBe(String(body.length))
    })

    it('forwards small bodies byte-exact, with Content-Length or chunked (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 70_000 }), fc.boolean(), async (array, chunked) => {
          const body = Buffer.from(array)
          const reply = await send(proxy.port, 'POST', '/p/prop/echo', body, { 'content-type': 'application/octet-stream' }, { chunked })
          expect(reply.status).toBe(200)
          expect(reply.body.equals(body)).toBe(true)
          const seen = upstream.last()
          expect(seen.length).toBe(body.length)
          if (!chunked) expect(seen.headers['content-length']).toBe(String(body.length))
        }),
        { numRuns: 12 },
      )
    })

    it('forwards an empty body and a GET without one', async () => {
      const empty = await send(proxy.port, 'POST', '/p/empty/echo', Buffer.alloc(0))
      expect([empty.status, empty.body.length, upstream.last().complete]).toEqual([200, 0, true])
      const get = await fetchRaw(proxy.port, { method: 'GET', path: '/p/get/echo?x=1&y=2' })
      expect(get.status).toBe(200)
      expect(upstream.last()).toMatchObject({ method: 'GET', url: '/p/get/echo?x=1&y=2' })
    })

    it('passes a gzip request body and a gzip response through untouched', async () => {
      const reply = await send(proxy.port, 'POST', '/p/z/echo', GZIPPED, { 'content-encoding': 'gzip', 'content-type': 'application/json' })
      expect(reply.status).toBe(200)
      expect(upstream.last().headers['content-encoding']).toBe('gzip')
      expect(upstream.last().sha).toBe(sha256(GZIPPED))
      expect(reply.body.equals(GZIPPED)).toBe(true)
      const down = await fetchRaw(proxy.port, { method: 'GET', path: '/p/gzip' })
      expect(down.headers['content-encoding']).toBe('gzip')
      expect(down.headers['content-length']).toBe(String(GZIPPED.length))
      expect(down.body.equals(GZIPPED)).toBe(true)
    })

    it('forwards the bytes a buffered route buffered, as they came off the wire', async () => {
      const json = zlib.gzipSync(JSON.stringify({ legacy: true, pad: 'p'.repeat(3000) }))
      const reply = await send(proxy.port, 'POST', '/legacy/json', json, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      expect(reply.status).toBe(200)
      expect(upstream.last()).toMatchObject({ url: '/legacy/json', length: json.length, sha: sha256(json), complete: true })
      expect(upstream.last().headers['content-encoding']).toBe('gzip')
    })

    it('forwards a body no parser of a buffered route took, read from the request itself', async () => {
      const body = bytes(300_000, 9)
      const reply = await send(proxy.port, 'POST', '/legacy/binary', body, { 'content-type': 'application/octet-stream' }, { chunked: true })
      expect(reply.status).toBe(200)
      expect(upstream.last()).toMatchObject({ url: '/legacy/binary', length: body.length, sha: sha256(body), complete: true })
    })
  })

  describe('headers', () => {
    it('drops hop-by-hop headers both ways and adds X-Forwarded-* and Via', async () => {
      const reply = await fetchRaw(
        proxy.port,
        {
          method: 'POST',
          path: '/p/h/echo',
          headers: {
            connection: 'keep-alive, x-secret',
            'x-secret': 'hop',
            'keep-alive': 'timeout=9',
            te: 'trailers',
            'proxy-authorization': 'Basic Zm9vOmJhcg==',
            upgrade: 'websocket',
            'x-keep': 'yes',
            'x-forwarded-for': '203.0.113.9',
            host: 'public.example',
          },
        },
        Buffer.from('hi'),
      )
      expect(reply.status).toBe(200)
      const seen = upstream.last().headers
      for (const name of ['x-secret', 'keep-alive', 'te', 'proxy-authorization', 'upgrade']) expect(seen[name]).toBeUndefined()
      expect(seen.connection).not.toMatch(/x-secret/)
      expect(seen['x-keep']).toBe('yes')
      expect(seen.host).toBe(new URL(upstream.url).host)
      expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1')
      expect(seen['x-forwarded-proto']).toBe('http')
      expect(seen['x-forwarded-host']).toBe('public.example')
      expect(seen.via).toBe('1.1 stream-shim')
      // And on the way back.
      expect(reply.headers['x-hop']).toBeUndefined()
      expect(reply.headers['proxy-authenticate']).toBeUndefined()
      expect(reply.headers['keep-alive']).not.toBe('timeout=77')
      expect(reply.headers['x-end-to-end']).toBe('kept')
      expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2'])
      expect(reply.headers.via).toBe('1.1 stream-shim')
    })
  })

  describe('failures', () => {
    it('502s when the upstream cannot be reached', async () => {
      const closed = await stack.start('http://127.0.0.1:9', { timeout: 400 })
      try {
        const reply = await fetchRaw(closed.port, { method: 'GET', path: '/p/x' })
        expect(reply.status).toBe(502)
      } finally {
        await closed.close()
      }
    })

    it('502s when the upstream drops the connection before its response', async () => {
      const reply = await fetchRaw(proxy.port, { method: 'POST', path: '/p/reset', headers: { 'content-length': 3 } }, Buffer.from('abc'))
      expect(reply.status).toBe(502)
    })

    it('504s when the upstream sends no response within the timeout', async () => {
      const reply = await fetchRaw(proxy.port, { method: 'GET', path: '/p/hang' })
      expect(reply.status).toBe(504)
    })

    it('destroys the client connection when the upstream fails after its response began', async () => {
      const reply = await fetchRaw(proxy.port, { method: 'GET', path: '/p/truncate' })
      expect(reply.status).toBe(200)
      expect(reply.body.length).toBeLessThan(1000)
      expect(reply.error).toBeDefined() // never a clean end
    })

    it('413s a body over the limit and never forwards it as complete', async () => {
      const small = await stack.start(upstream.url, { limit: 1000 })
      try {
        const reply = await send(small.port, 'POST', '/p/limited/sink', bytes(5000), {}, { chunked: true })
        expect(reply.status).toBe(413)
        await sleep(50)
        const forwarded = upstream.seen.filter((seen) => seen.url === '/p/limited/sink')
        expect(forwarded.every((seen) => !seen.complete && seen.length <= 1000)).toBe(true)
      } finally {
        await small.close()
      }
    })

    it('aborts the upstream request at once when the client goes away, and never completes a short body', async () => {
      const before = upstream.seen.length
      const socket = await rawSocket(proxy.port)
      socket.write('POST /p/short/sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n')
      socket.write(bytes(30_000))
      await waitFor(() => upstream.seen.length > before && upstream.last().length === 30_000)
      socket.destroy()
      await waitFor(() => upstream.last().aborted, 1000)
      expect(upstream.last()).toMatchObject({ complete: false, length: 30_000 })
    })

    it('aborts the upstream response when the client goes away while it streams', async () => {
      const before = upstream.seen.length
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/p/abort/echo', agent: false })
      req.on('error', () => {})
      req.write(bytes(1000))
      const [res] = (await once(req, 'response')) as [http.IncomingMessage]
      await waitFor(() => upstream.seen.length > before)
      res.destroy()
      req.destroy()
      await waitFor(() => upstream.last().aborted, 1000)
      expect(upstream.last().complete).toBe(false)
    })
  })
})

/** Resolve with `count()` once it has stopped growing for 300 ms (or reached `total`). */
async function whenStalled(count: () => number, total: number): Promise<number> {
  let last = -1
  let still = 0
  while (still < 3) {
    await sleep(100)
    const now = count()
    if (now >= total) return now
    still = now === last ? still + 1 : 0
    last = now
  }
  return last
}

describe.each([STACKS[1], STACKS[3]])('backpressure through proxy() on $name', (stack) => {
  let proxy: Running
  beforeAll(async () => {
    proxy = await stack.start(upstream.url, { limit: Infinity })
  })
  afterAll(() => proxy.close())

  it('an upstream that stops reading stops the client: the body is not piled up in the proxy', async () => {
    const total = 256 * 1024 * 1024
    const chunk = Buffer.alloc(64 * 1024, 's')
    let sent = 0
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'PUT', path: '/p/bp/stall', agent: false, headers: { 'content-length': total } })
    req.on('error', () => {})
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
    }
    pump()
    const accepted = await whenStalled(() => sent, total)
    req.destroy()
    expect(accepted).toBeLessThan(64 * 1024 * 1024) // socket buffers on the way, not the body
  })

  it('a client that stops reading stops the upstream', async () => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'GET', path: '/p/bp/flood', agent: false })
    req.on('error', () => {})
    req.end()
    const [res] = (await once(req, 'response')) as [http.IncomingMessage]
    res.pause() // and never resumed
    const written = await whenStalled(() => upstream.flooded.sent, FLOOD)
    req.destroy()
    expect(written).toBeLessThan(64 * 1024 * 1024)
  })
})

describe('proxy() options', () => {
  const stack = STACKS[1]
  afterAll(closeSharedAgent)

  it('turns X-Forwarded-* and Via off, keeps the client Host, and rewrites the path', async () => {
    const proxy = await stack.start(`${upstream.url}/base`, {
      xForwarded: false,
      via: false,
      preserveHost: true,
      rewritePath: (path) => path.replace(/^\/p/, '/rewritten'),
    })
    try {
      const reply = await fetchRaw(proxy.port, { method: 'GET', path: '/p/opt/sink?q=1', headers: { host: 'front.example', 'x-forwarded-for': '1.2.3.4' } })
      expect(reply.status).toBe(200)
      const seen = upstream.last()
      expect(seen.url).toBe('/base/rewritten/opt/sink?q=1')
      expect(seen.headers.host).toBe('front.example')
      expect(seen.headers['x-forwarded-for']).toBe('1.2.3.4')
      expect(seen.headers['x-forwarded-proto']).toBeUndefined()
      expect(seen.headers.via).toBeUndefined()
    } finally {
      await proxy.close()
    }
  })

  it('takes a function giving the whole URL', async () => {
    const app = express()
    app.use(streamShim())
    app.post('/to/:where', proxy((req) => `${upstream.url}/chosen/${String(req.params.where)}`))
    const running: Running = await listen(app)
    try {
      const reply = await send(running.port, 'POST', '/to/there', 'payload')
      expect(reply.status).toBe(200)
      expect(upstream.last()).toMatchObject({ url: '/chosen/there', length: 7 })
    } finally {
      await running.close()
    }
  })

  it('starts the upstream timeout only once the body is sent: a slow upload is not a 504', async () => {
    const proxy = await stack.start(upstream.url, { timeout: 150 })
    try {
      const reply = await request(proxy.port, { method: 'POST', path: '/p/slow/sink', headers: { 'transfer-encoding': 'chunked' } }, async (req) => {
        for (let i = 0; i < 5; i++) {
          req.write(bytes(1000, i + 1))
          await sleep(100)
        }
        req.end()
      })
      expect([reply.status, reply.text]).toEqual([200, JSON.stringify({ length: 5000 })])
    } finally {
      await proxy.close()
    }
  })

  it('rejects bad options when created', () => {
    expect(() => proxy('ftp://x')).toThrow(TypeError)
    expect(() => proxy('http://x', { retries: 3 } as never)).toThrow(/unknown proxy option "retries"/)
    expect(() => proxy('http://x', { via: 'two words' })).toThrow(/via/)
    expect(() => proxy('http://x', { timeout: -1 })).toThrow(/timeout/)
  })
})
