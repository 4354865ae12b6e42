import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import type Koa from 'koa'
import { streamShim, streaming } from '../../adapters/koa/index'
import { KOA_VERSIONS, deferred } from './helpers'

interface H2Reply {
  status: number
  text: string
}

/** One request over an h2c session; `body` is written after `beforeBody` resolves, when given. */
function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: string | Buffer,
  beforeBody?: Promise<void>,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers)
    let status = 0
    const chunks: Buffer[] = []
    stream.on('response', (h) => (status = Number(h[':status'])))
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString() }))
    stream.on('error', reject)
    if (beforeBody === undefined) stream.end(body)
    else beforeBody.then(() => stream.end(body), reject)
  })
}

describe.each(KOA_VERSIONS)('HTTP/2 (h2c) on %s', (_name, KoaClass) => {
  let server: http2.Http2Server
  let session: http2.ClientHttp2Session
  const entered = deferred()

  beforeAll(async () => {
    const app: Koa = new KoaClass()
    app.silent = true
    app.use(streamShim())
    const router = new Router()
    router.put('/files/:name', streaming({ limit: '1kb' }, async (ctx) => {
      entered.resolve()
      ctx.body = { name: ctx.params.name, text: await ctx.request.bodyStream.text() }
    }))
    router.post('/legacy', async (ctx) => {
      const replayed: Buffer[] = []
      for await (const chunk of ctx.req) replayed.push(chunk as Buffer)
      ctx.body = { body: ctx.request.body, rawBody: ctx.request.rawBody, replayed: Buffer.concat(replayed).toString() }
    })
    app.use(router.routes())
    server = http2.createServer(app.callback())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })

  afterAll(async () => {
    session.close()
    await new Promise((resolve) => server.close(resolve))
  })

  it('streams a marked route, running the handler before the body is sent', async () => {
    const reply = await h2Request(
      session,
      { ':method': 'PUT', ':path': '/files/a.txt', 'content-length': '5' },
      'hello',
      entered.promise,
    )
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.text)).toEqual({ name: 'a.txt', text: 'hello' })
  })

  it('413s a streaming body over the limit', async () => {
    const reply = await h2Request(session, { ':method': 'PUT', ':path': '/files/big' }, 'x'.repeat(2048))
    expect([reply.status, reply.text]).toEqual([413, 'request entity too large'])
  })

  it('buffers and parses an unmarked route, and replays ctx.req', async () => {
    const body = '{"h2":true}'
    const reply = await h2Request(
      session,
      { ':method': 'POST', ':path': '/legacy', 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    )
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.text)).toEqual({ body: { h2: true }, rawBody: body, replayed: body })
  }, 3000)

  it('buffers a body sent without Content-Length', async () => {
    const reply = await h2Request(
      session,
      { ':method': 'POST', ':path': '/legacy', 'content-type': 'application/json' },
      '{"n":1}',
    )
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.text).body).toEqual({ n: 1 })
  }, 3000)
})
