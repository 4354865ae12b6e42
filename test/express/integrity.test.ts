import { once } from 'node:events'
import { streamShim, streaming } from '../../adapters/express/index.js'
import { bytes, frameworks, listen, rawSocket, send, sha256, waitFor, type Running } from '../helpers/http.js'

describe.each(frameworks)('%s: body integrity', (_name, express) => {
  let running: Running
  const seen: Array<{ route: string; outcome: string; type?: string; received?: number }> = []

  beforeAll(async () => {
    const app = express()
    app.use(streamShim({ raw: { limit: '10mb' } }))
    app.put(
      '/stream',
      streaming(async (req, res) => {
        let received = 0
        try {
          for await (const chunk of req.bodyStream) received += chunk.length
          seen.push({ route: 'stream', outcome: 'end', received })
          res.json({ received })
        } catch (err: any) {
          seen.push({ route: 'stream', outcome: 'error', type: err.type, received })
          if (!res.headersSent) res.status(err.status).end()
        }
      }),
    )
    app.put('/buffered', (req: any, res: any) => {
      seen.push({ route: 'buffered', outcome: 'called', received: req.body.length })
      res.json({ sha: sha256(req.body) })
    })
    app.use((err: any, _req: any, res: any, _next: any) => {
      seen.push({ route: 'error-handler', outcome: 'error', type: err.type })
      if (!res.headersSent) res.status(err.status ?? 500).end()
    })
    running = await listen(app)
  })

  afterAll(() => running.close())
  beforeEach(() => {
    seen.length = 0
  })

  async function sendShort(path: string, headers: string, part: Buffer): Promise<void> {
    const socket = await rawSocket(running.port)
    socket.write(`PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n${headers}\r\n`)
    socket.write(part)
    await new Promise((resolve) => setTimeout(resolve, 50))
    socket.resume()
    socket.end() // the client gives up with the body unfinished
    await once(socket, 'close')
  }

  it('gives a streaming handler request.aborted, never a clean end, when the body is shorter than its Content-Length', async () => {
    await sendShort('/stream', 'Content-Length: 100000\r\n', bytes(40_000))
    await waitFor(() => seen.length > 0)
    expect(seen).toEqual([{ route: 'stream', outcome: 'error', type: 'request.aborted', received: 40_000 }])
  })

  it('gives a streaming handler request.aborted when a chunked body is cut off', async () => {
    await sendShort('/stream', 'Transfer-Encoding: chunked\r\n', Buffer.from('1000\r\n' + 'x'.repeat(0x1000) + '\r\n800\r\nabc'))
    await waitFor(() => seen.length > 0)
    expect(seen[0]).toMatchObject({ route: 'stream', outcome: 'error', type: 'request.aborted' })
  })

  it('never calls a buffered handler when the body is shorter than its Content-Length', async () => {
    await sendShort('/buffered', 'Content-Length: 100000\r\n', bytes(40_000))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen.some((s) => s.route === 'buffered')).toBe(false)
  })

  it('keeps serving after aborted bodies', async () => {
    for (let i = 0; i < 5; i++) await sendShort('/stream', 'Content-Length: 5000\r\n', bytes(100))
    const body = bytes(12_345, 3)
    const reply = await send(running.port, 'PUT', '/buffered', body, { 'content-type': 'application/octet-stream' })
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body) })
  })

  it.each([0, 1, 16_383, 16_384, 65_537, 1_000_000])('delivers a %i-byte body unchanged in both modes', async (size) => {
    const body = bytes(size, size + 1)
    const headers = { 'content-type': 'application/octet-stream' }
    const streamed = await send(running.port, 'PUT', '/stream', body, headers)
    expect(JSON.parse(streamed.text)).toEqual({ received: size })
    const buffered = await send(running.port, 'PUT', '/buffered', body, headers, { chunked: true })
    expect(JSON.parse(buffered.text)).toEqual({ sha: sha256(body) })
  })

  // With a Content-Length: below 64 KiB allocated at once, up to 4 MiB at a
  // quarter, from 4 MiB grown as it arrives (each size at its boundary).
  it.each([65_536, 65_537, 4 * 1024 * 1024 - 1, 4 * 1024 * 1024, 9 * 1024 * 1024 + 3])(
    'buffers a %i-byte body with a Content-Length unchanged',
    async (size) => {
      const body = bytes(size, size + 7)
      const reply = await send(running.port, 'PUT', '/buffered', body, { 'content-type': 'application/octet-stream' })
      expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body) })
      expect(seen).toEqual([{ route: 'buffered', outcome: 'called', received: size }])
    },
  )

  it('never calls a buffered handler when a body being grown is cut off', async () => {
    await sendShort('/buffered', `Content-Length: ${8 * 1024 * 1024}\r\n`, bytes(5 * 1024 * 1024))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen.some((s) => s.route === 'buffered')).toBe(false)
    const body = bytes(12_345, 3)
    const reply = await send(running.port, 'PUT', '/buffered', body, { 'content-type': 'application/octet-stream' })
    expect(JSON.parse(reply.text)).toEqual({ sha: sha256(body) })
  })
})

describe('a declared Content-Length is only the client\'s word', () => {
  it('allocates nothing near the declared size until the body has started to arrive', async () => {
    const express = require('express')
    const app = express()
    app.use(streamShim({ raw: { limit: '1gb' } }))
    app.put('/big', (req: any, res: any) => res.json({ length: req.body.length }))
    const running = await listen(app)
    const sockets = []
    try {
      global.gc?.()
      const before = process.memoryUsage().arrayBuffers
      for (let i = 0; i < 20; i++) {
        const socket = await rawSocket(running.port)
        socket.resume()
        socket.write('PUT /big HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 40000000\r\n\r\n')
        socket.write(bytes(1024, i + 1)) // then stall
        sockets.push(socket)
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
      const grown = process.memoryUsage().arrayBuffers - before
      // 20 × 40 MB declared: allocating on the client's word would be 800 MB.
      expect(grown).toBeLessThan(50 * 1024 * 1024)
    } finally {
      for (const socket of sockets) socket.destroy()
      await running.close()
    }
  })
})
