/**
 * `Expect: 100-continue` end to end through proxy(), with installContinue():
 * the client gets 100 only once the upstream sent one, and an upstream's
 * early final answer reaches the client before any byte of its body.
 */
import http from 'node:http'
import type net from 'node:net'
import { installContinue } from '../../lib/continue.js'
import { bytes, send, sha256, waitFor, type Running } from '../helpers/http.js'
import { RawConnection, head } from '../protocol/raw-client.js'
import { STACKS, closeSharedAgent, startUpstream, type Upstream } from './harness.js'

let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(async () => {
  await upstream.close()
  await closeSharedAgent()
})

describe.each(STACKS)('100-continue through proxy() on $name', (stack) => {
  let proxy: Running
  /** Bytes the proxy read off each client connection. */
  const sockets: net.Socket[] = []
  beforeAll(async () => {
    proxy = await stack.start(upstream.url, { timeout: 2000 }, (handler) => {
      const server = installContinue(http.createServer(handler))
      server.on('connection', (socket: net.Socket) => sockets.push(socket))
      return server
    })
  })
  afterAll(() => proxy.close())

  it('sends the client 100 Continue only after the upstream sent its own, then forwards the body', async () => {
    const conn = await RawConnection.open(proxy.port)
    const body = bytes(200_000, 5)
    await conn.write(head('/p/c/slow-continue', { 'content-length': body.length, expect: '100-continue' }))
    const interim = await conn.response()
    expect(interim.status).toBe(100)
    expect(upstream.continuedAt.length).toBeGreaterThan(0)
    expect(interim.at).toBeGreaterThanOrEqual(upstream.continuedAt[upstream.continuedAt.length - 1])
    await conn.write(body)
    const final = await conn.response()
    expect([final.status, JSON.parse(final.body.toString())]).toEqual([200, { length: body.length }])
    expect(upstream.last()).toMatchObject({ complete: true, sha: sha256(body) })
    expect(upstream.last().headers.expect).toBe('100-continue')
    conn.destroy()
  })

  it("relays the upstream's early 417 at once, and the client's body is never sent or read", async () => {
    const socketsBefore = sockets.length
    const conn = await RawConnection.open(proxy.port)
    const request = head('/p/c/refuse', { 'content-length': 1_000_000, expect: '100-continue' })
    await conn.write(request)
    const final = await conn.response()
    expect(final.status).toBe(417)
    expect(final.headers['x-upstream']).toBe('refused')
    expect(final.body.toString()).toBe('no thanks')
    expect(await conn.isClosed(1000)).toBe(true)
    const socket = sockets[socketsBefore]
    expect(socket.bytesRead).toBe(Buffer.byteLength(request)) // the head, and no byte of body
    expect(upstream.last()).toMatchObject({ url: '/p/c/refuse', length: 0, complete: false })
  })

  it('forwards a request with Expect whose 100 Node already sent (no installContinue) without one', async () => {
    const plain = await stack.start(upstream.url, {})
    try {
      const reply = await send(plain.port, 'PUT', '/p/plain/sink', bytes(10_000), { expect: '100-continue' })
      expect([reply.status, JSON.parse(reply.text)]).toEqual([200, { length: 10_000 }])
      await waitFor(() => upstream.last().complete)
      expect(upstream.last().headers.expect).toBeUndefined()
    } finally {
      await plain.close()
    }
  })
})
