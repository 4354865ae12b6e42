/**
 * Byte-exactness, property-based: whatever the body (0 B to 6 MiB), however
 * the client cuts and paces it, with Content-Length or chunked, identity or
 * gzip, every streaming and buffered handler on Express 4/5 and Koa 2/3 sees
 * exactly the bytes sent (compared by SHA-256), and a buffered route's
 * request stream replays exactly the wire bytes.
 */
import http from 'node:http'
import zlib from 'node:zlib'
import fc from 'fast-check'
import { FLAVORS, serve, type RouteSpec, type Running } from './apps.js'
import { bytes, sha256, sleep } from '../helpers/http.js'

const RUNS_PER_FLAVOR = 250 // 1000 cases in all

async function drain(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const routes: RouteSpec[] = [
  {
    path: '/stream',
    mode: 'streaming',
    options: { limit: '8mb' },
    handler: async (x) => {
      const body = await drain(x.bodyStream!)
      x.respond(200, { sha: sha256(body), length: body.length, received: x.bodyStream!.bytesReceived })
    },
  },
  {
    path: '/buffered',
    mode: 'buffered',
    options: { limit: '8mb' },
    handler: async (x) => {
      const body = x.rawBody ?? Buffer.alloc(0)
      const wire = await drain(x.req as AsyncIterable<Buffer>) // the replay
      x.respond(200, { sha: sha256(body), length: body.length, wireSha: sha256(wire) })
    },
  },
]

/** A body of `size` bytes: incompressible, text-like or all zeros. */
function makeBody(size: number, seed: number, kind: 'random' | 'text' | 'zeros'): Buffer {
  if (kind === 'zeros') return Buffer.alloc(size)
  const buf = bytes(size, seed)
  if (kind === 'text') for (let i = 0; i < buf.length; i++) buf[i] = 0x20 + (buf[i] % 95)
  return buf
}

/** Cut `buf` into `pieces` parts at points drawn from `seed`. */
function cut(buf: Buffer, pieces: number, seed: number): Buffer[] {
  if (buf.length === 0) return [buf]
  const points = new Set<number>()
  let x = seed >>> 0 || 1
  for (let i = 1; i < pieces; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    points.add(1 + (x % Math.max(1, buf.length - 1)))
  }
  const sorted = [...points].sort((a, b) => a - b)
  const parts: Buffer[] = []
  let start = 0
  for (const point of sorted) {
    if (point <= start || point >= buf.length) continue
    parts.push(buf.subarray(start, point))
    start = point
  }
  parts.push(buf.subarray(start))
  return parts
}

const caseArbitrary = fc.record({
  size: fc.oneof(
    { weight: 70, arbitrary: fc.integer({ min: 0, max: 4096 }) },
    { weight: 26, arbitrary: fc.integer({ min: 4097, max: 256 * 1024 }) },
    // Past 4 MiB with a Content-Length, a buffered body is collected in a growable buffer.
    { weight: 4, arbitrary: fc.integer({ min: 256 * 1024 + 1, max: 6 * 1024 * 1024 }) },
  ),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  kind: fc.constantFrom('random' as const, 'text' as const, 'zeros' as const),
  pieces: fc.integer({ min: 1, max: 24 }),
  paced: fc.boolean(),
  chunked: fc.boolean(),
  gzip: fc.boolean(),
  route: fc.constantFrom('/stream', '/buffered'),
})

type Case = typeof caseArbitrary extends fc.Arbitrary<infer T> ? T : never

function upload(port: number, agent: http.Agent, c: Case, wire: Buffer): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream' }
    if (c.gzip) headers['content-encoding'] = 'gzip'
    if (c.chunked) headers['transfer-encoding'] = 'chunked'
    else headers['content-length'] = wire.length
    const req = http.request({ host: '127.0.0.1', port, agent, method: 'PUT', path: c.route, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        try {
          resolve({ status: res.statusCode!, json: JSON.parse(text) })
        } catch {
          resolve({ status: res.statusCode!, json: text })
        }
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    const timer = setTimeout(() => req.destroy(new Error('no response within 10 s')), 10_000)
    req.on('close', () => clearTimeout(timer))
    void (async () => {
      const parts = cut(wire, c.pieces, c.seed)
      for (let i = 0; i < parts.length; i++) {
        if (parts[i].length > 0 && !req.write(parts[i])) await new Promise((r) => req.once('drain', r))
        if (c.paced && i % 4 === 3) await sleep(1 + (c.seed % 2))
      }
      req.end()
    })().catch(reject)
  })
}

describe.each(FLAVORS)('$name: handlers see exactly the bytes sent', (flavor) => {
  let running: Running
  let agent: http.Agent
  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  })
  afterAll(async () => {
    agent.destroy()
    await running.close()
  })

  it(`over ${RUNS_PER_FLAVOR} random uploads (streaming and buffered, Content-Length and chunked, identity and gzip)`, async () => {
    let mismatches = 0
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const body = makeBody(c.size, c.seed, c.kind)
        const wire = c.gzip ? zlib.gzipSync(body, { level: 1 }) : body
        const { status, json } = await upload(running.port, agent, c, wire)
        const ok =
          status === 200 &&
          json.sha === sha256(body) &&
          json.length === body.length &&
          (c.route === '/stream' ? json.received === wire.length : json.wireSha === sha256(wire))
        if (!ok) mismatches++
        return ok
      }),
      { numRuns: RUNS_PER_FLAVOR, endOnFailure: true },
    )
    expect(mismatches).toBe(0)
  }, 120_000)
})
