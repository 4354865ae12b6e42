/**
 * A keep-alive connection that goes idle after a buffered request must not
 * keep that request alive. Node's server lets go of a request (its response,
 * its body) when the request ends; a body parser ends it by reading it, and
 * Node drains one nobody read. The shim reads the body, then puts the bytes
 * back for a legacy handler to read again: a replay nobody reads must still
 * end when the response is sent, or every idle connection holds its last
 * request and body until the client sends another or goes away.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import { Writable } from 'node:stream'
import v8 from 'node:v8'
import vm from 'node:vm'
import { FLAVORS, serve, type RouteSpec, type Running } from './apps'
import { readReply, waitFor } from '../helpers/http'

v8.setFlagsFromString('--expose-gc')
const collectGarbage = vm.runInNewContext('gc') as () => void

/** 64 KiB of JSON: the body a held request would keep. */
const BODY = JSON.stringify({ rows: Array.from({ length: 2048 }, (_, i) => `row ${String(i).padStart(20, '0')}`) })

describe.each(FLAVORS)('$name: an idle keep-alive connection after a buffered request', (flavor) => {
  let running: Running
  let seen: Array<{ ref: WeakRef<http.IncomingMessage>; ended: boolean; bodyLength: number }>
  /** What a slow reader of the replay got, once it finished. */
  let piped: Promise<string>

  /** Remember the request weakly, and whether it ended; answer without touching the stream. */
  const remember: RouteSpec['handler'] = (x) => {
    const entry = { ref: new WeakRef(x.req), ended: false, bodyLength: x.rawBody?.length ?? -1 }
    x.req.once('end', () => (entry.ended = true))
    seen.push(entry)
    x.respond(200, { length: entry.bodyLength })
  }

  beforeAll(async () => {
    running = await serve(
      flavor.build([
        // The shim's default JSON parser (an unmarked route) and a marked buffered route.
        { path: '/plain', mode: 'plain', handler: remember },
        { path: '/buffered', mode: 'buffered', handler: remember },
        {
          // A legacy handler that pipes the replay to a slow destination and
          // answers at once: the drain when the answer is sent must not take
          // bytes from it.
          path: '/piped',
          mode: 'plain',
          handler: (x) => {
            const hash = createHash('sha256')
            const slow = new Writable({
              highWaterMark: 1024,
              write(chunk: Buffer, _encoding, callback) {
                hash.update(chunk)
                setTimeout(callback, 20)
              },
            })
            piped = new Promise((resolve, reject) => {
              slow.on('finish', () => resolve(hash.digest('hex')))
              slow.on('error', reject)
            })
            x.req.pipe(slow)
            x.respond(200, { piping: true })
          },
        },
      ]),
      flavor.kind,
    )
  })

  afterAll(() => running.close())

  beforeEach(() => {
    seen = []
  })

  function put(agent: http.Agent, path: string, type: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: running.port, method: 'PUT', path, agent, headers: { 'content-type': type, 'content-length': Buffer.byteLength(BODY) } },
        (res) => readReply(res).then(resolve, reject),
      )
      req.on('error', reject)
      req.end(BODY)
    })
  }

  it.each([
    ['/plain', 'application/json'],
    ['/buffered', 'application/octet-stream'],
  ])('lets go of the request to %s and its body once the answer is sent, nobody having read the replay', async (path, type) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const reply = await put(agent, path, type)
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.text)).toEqual({ length: Buffer.byteLength(BODY) })
      const [entry] = seen
      // The request ends, as it does when a body parser reads it to the end.
      await waitFor(() => entry.ended)
      // The connection is still open and idle...
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1)
      // ...and holds nothing of the request.
      await waitFor(() => {
        collectGarbage()
        return entry.ref.deref() === undefined
      })
      // The same connection serves the next request as before.
      const again = await put(agent, path, type)
      expect(JSON.parse(again.text)).toEqual({ length: Buffer.byteLength(BODY) })
      expect(seen).toHaveLength(2)
    } finally {
      agent.destroy()
    }
  })

  it('leaves a slow reader of the replay every byte when the answer goes out before it has read them', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const reply = await put(agent, '/piped', 'application/json')
      expect(JSON.parse(reply.text)).toEqual({ piping: true })
      expect(await piped).toBe(createHash('sha256').update(BODY).digest('hex'))
    } finally {
      agent.destroy()
    }
  })
})
