/**
 * Full duplex: a streaming handler answers while it still reads the
 * request. Each client here sends the first part of its body, waits for the
 * first chunk of the response, and only then sends the rest: it succeeds
 * only if the response really starts before the request is complete.
 */
import http from 'node:http'
import http2 from 'node:http2'
import { PassThrough } from 'node:stream'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import type Koa from 'koa'
import * as expressShim from '../../adapters/express/index'
import * as koaShim from '../../adapters/koa/index'
import { listen, type Running } from '../helpers/http.js'
import { STACKS, closeSharedAgent, startUpstream, type Upstream } from './harness.js'

const FIRST = 'first part;'
const REST = 'second part.'

/** An upper-casing echo, answered as the body arrives. */
function expressApp(express: any): http.RequestListener {
  const app = express()
  app.use(expressShim.streamShim())
  app.post(
    '/duplex',
    expressShim.streaming((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      req.bodyStream.on('data', (chunk: Buffer) => res.write(chunk.toString().toUpperCase()))
      req.bodyStream.on('end', () => res.end())
    }),
  )
  return app
}

function koaApp(KoaClass: typeof Koa): Koa {
  const app = new KoaClass()
  app.silent = true
  const router = new Router()
  router.post(
    '/duplex',
    koaShim.streaming((ctx) => {
      const out = new PassThrough()
      ctx.type = 'text/plain'
      ctx.body = out
      ctx.request.bodyStream.on('data', (chunk: Buffer) => out.write(chunk.toString().toUpperCase()))
      ctx.request.bodyStream.on('end', () => out.end())
    }),
  )
  app.use(koaShim.streamShim())
  app.use(router.routes())
  return app
}

/** HTTP/1.1, chunked: the rest of the body goes only after the first response chunk came back. */
async function duplexHttp1(port: number, path = '/duplex'): Promise<string> {
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'transfer-encoding': 'chunked' } })
  req.write(FIRST)
  const [res] = (await once(req, 'response')) as [http.IncomingMessage]
  expect(res.statusCode).toBe(200)
  const chunks: string[] = []
  const [first] = (await once(res, 'data')) as [Buffer]
  chunks.push(first.toString())
  req.end(REST)
  for await (const chunk of res) chunks.push((chunk as Buffer).toString())
  return chunks.join('')
}

const HTTP1: [string, () => http.RequestListener][] = [
  ['Express 4', () => expressApp(require('express4'))],
  ['Express 5', () => expressApp(require('express'))],
  ['Koa 2', () => koaApp(require('koa2')).callback()],
  ['Koa 3', () => koaApp(require('koa')).callback()],
]

describe.each(HTTP1)('full duplex over HTTP/1.1 on %s', (_name, build) => {
  let running: Running
  beforeAll(async () => {
    running = await listen(build())
  })
  afterAll(() => running.close())

  it('sends the first response bytes before the request body is complete', async () => {
    expect(await duplexHttp1(running.port)).toBe((FIRST + REST).toUpperCase())
  })
})

describe.each([
  ['Koa 2', require('koa2')],
  ['Koa 3', require('koa')],
])('full duplex over HTTP/2 (h2c) on %s', (_name, KoaClass: typeof Koa) => {
  let server: http2.Http2Server
  let session: http2.ClientHttp2Session
  beforeAll(async () => {
    server = http2.createServer(koaApp(KoaClass).callback())
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
  afterAll(async () => {
    session.close()
    await new Promise((resolve) => server.close(resolve))
  })

  it('sends the first response bytes before the request body is complete', async () => {
    const stream = session.request({ ':method': 'POST', ':path': '/duplex' }, { endStream: false })
    stream.write(FIRST)
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders]
    expect(headers[':status']).toBe(200)
    const [first] = (await once(stream, 'data')) as [Buffer]
    const chunks = [first.toString()]
    stream.end(REST)
    for await (const chunk of stream) chunks.push((chunk as Buffer).toString())
    expect(chunks.join('')).toBe((FIRST + REST).toUpperCase())
  })
})

describe.each(STACKS)('full duplex through proxy() on $name', (stack) => {
  let upstream: Upstream
  let proxy: Running
  beforeAll(async () => {
    upstream = await startUpstream()
    proxy = await stack.start(upstream.url)
  })
  afterAll(async () => {
    await proxy.close()
    await upstream.close()
    await closeSharedAgent()
  })

  it("relays the upstream's response while the client is still sending", async () => {
    expect(await duplexHttp1(proxy.port, '/p/d/echo')).toBe(FIRST + REST)
  })
})

describe('proxy() behind HTTP/2 (h2c) on Koa 3', () => {
  let upstream: Upstream
  let server: http2.Http2Server
  let session: http2.ClientHttp2Session
  beforeAll(async () => {
    upstream = await startUpstream()
    const KoaClass: typeof Koa = require('koa')
    const app = new KoaClass()
    app.silent = true
    const router = new Router()
    router.all('/p/{*rest}', koaShim.proxy(upstream.url))
    app.use(koaShim.streamShim())
    app.use(router.routes())
    server = http2.createServer(app.callback())
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
  afterAll(async () => {
    session.close()
    await new Promise((resolve) => server.close(resolve))
    await upstream.close()
    await closeSharedAgent()
  })

  it('forwards to an HTTP/1.1 upstream without pseudo-headers, full duplex, and drops hop-by-hop response headers', async () => {
    const stream = session.request({ ':method': 'POST', ':path': '/p/h2/echo', 'x-keep': 'yes' }, { endStream: false })
    stream.write(FIRST)
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders]
    expect(headers[':status']).toBe(200)
    expect(headers['x-hop']).toBeUndefined()
    expect(headers['x-end-to-end']).toBe('kept')
    const [first] = (await once(stream, 'data')) as [Buffer]
    const chunks = [first.toString()]
    stream.end(REST)
    for await (const chunk of stream) chunks.push((chunk as Buffer).toString())
    expect(chunks.join('')).toBe(FIRST + REST)
    const seen = upstream.last()
    expect(seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i].startsWith(':'))).toEqual([])
    expect(seen.headers['x-keep']).toBe('yes')
    expect(seen.headers.via).toBe('2 stream-shim')
    expect(seen.headers['x-forwarded-host']).toMatch(/^127\.0\.0\.1:\d+$/)
  })
})
