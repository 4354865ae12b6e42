/**
 * `for await (const chunk of bodyStream)`, the way most streaming handlers
 * read: every chunk is handed over as it came off the wire (never joined
 * with the next into a new Buffer, however slow the reader), the loop ends
 * after the stream's 'end' as with Node's own iterator, and leaving the loop
 * early, reading after `accept()`, or a second loop behave as Node's do.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import { pipeline } from 'node:stream/promises'
import { FLAVORS, serve, type RouteSpec, type Running } from './apps.js'
import { bytes, sha256, sleep } from '../helpers/http.js'

const MiB = 1024 * 1024

/** PUT `body` (chunked when no length is given) and read the JSON answer. */
function put(port: number, path: string, body: Buffer, chunked = false): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream' }
    if (!chunked) headers['content-length'] = body.length
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path, headers, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (part: Buffer) => parts.push(part))
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(parts).toString() || 'null') }))
    })
    req.on('error', reject)
    // Written in 256 KiB pieces so a chunked body is framed like a real client's.
    for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024))
    req.end()
  })
}

const routes: RouteSpec[] = [
  {
    // A reader slower than the client: chunks pile up while it waits.
    path: '/slow',
    mode: 'streaming',
    options: { limit: '16mb' },
    handler: async (x) => {
      const chunks: Buffer[] = []
      let largest = 0
      for await (const chunk of x.bodyStream!) {
        chunks.push(chunk)
        largest = Math.max(largest, chunk.length)
        if (chunks.length % 8 === 1) await sleep(15)
      }
      const body = Buffer.concat(chunks)
      x.respond(200, { sha: sha256(body), length: body.length, largest, ended: x.bodyStream!.readableEnded })
    },
  },
  {
    path: '/break',
    mode: 'streaming',
    options: { limit: '16mb', discard: '32mb' },
    handler: async (x) => {
      let seen = 0
      for await (const chunk of x.bodyStream!) {
        seen += chunk.length
        break
      }
      const stream = x.bodyStream!
      x.respond(200, { seen: seen > 0, destroyed: stream.destroyed, errored: stream.errored?.name ?? null })
    },
  },
  {
    path: '/twice',
    mode: 'streaming',
    options: { limit: '16mb' },
    handler: async (x) => {
      let first = 0
      for await (const chunk of x.bodyStream!) first += chunk.length
      let second = 0
      for await (const chunk of x.bodyStream!) second += chunk.length
      x.respond(200, { first, second })
    },
  },
  {
    path: '/accept-then-iterate',
    mode: 'streaming',
    options: { limit: '16mb' },
    handler: async (x) => {
      x.bodyStream!.accept()
      await sleep(20)
      const chunks: Buffer[] = []
      for await (const chunk of x.bodyStream!) chunks.push(chunk)
      x.respond(200, { sha: sha256(Buffer.concat(chunks)) })
    },
  },
  {
    path: '/pipeline-generator',
    mode: 'streaming',
    options: { limit: '16mb' },
    handler: async (x) => {
      let length = 0
      const hash = createHash('sha256')
      await pipeline(x.bodyStream!, async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          length += chunk.length
          hash.update(chunk)
          yield chunk
        }
      }, async function (source: AsyncIterable<Buffer>) {
        for await (const _ of source);
      })
      x.respond(200, { sha: hash.digest('hex'), length })
    },
  },
  {
    path: '/throw-inside',
    mode: 'streaming',
    options: { limit: '16mb', discard: '32mb' },
    handler: async (x) => {
      try {
        for await (const _ of x.bodyStream!) throw new Error('the handler gave up')
      } catch (err) {
        x.respond(422, { message: (err as Error).message, destroyed: x.bodyStream!.destroyed })
      }
    },
  },
]

describe.each(FLAVORS)('for await over bodyStream on $name', (flavor) => {
  let running: Running

  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
  })
  afterAll(() => running.close())

  it.each([false, true])('hands over each chunk as it arrived, never joined, to a reader slower than the client (chunked: %s)', async (chunked) => {
    const body = bytes(6 * MiB + 7, 11)
    const { status, json } = await put(running.port, '/slow', body, chunked)
    expect(status).toBe(200)
    expect(json).toMatchObject({ sha: sha256(body), length: body.length, ended: true })
    // Node's HTTP parser hands over at most one socket read (64 KiB) at a
    // time; a joined chunk would be up to the stream's 256 KiB high-water mark.
    expect(json.largest).toBeLessThanOrEqual(64 * 1024)
  })

  it('destroys the stream with an AbortError when the loop is left early, as Node does, and keeps serving', async () => {
    const { status, json } = await put(running.port, '/break', bytes(2 * MiB, 3))
    expect([status, json]).toEqual([200, { seen: true, destroyed: true, errored: 'AbortError' }])
    const again = await put(running.port, '/slow', bytes(1000, 4))
    expect(again.json.length).toBe(1000)
  })

  it('gives a second loop nothing once the first has read the body', async () => {
    const body = bytes(3 * MiB + 1, 5)
    const { json } = await put(running.port, '/twice', body, true)
    expect(json).toEqual({ first: body.length, second: 0 })
  })

  it('reads every byte after accept() let the body start flowing', async () => {
    const body = bytes(3 * MiB + 5, 6)
    const { status, json } = await put(running.port, '/accept-then-iterate', body)
    expect([status, json]).toEqual([200, { sha: sha256(body) }])
  })

  it('feeds a pipeline() whose steps are async generators', async () => {
    const body = bytes(2 * MiB + 9, 7)
    const { status, json } = await put(running.port, '/pipeline-generator', body, true)
    expect([status, json]).toEqual([200, { sha: sha256(body), length: body.length }])
  })

  it('destroys the stream when the loop body throws, and the handler answers', async () => {
    const { status, json } = await put(running.port, '/throw-inside', bytes(MiB, 8))
    expect([status, json]).toEqual([422, { message: 'the handler gave up', destroyed: true }])
  })
})
