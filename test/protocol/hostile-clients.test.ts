/**
 * No client can crash, hang or confuse the server. Each app runs in a child
 * process (test/protocol/hostile-server.ts) with no error middleware of its
 * own, so a crash is a dead process and default error handling is what
 * answers. Covers the crashes and hangs of issue 8 one by one, then a
 * fault-injection property: random client behaviour against every handler
 * style, in both modes.
 */
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { constants } from 'node:buffer'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { RawConnection, head, type RawResponse } from './raw-client.js'
import { bytes, sleep, spawnServer } from '../helpers/http.js'

const FLAVORS = ['express 4', 'express 5', 'koa 2', 'koa 3']
const SERVER = path.join(__dirname, 'hostile-server.ts')
const LIMIT = 64 * 1024

interface Child {
  port: number
  process: ChildProcess
  output(): string
  alive(): boolean
  stop(): Promise<void>
}

async function startServer(flavor: string): Promise<Child> {
  const { child, port, stderr } = await spawnServer(SERVER, { args: [flavor], env: { ...process.env, NODE_ENV: 'production' } })
  let exited = false
  child.on('exit', () => (exited = true))
  return {
    port,
    process: child,
    output: stderr,
    alive: () => !exited,
    stop: async () => {
      if (exited) return
      child.kill()
      await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}

async function get(port: number, path: string): Promise<RawResponse> {
  const conn = await RawConnection.open(port)
  await conn.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
  const reply = await conn.response(3000)
  conn.destroy()
  return reply
}

async function expectServing(server: Child): Promise<void> {
  expect(server.alive()).toBe(true)
  const reply = await get(server.port, '/health')
  expect([reply.status, reply.body.toString()]).toEqual([200, 'ok'])
}

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')
const octets = (length: number | string, extra: Record<string, string | number> = {}) => ({
  'content-type': 'application/octet-stream',
  'content-length': length,
  'x-auth': 'ok',
  ...extra,
})

describe.each(FLAVORS)('%s with default error handling', (flavor) => {
  let server: Child
  beforeAll(async () => {
    server = await startServer(flavor)
  })
  afterAll(async () => {
    const output = server.output()
    await server.stop()
    expect(output).not.toMatch(/uncaught|ERR_HTTP_HEADERS_SENT|ERR_OUT_OF_RANGE/i)
  })

  describe('a request refused before its body (findings 1 and 4)', () => {
    it('answers 401 from middleware in front of a streaming route while the client has sent no body, and keeps serving after the idle timeout', async () => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head('/s/for-await', { ...octets(10), 'x-auth': 'no' }))
      const reply = await conn.response(2000) // the body never comes: the answer cannot wait for it
      expect(reply.status).toBe(401)
      await sleep(600) // past the route's 250 ms timeout: nothing may write behind the framework
      await expectServing(server)
      conn.destroy()
    })

    it.each(['/s/next-error', '/s/throw'])('answers the error of a streaming handler that does not read (%s) without the body', async (route) => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head(route, octets(10)))
      const reply = await conn.response(2000)
      expect([422, 409]).toContain(reply.status)
      await sleep(400)
      await expectServing(server)
      conn.destroy()
    })

    it('answers 401 with no 100 Continue when the client waits for one', async () => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head('/s/pipeline', { ...octets(10), 'x-auth': 'no', expect: '100-continue' }))
      const reply = await conn.response(2000)
      expect(reply.status).toBe(401)
      conn.destroy()
    })

    it.each(['/s/for-await', '/b/body'])('413s a declared 50 MB on %s before the body, with no 100 Continue, and closes', async (route) => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head(route, octets(50 * 1024 * 1024, { expect: '100-continue' })))
      const reply = await conn.response(2000)
      expect(reply.status).toBe(413)
      expect(await conn.isClosed(2000)).toBe(true)
    })

    it('413s a declared 50 MB without Expect and closes, while the client is still sending', async () => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head('/s/data', octets(50 * 1024 * 1024)))
      conn.write(bytes(64 * 1024, 1)).catch(() => {})
      const reply = await conn.response(2000)
      expect(reply.status).toBe(413)
      expect(await conn.isClosed(2000)).toBe(true)
      await expectServing(server)
    })
  })

  describe('client errors in every handler style (finding 2)', () => {
    const styles = ['for-await', 'pipeline', 'pipe', 'data', 'accept-await']
    const overLimit = Buffer.concat([Buffer.from('20000\r\n'), bytes(0x20000, 2), Buffer.from('\r\n0\r\n\r\n')]) // 128 KiB > 64 KiB

    it.each(styles)('%s: a chunked body over the limit is a 413, and the process lives', async (style) => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head(`/s/${style}`, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked', 'x-auth': 'ok' }))
      conn.write(overLimit).catch(() => {})
      const reply = await conn.response(3000)
      expect(reply.status).toBe(413)
      await expectServing(server)
    })

    it.each(styles)('%s: a stalled body is a 408, and the process lives', async (style) => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head(`/s/${style}`, octets(1000)))
      await conn.write(bytes(10, 3))
      const reply = await conn.response(3000)
      expect(reply.status).toBe(408)
      await expectServing(server)
      conn.destroy()
    })

    it.each(styles)('%s: a corrupt gzip body is a 400, and the process lives', async (style) => {
      const corrupt = gzipSync(bytes(5000, 4))
      corrupt.fill(0x41, 20, 60)
      const conn = await RawConnection.open(server.port)
      await conn.write(head(`/s/${style}`, octets(corrupt.length, { 'content-encoding': 'gzip' })))
      await conn.write(corrupt)
      const reply = await conn.response(3000)
      expect(reply.status).toBe(400)
      await expectServing(server)
      conn.destroy()
    })
  })

  // Express's final handler waits for the body before it answers (Koa's answers at once and closes).
  if (flavor.startsWith('express')) describe('a body cut off half-way by the limit', () => {
    const chunk = (data: Buffer) => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')])

    it.each(['/s/data', '/b/body'])('%s: answers 413 once a client that only reads after sending has sent the rest (within discard)', async (route) => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head(route, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked', 'x-auth': 'ok' }))
      await conn.write(chunk(bytes(100 * 1024, 8))) // over the 64 KiB limit
      await sleep(200)
      await conn.write(Buffer.concat([chunk(bytes(10 * 1024, 9)), Buffer.from('0\r\n\r\n')])) // the client still finishes its request
      const reply = await conn.response(3000)
      expect(reply.status).toBe(413)
      conn.destroy()
      await expectServing(server)
    })

    it.each(['/s/data', '/b/body'])('%s: answers 413 and closes when the client keeps sending past discard', async (route) => {
      const conn = await RawConnection.open(server.port)
      await conn.write(head(route, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked', 'x-auth': 'ok' }))
      const piece = chunk(bytes(64 * 1024, 10))
      let written = 0
      const response = conn.response(5000)
      while (!conn.socket.destroyed && written < 64 * 1024 * 1024) {
        if (await Promise.race([conn.closed.then(() => true), Promise.resolve(false)])) break
        const ok = conn.socket.write(piece)
        written += piece.length
        if (!ok) await Promise.race([new Promise((resolve) => conn.socket.once('drain', resolve)), conn.closed, sleep(1000)])
      }
      expect((await response).status).toBe(413)
      expect(await conn.isClosed(2000)).toBe(true)
      expect(written).toBeLessThan(32 * 1024 * 1024) // kernel buffers, the limit and the 256 KiB discarded
    })
  })

  it('413s a buffered route with no limit when the declared length is more than one Buffer holds (finding 3)', async () => {
    const conn = await RawConnection.open(server.port)
    // One more byte than a Buffer holds: 2^32 on Node 20, 2^53 from Node 22 on.
    await conn.write(head('/b/huge', octets((BigInt(constants.MAX_LENGTH) + 1n).toString())))
    conn.write(bytes(64 * 1024, 5)).catch(() => {})
    const reply = await conn.response(3000)
    expect(reply.status).toBe(413)
    await expectServing(server)
    conn.destroy()
  })

  it('lets a streaming handler that reads req itself run longer than the idle timeout (finding 7)', async () => {
    const body = bytes(20 * 1000, 6)
    const conn = await RawConnection.open(server.port)
    await conn.write(head('/s/req-pipe', octets(body.length)))
    for (let i = 0; i < 20; i++) {
      await conn.write(body.subarray(i * 1000, (i + 1) * 1000))
      await sleep(60) // 1.2 s in all, with gaps well under the 250 ms timeout
    }
    const reply = await conn.response(3000)
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body.toString())).toEqual({ sha: sha256(body), length: body.length })
    conn.destroy()
  })

  describe('fault injection', () => {
    const routes = ['/s/for-await', '/s/pipeline', '/s/pipe', '/s/data', '/s/accept-await', '/s/never', '/s/req-pipe', '/s/next-error', '/b/body', '/b/replay', '/b/never']
    // multer (Express middleware) reading `req` itself on a streaming route, fed multipart.
    if (flavor.startsWith('express')) routes.push('/s/multer')
    const behaviours = ['complete', 'abort', 'stall', 'garbage-chunks', 'short', 'over-limit', 'corrupt-gzip', 'expect-silence'] as const
    type Behaviour = (typeof behaviours)[number]
    let cases = 0

    async function run(route: string, behaviour: Behaviour, size: number, chunked: boolean, cut: number): Promise<void> {
      cases++
      const payload = bytes(behaviour === 'over-limit' ? LIMIT + 1 + size : size, size % 251)
      const multipart = route === '/s/multer'
      const body = multipart
        ? Buffer.concat([Buffer.from('--fault\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\n'), payload, Buffer.from('\r\n--fault--\r\n')])
        : payload
      const type = multipart ? 'multipart/form-data; boundary=fault' : 'application/octet-stream'
      const conn = await RawConnection.open(server.port)
      const framing: Record<string, string | number> = chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length }
      const chunk = (data: Buffer) => (chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data)
      const end = chunked ? Buffer.from('0\r\n\r\n') : Buffer.alloc(0)
      const headers = { 'content-type': type, 'x-auth': 'ok', ...framing }
      const at = Math.floor(body.length * cut)
      try {
        switch (behaviour) {
          case 'complete':
          case 'over-limit':
            await conn.write(head(route, headers))
            conn.write(Buffer.concat([chunk(body), end])).catch(() => {})
            await conn.response(3000).catch(() => undefined)
            break
          case 'abort':
            await conn.write(head(route, headers))
            if (at > 0) await conn.write(chunk(body.subarray(0, at)))
            break
          case 'stall':
            await conn.write(head(route, headers))
            if (at > 0) await conn.write(chunk(body.subarray(0, at)))
            await conn.response(1500).catch(() => undefined)
            break
          case 'garbage-chunks':
            await conn.write(head(route, { 'content-type': type, 'x-auth': 'ok', 'transfer-encoding': 'chunked' }))
            await conn.write(`zz${at}\r\nnot a chunk\r\n`).catch(() => {})
            await conn.response(1500).catch(() => undefined)
            break
          case 'short':
            await conn.write(head(route, { ...headers, 'content-length': body.length + 10 }))
            await conn.write(body).catch(() => {})
            conn.socket.end() // half-close: the rest will never come
            await conn.response(1500).catch(() => undefined)
            break
          case 'corrupt-gzip': {
            const gz = gzipSync(body)
            gz.fill(0x41, Math.min(12, gz.length - 1), Math.min(40, gz.length))
            await conn.write(head(route, { 'content-type': type, 'x-auth': 'ok', 'content-length': gz.length, 'content-encoding': 'gzip' }))
            await conn.write(gz).catch(() => {})
            await conn.response(1500).catch(() => undefined)
            break
          }
          case 'expect-silence':
            await conn.write(head(route, { ...headers, expect: '100-continue' }))
            await conn.response(600).catch(() => undefined) // a 100, a final answer, or nothing: then silence
            break
        }
      } finally {
        conn.destroy()
      }
      // The server keeps answering other requests after every case.
      await expectServing(server)
    }

    it('survives random client behaviour against every handler style, in both modes', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.constantFrom(...behaviours),
          fc.integer({ min: 0, max: 48 * 1024 }),
          fc.boolean(),
          fc.double({ min: 0, max: 1, noNaN: true }),
          (route, behaviour, size, chunked, cut) => run(route, behaviour, size, chunked, cut),
        ),
        { numRuns: 30, seed: 0x5eed + FLAVORS.indexOf(flavor) },
      )
      // And once through every route × behaviour pair, so none is left to chance.
      for (const route of routes) for (const behaviour of behaviours) await run(route, behaviour, 3000, behaviour === 'garbage-chunks', 0.5)
      expect(cases).toBe(30 + routes.length * behaviours.length)
      process.stdout.write(`${flavor}: ${cases} fault-injection cases\n`)

      // Nothing left behind once the clients are gone: no listeners on finished
      // requests, no timers, no sockets but the server's own.
      await sleep(1500)
      const stats = JSON.parse((await get(server.port, '/stats')).body.toString())
      expect(stats.finished).toBeGreaterThan(50)
      process.stdout.write(`${flavor}: listeners left on finished requests ${JSON.stringify(stats.listeners)}\n`)
      // None of stream-shim's (all of them are named): only Node's own (pipe()'s listeners
      // on a source destroyed mid-way, the server's clearIncoming) and multer's anonymous
      // ones (its drain after a failed form, its error and aborted listeners on req).
      for (const key of Object.keys(stats.listeners)) expect(key).toMatch(/^(data:ondata|end:onend|end:clearIncoming|[a-z]+:anonymous)$/)
      expect(stats.resources.Timeout ?? 0).toBe(0)
      expect(stats.resources.TCPSocketWrap ?? 0).toBeLessThanOrEqual(1) // the /stats request itself
    }, 240_000)
  })
})
