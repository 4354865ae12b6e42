/**
 * Decompression bombs: the limit is counted after inflation, so a ~1 MB gzip
 * body that inflates to 1 GiB is stopped at the limit with bounded memory, on
 * streaming and buffered routes alike; deflate and br likewise; an encoding
 * stream-shim does not decode is a 415 before the body is read.
 */
import zlib from 'node:zlib'
import { FLAVORS, serve, type RouteSpec, type Running } from './apps.js'
import { RawConnection, head } from './raw-client.js'
import { sleep } from '../helpers/http.js'

const LIMIT = 10 * 1024 * 1024
const MiB = 1024 * 1024

/** gzip members may be concatenated: 16 members of 64 MiB of zeros inflate to 1 GiB. */
const member = zlib.gzipSync(Buffer.alloc(64 * MiB), { level: 9 })
const gzipBomb = Buffer.concat(Array.from({ length: 16 }, () => member))
const deflateBomb = zlib.deflateSync(Buffer.alloc(64 * MiB), { level: 9 })
const brBomb = zlib.brotliCompressSync(Buffer.alloc(64 * MiB))

let handlerSaw = 0
const routes: RouteSpec[] = [
  {
    path: '/stream',
    mode: 'streaming',
    options: { limit: LIMIT },
    handler: async (x) => {
      let length = 0
      for await (const chunk of x.bodyStream!) {
        length += chunk.length
        handlerSaw = Math.max(handlerSaw, length)
      }
      x.respond(200, { length })
    },
  },
  { path: '/buffered', mode: 'buffered', options: { limit: LIMIT }, handler: (x) => x.respond(200, { length: x.rawBody!.length }) },
]

describe('the bombs', () => {
  it('are what they claim', () => {
    expect(gzipBomb.length).toBeLessThan(1.2 * MiB)
    expect(zlib.gunzipSync(member).length * 16).toBe(1024 * MiB)
  })
})

describe.each(FLAVORS)('$name: decompression bombs', (flavor) => {
  let running: Running
  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
  })
  afterAll(() => running.close())

  async function upload(path: string, encoding: string, body: Buffer) {
    const conn = await RawConnection.open(running.port)
    await conn.write(head(path, { 'content-length': body.length, 'content-encoding': encoding, 'content-type': 'application/octet-stream' }))
    conn.write(body).catch(() => {}) // the server may close before taking it all
    const reply = await conn.response(20_000)
    conn.destroy()
    return reply
  }

  it.each(['/stream', '/buffered'])('%s: stops a 1 MB gzip body inflating to 1 GiB at the limit, with bounded memory', async (path) => {
    global.gc?.()
    const before = process.memoryUsage().rss
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2)
    handlerSaw = 0
    try {
      const reply = await upload(path, 'gzip', gzipBomb)
      expect(reply.status).toBe(413)
    } finally {
      clearInterval(sampler)
    }
    peak = Math.max(peak, process.memoryUsage().rss)
    expect(handlerSaw).toBeLessThanOrEqual(LIMIT)
    expect(peak - before).toBeLessThan(128 * MiB) // against 1024 MiB inflated
  })

  it.each([
    ['deflate', deflateBomb],
    ['br', brBomb],
  ] as const)('stops a %s bomb at the limit on both kinds of route', async (encoding, bomb) => {
    for (const path of ['/stream', '/buffered']) {
      const reply = await upload(path, encoding, bomb)
      expect(reply.status).toBe(413)
    }
  })

  it.each(['/stream', '/buffered'])('%s: refuses an unsupported encoding with 415 before reading', async (path) => {
    const conn = await RawConnection.open(running.port)
    await conn.write(head(path, { 'content-length': 1000, 'content-encoding': 'compress', 'content-type': 'application/octet-stream' }))
    const reply = await conn.response()
    expect(reply.status).toBe(415)
    if (flavor.kind === 'express') expect(JSON.parse(reply.body.toString()).type).toBe('encoding.unsupported')
    conn.destroy()
    await sleep(1)
  })
})
