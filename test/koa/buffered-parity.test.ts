import zlib from 'node:zlib'
import Router from '@koa/router'
import type Koa from 'koa'
import { streamShim, type KoaShimOptions } from '../../adapters/koa/index'
import { KOA_VERSIONS, listen, request, type RawRequest, type Reply, type Running } from './helpers'

// Loaded untyped on purpose: @koa/bodyparser's types declare `rawBody: string` on
// node's IncomingMessage for the whole program, where the core keeps a Buffer.
// koa-bodyparser 4 ships no types.
const koaBodyParser = (require('@koa/bodyparser') as { bodyParser: (options?: object) => Koa.Middleware }).bodyParser
const legacyBodyParser = require('koa-bodyparser') as (options?: object) => Koa.Middleware

/** What every app answers: the body and raw body the route saw. */
function echo(ctx: Koa.Context): void {
  ctx.body = { body: ctx.request.body ?? null, rawBody: ctx.request.rawBody ?? null }
}

const json = { 'content-type': 'application/json' }
const form = { 'content-type': 'application/x-www-form-urlencoded' }

interface Case {
  name: string
  request: RawRequest
  /** Compare the status only: the core's error message is more precise than co-body's. */
  statusOnly?: boolean
}

/** Requests that @koa/bodyparser and koa-bodyparser 4 answer alike with their defaults. */
const DEFAULT_CASES: Case[] = [
  { name: 'parses a JSON object', request: { path: '/r', headers: json, body: '{"a":[1,2],"b":{"c":null}}' } },
  { name: 'parses a JSON array', request: { path: '/r', headers: json, body: ' [1,"two"]' } },
  { name: 'ignores a trailing ; in Content-Type', request: { path: '/r', headers: { 'content-type': 'application/json;' }, body: '{"a":1}' } },
  { name: 'parses application/vnd.api+json', request: { path: '/r', headers: { 'content-type': 'application/vnd.api+json' }, body: '{"data":{}}' } },
  { name: 'decodes with utf-8 whatever charset the request names', request: { path: '/r', headers: { 'content-type': 'application/json; charset=latin1' }, body: Buffer.from('{"é":"ü"}', 'latin1') } },
  { name: 'answers 400 to invalid JSON', request: { path: '/r', headers: json, body: '{"a":' } },
  { name: 'answers 400 to a JSON string in strict mode', request: { path: '/r', headers: json, body: '"str"' } },
  { name: 'answers 400 to a __proto__ key', request: { path: '/r', headers: json, body: '{"a":{"__proto__":{"x":1}}}' } },
  { name: 'answers 400 to a __proto__ key spelt with escapes', request: { path: '/r', headers: json, body: '{"a":{"\\u005f\\u005F\\u0070roto__":{"x":1}}}' } },
  { name: 'gives {} for an empty JSON body', request: { path: '/r', headers: { ...json, 'content-length': '0' } } },
  { name: 'answers 413 to JSON over 1mb', request: { path: '/r', headers: json, body: JSON.stringify({ a: 'x'.repeat(1024 * 1024) }) } },
  { name: 'parses a form with nested keys and dots', request: { path: '/r', headers: form, body: 'a[b]=1&c.d=2&e=3&e=4&f=%C3%A9' } },
  { name: 'answers 413 to a form over 56kb', request: { path: '/r', headers: form, body: 'a=' + 'x'.repeat(56 * 1024) } },
  { name: 'gives {} for text when text is not enabled', request: { path: '/r', headers: { 'content-type': 'text/plain' }, body: 'hello' } },
  { name: 'gives {} without a Content-Type', request: { path: '/r', body: 'hello' } },
  { name: 'gives {} for multipart', request: { path: '/r', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' } },
  { name: 'inflates a gzip JSON body', request: { path: '/r', headers: { ...json, 'content-encoding': 'gzip' }, body: zlib.gzipSync('{"zipped":true}') } },
  { name: 'inflates a deflate form body', request: { path: '/r', headers: { ...form, 'content-encoding': 'deflate' }, body: zlib.deflateSync('a=1') } },
  { name: 'answers 413 to gzip JSON over 1mb once inflated', request: { path: '/r', headers: { ...json, 'content-encoding': 'gzip' }, body: zlib.gzipSync(JSON.stringify({ a: 'x'.repeat(2 * 1024 * 1024) })) } },
  { name: 'answers 415 to an unknown Content-Encoding', request: { path: '/r', headers: { ...json, 'content-encoding': 'compress' }, body: '{}' }, statusOnly: true },
  { name: 'leaves a GET without a body alone', request: { method: 'GET', path: '/r' } },
]

/** Requests with text and xml enabled and smaller limits. */
const TEXT_OPTIONS = { enableTypes: ['json', 'form', 'text', 'xml'], textLimit: '10b', jsonLimit: '20b' }
const TEXT_CASES: Case[] = [
  { name: 'reads text/plain as a string', request: { path: '/r', headers: { 'content-type': 'text/plain' }, body: 'héllo' } },
  { name: 'reads XML as a string', request: { path: '/r', headers: { 'content-type': 'application/xml' }, body: '<a/>' } },
  { name: 'answers 413 to text over textLimit', request: { path: '/r', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(11) } },
  { name: 'answers 413 to JSON over jsonLimit', request: { path: '/r', headers: json, body: JSON.stringify({ a: 'x'.repeat(20) }) } },
  { name: 'gives "" for an empty text body', request: { path: '/r', headers: { 'content-type': 'text/plain', 'content-length': '0' } } },
]

/** Status and response text, with the rawBody of big bodies cut to its length. */
function summary(reply: Reply): { status: number; text: string } {
  return { status: reply.status, text: reply.text.length > 2000 ? `${reply.text.length} chars` : reply.text }
}

describe.each(KOA_VERSIONS)('buffered routes on %s', (_name, KoaClass) => {
  const servers: Running[] = []

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  async function start(parser: Koa.Middleware): Promise<number> {
    const app = new KoaClass()
    app.use(parser)
    const router = new Router()
    router.all('/r', echo)
    app.use(router.routes())
    const running = await listen(app)
    servers.push(running)
    return running.port
  }

  function compare(cases: Case[], shimOptions: KoaShimOptions, referenceOptions: () => object) {
    let shim: number
    let koaBodyparser: number
    let legacy: number
    beforeAll(async () => {
      shim = await start(streamShim(shimOptions))
      koaBodyparser = await start(koaBodyParser(referenceOptions()))
      legacy = await start(legacyBodyParser(referenceOptions()))
    })

    it.each(cases)('$name, as @koa/bodyparser and koa-bodyparser 4 do', async ({ request: options, statusOnly }) => {
      const view = statusOnly === true ? (reply: Reply) => reply.status : summary
      const ours = view(await request(shim, options))
      expect(ours).toEqual(view(await request(koaBodyparser, options)))
      if (options.method !== 'GET') expect(ours).toEqual(view(await request(legacy, options)))
    })
  }

  describe('with default options', () => {
    compare(DEFAULT_CASES, {}, () => ({}))
  })

  describe('with text and xml enabled', () => {
    compare(TEXT_CASES, TEXT_OPTIONS as KoaShimOptions, () => ({ ...TEXT_OPTIONS }))
  })

  describe('with parsedMethods', () => {
    let shim: number
    let legacy: number
    beforeAll(async () => {
      shim = await start(streamShim({ parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] }))
      legacy = await start(legacyBodyParser())
    })

    it('parses a DELETE body as koa-bodyparser 4 does', async () => {
      const options = { method: 'DELETE', path: '/r', headers: json, body: '{"gone":1}' }
      const ours = await request(shim, options)
      expect(JSON.parse(ours.text)).toEqual({ body: { gone: 1 }, rawBody: '{"gone":1}' })
      expect(summary(ours)).toEqual(summary(await request(legacy, options)))
    })

    it('leaves a DELETE body unread by default, as @koa/bodyparser does', async () => {
      const shimDefault = await start(streamShim())
      const reply = await request(shimDefault, { method: 'DELETE', path: '/r', headers: json, body: '{"gone":1}' })
      expect(JSON.parse(reply.text)).toEqual({ body: null, rawBody: null })
    })
  })

  describe('errors', () => {
    it('gives parse errors the type entity.parse.failed, status 400 and the body text', async () => {
      const app = new KoaClass()
      let seen: Record<string, unknown> | undefined
      app.use(async (ctx, next) => {
        try {
          await next()
        } catch (err) {
          seen = err as Record<string, unknown>
          throw err
        }
      })
      app.use(streamShim())
      app.use(echo)
      const running = await listen(app)
      servers.push(running)
      const reply = await request(running.port, { path: '/', headers: json, body: '{oops' })
      expect(reply.status).toBe(400)
      expect(seen).toMatchObject({ status: 400, type: 'entity.parse.failed', expose: false, body: '{oops' })
    })

    it('hands errors to onError instead of throwing them', async () => {
      const app = new KoaClass()
      app.use(
        streamShim({
          onError(err, ctx) {
            ctx.state.bodyError = (err as { type?: string }).type
          },
        }),
      )
      app.use((ctx) => {
        ctx.body = { error: ctx.state.bodyError, body: ctx.request.body ?? null }
      })
      const running = await listen(app)
      servers.push(running)
      const reply = await request(running.port, { path: '/', headers: json, body: '{oops' })
      expect(JSON.parse(reply.text)).toEqual({ error: 'entity.parse.failed', body: null })
    })

    it('throws a TypeError naming a bad option when the middleware is created', () => {
      expect(() => streamShim({ jsonLimit: 'lots' })).toThrow(/jsonLimit/)
      expect(() => streamShim({ enableTypes: ['yaml' as never] })).toThrow(/enableTypes/)
      expect(() => streamShim({ jsonstrict: false } as never)).toThrow(/unknown body option "jsonstrict"/)
      expect(() => streamShim({ strict: 'no' } as never)).toThrow(/option strict must be a boolean/)
    })
  })
})
