/**
 * Limits before bytes, and slow-drip bodies: a declared length over the limit
 * is refused before the body is read, a chunked body is cut at the limit with
 * the connection closed, and a body that drips in slower than the idle
 * timeout ends with 408 while the server goes on serving others.
 */
import { FLAVORS, serve, type RouteSpec, type Running } from './apps.js'
import { RawConnection, head } from './raw-client.js'
import { bytes, sha256, sleep } from '../helpers/http.js'

const calls: string[] = []

async function drain(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const routes: RouteSpec[] = [
  {
    path: '/stream-limited',
    mode: 'streaming',
    options: { limit: 64 * 1024 },
    handler: async (x) => {
      calls.push('stream-limited')
      x.respond(200, { length: (await drain(x.bodyStream!)).length })
    },
  },
  {
    path: '/buffered-limited',
    mode: 'buffered',
    options: { limit: 64 * 1024 },
    handler: (x) => {
      calls.push('buffered-limited')
      x.respond(200, { length: x.rawBody!.length })
    },
  },
  {
    path: '/stream-drip',
    mode: 'streaming',
    options: { timeout: 400 },
    handler: async (x) => x.respond(200, { length: (await drain(x.bodyStream!)).length }),
  },
  { path: '/buffered-drip', mode: 'buffered', options: { timeout: 400 }, handler: (x) => x.respond(200, {}) },
  { path: '/echo', mode: 'streaming', handler: async (x) => x.respond(200, { sha: sha256(await drain(x.bodyStream!)) }) },
]

describe.each(FLAVORS)('$name: limits before bytes', (flavor) => {
  let running: Running
  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
  })
  afterAll(() => running.close())
  beforeEach(() => {
    calls.length = 0
  })

  it.each(['/stream-limited', '/buffered-limited'])(
    '%s: 413s a declared Content-Length over the limit before reading, without calling the handler',
    async (path) => {
      const conn = await RawConnection.open(running.port)
      // Only the head: the refusal must not wait for a single body byte.
      await conn.write(head(path, { 'content-length': 10 * 1024 * 1024, 'content-type': 'application/octet-stream' }))
      const reply = await conn.response(2000)
      expect(reply.status).toBe(413)
      expect(reply.headers.connection).toBe('close')
      expect(await conn.isClosed()).toBe(true)
      expect(calls).toEqual([])
    },
  )

  it('keeps the connection of a streaming route when the refused body fits the discard limit', async () => {
    const conn = await RawConnection.open(running.port)
    const body = bytes(64 * 1024 + 1, 3)
    await conn.write(head('/stream-limited', { 'content-length': body.length, 'content-type': 'application/octet-stream' }))
    const reply = await conn.response(2000)
    expect(reply.status).toBe(413)
    expect(reply.headers.connection).toBe('keep-alive')
    await conn.write(body) // read and thrown away by the server
    const small = bytes(100, 4)
    await conn.write(head('/echo', { 'content-length': small.length }))
    await conn.write(small)
    expect(JSON.parse((await conn.response()).body.toString())).toEqual({ sha: sha256(small) })
    expect(calls).toEqual([])
    conn.destroy()
  })

  it.each(['/stream-limited', '/buffered-limited'])(
    '%s: cuts a chunked body at the limit with 413 and closes the connection',
    async (path) => {
      const conn = await RawConnection.open(running.port)
      await conn.write(head(path, { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' }))
      const chunk = Buffer.concat([Buffer.from('4000\r\n'), bytes(0x4000, 1), Buffer.from('\r\n')])
      for (let i = 0; i < 5; i++) await conn.write(chunk) // 80 KiB, and the body never ends
      const reply = await conn.response(2000)
      expect(reply.status).toBe(413)
      expect(reply.headers.connection).toBe('close')
      expect(await conn.isClosed()).toBe(true)
    },
  )

  it.each(['/stream-limited', '/buffered-limited'])('%s: accepts a chunked body exactly at the limit', async (path) => {
    const conn = await RawConnection.open(running.port)
    await conn.write(head(path, { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' }))
    await conn.write(Buffer.concat([Buffer.from('10000\r\n'), bytes(0x10000, 2), Buffer.from('\r\n0\r\n\r\n')]))
    const reply = await conn.response()
    expect(JSON.parse(reply.body.toString())).toEqual({ length: 0x10000 })
    conn.destroy()
  })
})

describe.each(FLAVORS)('$name: slow-drip bodies', (flavor) => {
  let running: Running
  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
  })
  afterAll(() => running.close())

  it.each(['/stream-drip', '/buffered-drip'])(
    '%s: a byte per second ends with 408 after the idle timeout, while others are served',
    async (path) => {
      const conn = await RawConnection.open(running.port)
      await conn.write(head(path, { 'content-length': 100, 'content-type': 'application/octet-stream' }))
      let lastByte = performance.now()
      let dripping = true
      const drip = (async () => {
        for (let i = 0; i < 100 && dripping; i++) {
          lastByte = performance.now()
          await conn.write('x').catch(() => (dripping = false))
          await sleep(1000)
        }
      })()
      const reply = conn.response(5000)
      // Meanwhile, other clients are served as usual.
      const others = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const other = await RawConnection.open(running.port)
          const body = bytes(10_000, i + 10)
          await other.write(head('/echo', { 'content-length': body.length }))
          await other.write(body)
          const result = await other.response()
          other.destroy()
          return JSON.parse(result.body.toString()).sha === sha256(body)
        }),
      )
      expect(others.every(Boolean)).toBe(true)
      const timedOut = await reply
      dripping = false
      expect(timedOut.status).toBe(408)
      const idle = timedOut.at - lastByte
      expect(idle).toBeGreaterThanOrEqual(380)
      expect(idle).toBeLessThan(900)
      expect(await conn.isClosed()).toBe(true)
      await drip
    },
  )
})
