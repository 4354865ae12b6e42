/**
 * A streaming handler that answers without reading its body: the rest is
 * discarded up to the route's `discard` limit to keep the connection, or the
 * connection is closed; a warning names the route once; stream-shim never
 * answers in the handler's place.
 */
import { FLAVORS, echoRoute, serve, type RouteSpec, type Running } from './apps.js'
import { RawConnection, head } from './raw-client.js'
import { bytes, sha256, sleep } from '../helpers/http.js'

// Warnings are once per route for the whole process: each flavor gets its own path.
const routes = (tag: string): RouteSpec[] => [
  { path: '/ignore', mode: 'streaming', handler: (x) => x.respond(200, { ok: true }) },
  { path: `/ignore-warn-once-${tag}`, mode: 'streaming', handler: (x) => x.respond(201, { ok: true }) },
  { path: '/ignore-no-discard', mode: 'streaming', options: { discard: 0 }, handler: (x) => x.respond(200, { ok: true }) },
  { path: '/refuse', mode: 'streaming', handler: (x) => x.respond(422, { error: 'no thanks' }) },
  {
    path: '/read-some',
    mode: 'streaming',
    handler: async (x) => {
      for await (const chunk of x.bodyStream!) {
        x.respond(200, { first: chunk.length })
        return
      }
    },
  },
  {
    path: '/late',
    mode: 'streaming',
    options: { timeout: 300 },
    // Neither reads nor answers for longer than the idle timeout, then answers.
    handler: (x) => new Promise<void>((resolve) => setTimeout(() => resolve(x.respond(200, { late: true })), 700)),
  },
  echoRoute,
]

const upload = (path: string, length: number) => head(path, { 'content-length': length, 'content-type': 'application/octet-stream' })

describe.each(FLAVORS)('$name: a body the streaming handler does not read', (flavor) => {
  let running: Running
  // Jest's sandboxed `process` never delivers 'warning' events: watch emitWarning itself.
  let emitWarning: jest.SpyInstance
  const warnings = () => emitWarning.mock.calls.filter((call) => (call[1] as { code?: string })?.code === 'STREAM_SHIM_UNREAD_BODY')
  beforeAll(async () => {
    running = await serve(flavor.build(routes(flavor.name.replace(' ', ''))), flavor.kind)
  })
  afterAll(() => running.close())
  beforeEach(() => {
    emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
  })
  afterEach(() => emitWarning.mockRestore())

  /** Prove the connection is still usable: another request on it succeeds. */
  async function stillServes(conn: RawConnection): Promise<void> {
    const body = bytes(1000, 42)
    await conn.write(upload('/echo', body.length))
    await conn.write(body)
    const reply = await conn.response()
    expect(JSON.parse(reply.body.toString())).toEqual({ sha: sha256(body) })
  }

  it('discards a small unread body and keeps the connection alive', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write(upload('/ignore', 100_000))
    await conn.write(bytes(100_000, 1))
    const reply = await conn.response()
    expect(reply.status).toBe(200)
    expect(reply.headers.connection).not.toBe('close')
    await stillServes(conn)
    conn.destroy()
  })

  it('discards the rest of a partly read body and keeps the connection alive', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write(upload('/read-some', 200_000))
    await conn.write(bytes(200_000, 2))
    expect((await conn.response()).status).toBe(200)
    await stillServes(conn)
    conn.destroy()
  })

  it('closes the connection when the declared rest is over the discard limit', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write(upload('/ignore', 10 * 1024 * 1024))
    conn.write(bytes(64 * 1024, 3)).catch(() => {})
    expect((await conn.response()).status).toBe(200)
    expect(await conn.isClosed(2000)).toBe(true)
  })

  it('stops reading a never-ending chunked body after the discard limit and closes', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write(head('/ignore', { 'transfer-encoding': 'chunked' }))
    const chunk = Buffer.concat([Buffer.from('10000\r\n'), bytes(0x10000, 4), Buffer.from('\r\n')])
    let written = 0
    let failed = false
    conn.socket.once('error', () => (failed = true))
    const response = conn.response()
    // Node's own policy would read all 256 MiB of this into the void.
    while (!failed && written < 256 * 1024 * 1024 && !conn.socket.destroyed) {
      if (!conn.socket.write(chunk)) await Promise.race([new Promise((r) => conn.socket.once('drain', r)), conn.closed, sleep(2000)])
      written += 0x10000
      if (await Promise.race([conn.closed.then(() => true), Promise.resolve(false)])) break
    }
    expect((await response).status).toBe(200)
    expect(await conn.isClosed(2000)).toBe(true)
    expect(written).toBeLessThan(32 * 1024 * 1024) // kernel buffers plus the 256 KiB discarded
  })

  it('closes at once with discard: 0', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write(upload('/ignore-no-discard', 1000))
    await conn.write(bytes(10, 5)) // and the rest never comes
    expect((await conn.response()).status).toBe(200)
    expect(await conn.isClosed(1000)).toBe(true)
  })

  it('warns once per route, naming it, when a successful response leaves the body unread', async () => {
    for (let i = 0; i < 3; i++) {
      const conn = await RawConnection.open(running.port)
      await conn.write(upload(`/ignore-warn-once-${flavor.name.replace(' ', '')}`, 10))
      await conn.write('0123456789')
      expect((await conn.response()).status).toBe(201)
      conn.destroy()
    }
    expect(warnings()).toHaveLength(1)
    const [message, options] = warnings()[0] as [string, { type: string }]
    expect(options.type).toBe('StreamShimWarning')
    expect(message).toContain(`PUT /ignore-warn-once-${flavor.name.replace(' ', '')}`)
  })

  it('does not warn when the handler refuses the body with an error status', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write(upload('/refuse', 10))
    await conn.write('0123456789')
    expect((await conn.response()).status).toBe(422)
    await stillServes(conn)
    expect(warnings()).toHaveLength(0)
    conn.destroy()
  })

  it('never answers for a handler that neither reads nor answers within the timeout: the response stays the handler\'s', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write(upload('/late', 1000))
    await conn.write(bytes(100, 6))
    const reply = await conn.response(3000)
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body.toString())).toEqual({ late: true })
    conn.destroy()
  })
})

describe('the unread-body warning in production', () => {
  it('is not emitted when NODE_ENV is production', async () => {
    const flavor = FLAVORS[1]
    const running = await serve(flavor.build([{ path: '/prod', mode: 'streaming', handler: (x) => x.respond(200, {}) }]), flavor.kind)
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const previous = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    try {
      const conn = await RawConnection.open(running.port)
      await conn.write(upload('/prod', 10))
      await conn.write('0123456789')
      expect((await conn.response()).status).toBe(200)
      conn.destroy()
      expect(emitWarning).not.toHaveBeenCalled()
    } finally {
      process.env.NODE_ENV = previous
      emitWarning.mockRestore()
      await running.close()
    }
  })
})
