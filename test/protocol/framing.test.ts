/**
 * Hostile framing and hostile bodies: Content-Length together with
 * Transfer-Encoding (and its cousins) is a 400 from the HTTP parser, end to
 * end, with no handler called and the server still serving; on Koa, hostile
 * JSON and form bodies get what @koa/bodyparser gives and pollute nothing.
 */
import http from 'node:http'
import Router from '@koa/router'
import { FLAVORS, serve, type RouteSpec, type Running } from './apps.js'
import { RawConnection } from './raw-client.js'
import { sleep } from '../helpers/http.js'
import { streamShim } from '../../adapters/koa/index.js'

// Untyped on purpose: @koa/bodyparser's types declare `rawBody: string` on Node's IncomingMessage.
const bodyParser = (require('@koa/bodyparser') as { bodyParser: () => unknown }).bodyParser

const called: string[] = []
const routes: RouteSpec[] = [
  {
    path: '/stream',
    mode: 'streaming',
    handler: async (x) => {
      called.push('stream')
      try {
        for await (const _chunk of x.bodyStream!) void _chunk
        called.push('stream-end')
      } catch (err) {
        called.push(`stream-error:${(err as { type?: string }).type}`)
        throw err
      }
      x.respond(200, { ok: true })
    },
  },
  { path: '/buffered', mode: 'buffered', handler: (x) => (called.push('buffered'), x.respond(200, { ok: true })) },
]

const smuggling: Array<[string, string]> = [
  ['Content-Length with Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['two different Content-Lengths', 'Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
  ['a negative Content-Length', 'Content-Length: -1\r\n\r\n'],
  ['Transfer-Encoding that does not end in chunked', 'Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
]

describe.each(FLAVORS)('$name: hostile framing', (flavor) => {
  let running: Running
  beforeAll(async () => {
    running = await serve(flavor.build(routes), flavor.kind)
  })
  afterAll(() => running.close())
  beforeEach(() => {
    called.length = 0
  })

  async function stillServes(): Promise<void> {
    const conn = await RawConnection.open(running.port)
    await conn.write('PUT /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok')
    expect((await conn.response()).status).toBe(200)
    conn.destroy()
  }

  it.each(smuggling.flatMap(([what, rest]) => ['/stream', '/buffered'].map((path) => [what, path, rest])))(
    'answers %s on %s with 400 and closes, without calling the handler',
    async (_what, path, rest) => {
      const conn = await RawConnection.open(running.port)
      await conn.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n${rest}`)
      const reply = await conn.response()
      expect(reply.status).toBe(400)
      expect(await conn.isClosed()).toBe(true)
      expect(called).toEqual([])
      await stillServes()
    },
  )

  it('fails a streaming handler (never a clean end) on a malformed chunk, and answers 400', async () => {
    const conn = await RawConnection.open(running.port)
    await conn.write('PUT /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    await sleep(20)
    await conn.write('zz\r\nnot a chunk\r\n')
    const reply = await conn.response()
    expect(reply.status).toBe(400)
    expect(await conn.isClosed()).toBe(true)
    await sleep(20)
    expect(called[0]).toBe('stream')
    expect(called).not.toContain('stream-end')
    expect(called[1]).toMatch(/^stream-error:request\.aborted$/)
    await stillServes()
  })
})

describe.each(FLAVORS.filter((f) => f.kind === 'koa'))('$name: hostile bodies on buffered routes, against @koa/bodyparser', (flavor) => {
  const Koa = flavor.name === 'koa 2' ? require('koa2') : require('koa')
  let shim: http.Server
  let reference: http.Server
  const listen = (server: http.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
  let ports: { shim: number; reference: number }

  function app(parser: unknown): http.Server {
    const koa = new Koa()
    koa.silent = true
    koa.use(parser)
    const router = new Router()
    router.post('/echo', (ctx: any) => {
      ctx.body = { body: ctx.request.body, protoPolluted: ({} as any).polluted !== undefined }
    })
    koa.use(router.routes())
    return http.createServer(koa.callback())
  }

  beforeAll(async () => {
    shim = app(streamShim())
    reference = app(bodyParser())
    ports = { shim: await listen(shim), reference: await listen(reference) }
  })
  afterAll(() => {
    shim.close()
    reference.close()
  })

  function post(port: number, type: string, body: string) {
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/echo', agent: false, headers: { 'content-type': type, 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode!, text }))
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  it.each([
    ['__proto__ in JSON', 'application/json', '{"__proto__":{"polluted":true},"a":1}'],
    ['constructor.prototype in JSON', 'application/json', '{"constructor":{"prototype":{"polluted":true}}}'],
    ['nested __proto__ in JSON', 'application/json', '{"a":{"__proto__":{"polluted":true}}}'],
    ['__proto__ in a form', 'application/x-www-form-urlencoded', '__proto__[polluted]=1&a=2'],
    ['constructor[prototype] in a form', 'application/x-www-form-urlencoded', 'constructor[prototype][polluted]=1'],
    ['malformed JSON', 'application/json', '{"a":'],
    ['a JSON string in strict mode', 'application/json', '"just a string"'],
    ['deeply nested form keys', 'application/x-www-form-urlencoded', 'a' + '[b]'.repeat(50) + '=1'],
    ['many form parameters', 'application/x-www-form-urlencoded', Array.from({ length: 2000 }, (_, i) => `k${i}=${i}`).join('&')],
    ['an unknown charset', 'application/json; charset=klingon', '{"a":1}'],
  ])('treats %s as @koa/bodyparser does, and pollutes nothing', async (_what, type, body) => {
    const [ours, theirs] = await Promise.all([post(ports.shim, type, body), post(ports.reference, type, body)])
    expect(ours.status).toBe(theirs.status)
    if (ours.status === 200) expect(JSON.parse(ours.text)).toEqual(JSON.parse(theirs.text))
    expect(({} as any).polluted).toBeUndefined()
    expect((Object.prototype as any).polluted).toBeUndefined()
    if (ours.status === 200) expect(JSON.parse(ours.text).protoPolluted).toBe(false)
  })
})
