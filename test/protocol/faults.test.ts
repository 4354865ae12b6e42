/**
 * Faults: clients that go away at random points of the body. A buffered
 * handler is never called, a streaming handler gets an error and never a
 * clean end, no listener or timer is left behind, and the server goes on
 * serving.
 */
import fc from 'fast-check'
import type { IncomingMessage } from 'node:http'
import { FLAVORS, echoRoute, serve, type RouteSpec, type Running } from './apps.js'
import { RawConnection, head } from './raw-client.js'
import { bytes, sha256, sleep, waitFor } from '../helpers/http.js'

interface Outcome {
  called: boolean
  result?: 'end' | string
  req?: IncomingMessage
}
const outcomes = new Map<string, Outcome>()

const routes: RouteSpec[] = [
  {
    path: '/stream',
    mode: 'streaming',
    handler: async (x) => {
      const outcome: Outcome = { called: true, req: x.req }
      outcomes.set(String(x.req.headers['x-id']), outcome)
      try {
        for await (const _chunk of x.bodyStream!) void _chunk
        outcome.result = 'end'
        x.respond(200, {})
      } catch (err) {
        outcome.result = (err as { type?: string }).type ?? String(err)
        throw err
      }
    },
  },
  {
    path: '/buffered',
    mode: 'buffered',
    handler: (x) => {
      outcomes.set(String(x.req.headers['x-id']), { called: true, result: 'end' })
      x.respond(200, {})
    },
  },
  echoRoute,
]

const BODY_LISTENER_EVENTS = ['data', 'end', 'error', 'close', 'aborted', 'readable'] as const

const timers = () => process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length

describe.each(FLAVORS)('$name: clients that abort mid-body', (flavor) => {
  let running: Running
  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
  })
  afterAll(() => running.close())

  const connections = () => new Promise<number>((resolve) => running.server.getConnections((_e, n) => resolve(n)))

  it('never calls a buffered handler, fails a streaming one, leaks nothing and keeps serving', async () => {
    const timersBefore = timers()
    let id = 0
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          size: fc.integer({ min: 1, max: 512 * 1024 }),
          cutAt: fc.double({ min: 0, max: 0.999, noNaN: true }),
          chunked: fc.boolean(),
          route: fc.constantFrom('/stream', '/buffered'),
          pauseFirst: fc.boolean(),
        }),
        async (c) => {
          const key = `${flavor.name}-${++id}`
          const body = bytes(c.size, id)
          const conn = await RawConnection.open(running.port)
          const headers: Record<string, string | number> = { 'x-id': key, 'content-type': 'application/octet-stream' }
          let wire: Buffer
          if (c.chunked) {
            headers['transfer-encoding'] = 'chunked'
            wire = Buffer.concat([Buffer.from(body.length.toString(16) + '\r\n'), body, Buffer.from('\r\n0\r\n\r\n')])
          } else {
            headers['content-length'] = body.length
            wire = body
          }
          await conn.write(head(c.route, headers))
          if (c.pauseFirst) await sleep(2)
          const sent = Math.floor(wire.length * c.cutAt)
          if (sent > 0) await conn.write(wire.subarray(0, Math.min(sent, c.chunked ? wire.length - 5 : wire.length - 1)))
          await sleep(1)
          conn.destroy()
          await waitFor(() => {
            const o = outcomes.get(key)
            return c.route === '/buffered' || (o?.result !== undefined)
          })
          const outcome = outcomes.get(key)
          if (c.route === '/buffered') {
            await sleep(5)
            return outcomes.get(key) === undefined
          }
          const listenersLeft = BODY_LISTENER_EVENTS.some((event) => outcome!.req!.listenerCount(event) > 2)
          return outcome!.called && outcome!.result !== 'end' && !listenersLeft
        },
      ),
      { numRuns: 60, endOnFailure: true },
    )
    for (let i = 0; i < 300 && (await connections()) > 0; i++) await sleep(10)
    expect(await connections()).toBe(0)
    // Timers of the last requests may still be clearing; a leaked one (an idle
    // timeout of 30 s, a discard timer) would still be there after 2 s.
    await waitFor(() => timers() <= timersBefore, 2000).catch(() => undefined)
    expect(timers()).toBeLessThanOrEqual(timersBefore)

    // Still serving.
    const conn = await RawConnection.open(running.port)
    const body = bytes(10_000, 99)
    await conn.write(head('/echo', { 'content-length': body.length }))
    await conn.write(body)
    expect(JSON.parse((await conn.response()).body.toString())).toEqual({ sha: sha256(body) })
    conn.destroy()
  }, 60_000)

  it('removes every listener the body stream added from the request', async () => {
    const key = `${flavor.name}-listeners`
    const conn = await RawConnection.open(running.port)
    await conn.write(head('/stream', { 'x-id': key, 'content-length': 1000 }))
    await conn.write(bytes(500, 1))
    await waitFor(() => outcomes.get(key)?.called === true)
    const req = outcomes.get(key)!.req!
    await sleep(10)
    const reading = Object.fromEntries(BODY_LISTENER_EVENTS.map((e) => [e, req.listenerCount(e)]))
    conn.destroy()
    await waitFor(() => outcomes.get(key)?.result !== undefined)
    expect(outcomes.get(key)!.result).toBe('request.aborted')
    await sleep(10)
    for (const event of BODY_LISTENER_EVENTS) {
      // Fewer than while reading: the body stream's own are gone.
      expect(req.listenerCount(event)).toBeLessThanOrEqual(Math.max(0, reading[event] - (event === 'data' || event === 'end' ? 1 : 0)))
    }
    expect(req.listenerCount('data')).toBe(0)
  })
})
