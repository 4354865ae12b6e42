/**
 * `Expect: 100-continue` under the handler's control, with `installContinue()`:
 * the interim response goes out when the body is first read, never when a
 * route answers first, and the connection is then closed or kept correctly.
 */
import http from 'node:http'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FLAVORS, serve, type RouteSpec, type Running } from './apps.js'
import { RawConnection, head } from './raw-client.js'
import { bytes, sha256, sleep } from '../helpers/http.js'
import { installContinue } from '../../lib/continue.js'

const READ_DELAY = 150

async function hashOf(stream: AsyncIterable<Buffer>): Promise<{ sha: string; length: number }> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  const body = Buffer.concat(chunks)
  return { sha: sha256(body), length: body.length }
}

const routes: RouteSpec[] = [
  {
    path: '/read-later',
    mode: 'streaming',
    handler: async (x) => {
      await sleep(READ_DELAY)
      x.respond(200, await hashOf(x.bodyStream!))
    },
  },
  {
    path: '/accept',
    mode: 'streaming',
    handler: async (x) => {
      x.bodyStream!.accept()
      await sleep(READ_DELAY)
      x.respond(200, await hashOf(x.bodyStream!))
    },
  },
  { path: '/reject', mode: 'streaming', handler: (x) => x.respond(401, { error: 'who are you' }) },
  {
    path: '/guarded',
    mode: 'streaming',
    before: (x) => {
      x.respond(403, { error: 'forbidden' })
      return true
    },
    handler: async (x) => x.respond(200, await hashOf(x.bodyStream!)),
  },
  { path: '/limited', mode: 'streaming', options: { limit: 1024 }, handler: async (x) => x.respond(200, await hashOf(x.bodyStream!)) },
  { path: '/buffered', mode: 'buffered', handler: (x) => x.respond(200, { sha: sha256(x.rawBody!), length: x.rawBody!.length }) },
  { path: '/buffered-limited', mode: 'buffered', options: { limit: 1024 }, handler: (x) => x.respond(200, {}) },
]

describe.each(FLAVORS)('$name: Expect: 100-continue with installContinue()', (flavor) => {
  let running: Running
  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
  })
  afterAll(() => running.close())

  /** Send the head, then the body only once 100 Continue arrives, as RFC 9110 clients do. */
  async function politeUpload(conn: RawConnection, path: string, body: Buffer, extra: Record<string, string | number> = {}) {
    const sentAt = performance.now()
    await conn.write(head(path, { 'content-length': body.length, expect: '100-continue', 'content-type': 'application/octet-stream', ...extra }))
    const first = await conn.response()
    if (first.status !== 100) return { interim: undefined, final: first, sentAt }
    await conn.write(body)
    return { interim: first, final: await conn.response(), sentAt }
  }

  it('sends 100 Continue only when the streaming handler first reads the body', async () => {
    const conn = await RawConnection.open(running.port)
    const body = bytes(100_000, 3)
    const { interim, final, sentAt } = await politeUpload(conn, '/read-later', body)
    expect(interim?.status).toBe(100)
    expect(interim!.at - sentAt).toBeGreaterThanOrEqual(READ_DELAY - 20)
    expect(final.status).toBe(200)
    expect(JSON.parse(final.body.toString())).toEqual({ sha: sha256(body), length: body.length })
    conn.destroy()
  })

  it('sends 100 Continue on bodyStream.accept(), before any read', async () => {
    const conn = await RawConnection.open(running.port)
    const body = bytes(10_000, 4)
    const { interim, final, sentAt } = await politeUpload(conn, '/accept', body)
    expect(interim?.status).toBe(100)
    expect(interim!.at - sentAt).toBeLessThan(READ_DELAY)
    expect(final.status).toBe(200)
    expect(JSON.parse(final.body.toString()).sha).toBe(sha256(body))
    conn.destroy()
  })

  it('keeps the connection alive after a body that was read, for the next request', async () => {
    const conn = await RawConnection.open(running.port)
    const body = bytes(5_000, 5)
    expect((await politeUpload(conn, '/read-later', body)).final.status).toBe(200)
    const again = await politeUpload(conn, '/buffered', body)
    expect(again.interim?.status).toBe(100)
    expect(JSON.parse(again.final.body.toString())).toEqual({ sha: sha256(body), length: body.length })
    expect(await conn.isClosed(100)).toBe(false)
    conn.destroy()
  })

  it.each([
    ['a handler that answers 401 first', '/reject', {}, 401],
    ['an auth middleware that answers 403 first', '/guarded', {}, 403],
    ['a declared length over the streaming limit (413)', '/limited', {}, 413],
    ['an unsupported encoding (415)', '/read-later', { 'content-encoding': 'compress' }, 415],
    ['a declared length over the buffered limit (413)', '/buffered-limited', {}, 413],
  ])('never asks for the body when %s, and closes the connection', async (_what, path, extra, status) => {
    const conn = await RawConnection.open(running.port)
    const { interim, final } = await politeUpload(conn, path, bytes(2048, 6), extra)
    expect(interim).toBeUndefined()
    expect(final.status).toBe(status)
    expect(final.headers.connection).toBe('close')
    expect(await conn.isClosed()).toBe(true)
  })

  it('sends 100 Continue before a buffered route reads the body', async () => {
    const conn = await RawConnection.open(running.port)
    const body = bytes(50_000, 7)
    const { interim, final } = await politeUpload(conn, '/buffered', body)
    expect(interim?.status).toBe(100)
    expect(JSON.parse(final.body.toString())).toEqual({ sha: sha256(body), length: body.length })
    conn.destroy()
  })

  it("works with node:http's client, which waits for 'continue' before sending", async () => {
    const body = bytes(64_000, 8)
    const result = await new Promise<{ continued: boolean; status: number; text: string }>((resolve, reject) => {
      let continued = false
      const req = http.request({
        host: '127.0.0.1',
        port: running.port,
        method: 'PUT',
        path: '/read-later',
        agent: false,
        headers: { expect: '100-continue', 'content-length': body.length },
      })
      req.on('continue', () => {
        continued = true
        req.end(body)
      })
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ continued, status: res.statusCode!, text: Buffer.concat(chunks).toString() }))
      })
      req.on('error', reject)
      req.flushHeaders()
    })
    expect(result.continued).toBe(true)
    expect(result.status).toBe(200)
    expect(JSON.parse(result.text).sha).toBe(sha256(body))
  })

  const curl = ['/usr/bin/curl', '/usr/local/bin/curl'].find((p) => existsSync(p))
  const withCurl = curl === undefined ? it.skip : it
  withCurl.each([
    ['/read-later', 200, true],
    ['/reject', 401, false],
  ])('curl uploading to %s gets %i (100 Continue sent: %s)', async (path, status, continued) => {
    const dir = mkdtempSync(join(tmpdir(), 'shim-curl-'))
    const file = join(dir, 'body.bin')
    writeFileSync(file, bytes(300_000, 9))
    const { stdout, stderr } = await promisify(execFile)(curl!, [
      '-sv', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '--expect100-timeout', '10',
      '-H', 'Expect: 100-continue', '-H', 'Content-Type: application/octet-stream',
      '--data-binary', `@${file}`, `http://127.0.0.1:${running.port}${path}`,
    ])
    expect(Number(stdout)).toBe(status)
    expect(/< HTTP\/1\.1 100 Continue/.test(stderr)).toBe(continued)
  })
})

describe('installContinue()', () => {
  it('returns the server and installs its listener once', () => {
    const server = http.createServer()
    expect(installContinue(installContinue(server))).toBe(server)
    expect(server.listenerCount('checkContinue')).toBe(1)
  })
})
