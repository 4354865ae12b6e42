/**
 * Drop-in parity of `json()`, `urlencoded()`, `text()` and `raw()` with
 * body-parser 2.x: every request goes over a real loopback socket to two
 * servers, one using body-parser's factory and one using ours, and the two
 * responses (body, its type, and the error's fields) must be the same. On
 * Express 4 ours is given `bodyParser: 2` (it follows Express 4's bundled
 * body-parser 1.x otherwise: see parsers-express4.test.ts).
 */
import http from 'node:http'
import zlib from 'node:zlib'
import bodyParser from 'body-parser'
import { json, raw, text, urlencoded } from '../../adapters/express/parsers.js'
import { expectSameAnswer, type Flavor, type Middleware, type RawRequest, type RawResponse } from './parity-harness.js'

type Kind = 'json' | 'urlencoded' | 'text' | 'raw'

const ours: Record<Kind, (options?: any) => Middleware> = { json, urlencoded, text, raw }
const reference: Record<Kind, (options?: any) => Middleware> = {
  json: bodyParser.json,
  urlencoded: bodyParser.urlencoded,
  text: bodyParser.text,
  raw: bodyParser.raw,
}

/** Assert that ours answers `request` exactly as body-parser 2 does, and return the answer. */
function expectParity(flavor: Flavor, kind: Kind, options: any, request: RawRequest): Promise<RawResponse> {
  const own = flavor === 'express4' ? { ...options, bodyParser: 2 } : options
  return expectSameAnswer(flavor, reference[kind](options), ours[kind](own), request)
}

const JSON_TYPE = { 'Content-Type': 'application/json' }
const FORM_TYPE = { 'Content-Type': 'application/x-www-form-urlencoded' }
const TEXT_TYPE = { 'Content-Type': 'text/plain' }
const OCTET_TYPE = { 'Content-Type': 'application/octet-stream' }

function recordVerify(req: any, _res: unknown, buf: Buffer, encoding: string | null): void {
  req.verified = { buf: buf.toString('base64'), isBuffer: Buffer.isBuffer(buf), encoding }
}

const flavors: Flavor[] = ['express4', 'express5', 'node:http']

describe.each(flavors)('on %s', (flavor) => {
  const parity = (kind: Kind, options: any, request: RawRequest) => expectParity(flavor, kind, options, request)

  describe('json()', () => {
    it('parses an object', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '{"a":1,"b":[true,null,"x"]}' })
      expect(res.status).toBe(200)
      expect(res.json.body).toEqual({ a: 1, b: [true, null, 'x'] })
    })

    it('parses an array', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: ' [1, 2, {"c": "d"}] ' })
      expect(res.json.body).toEqual([1, 2, { c: 'd' }])
    })

    it('gives {} for an empty body with Content-Length: 0', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '' })
      expect(res.json.body).toEqual({})
    })

    it('gives {} for an empty chunked body', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '', chunked: true })
      expect(res.json.body).toEqual({})
    })

    it('parses a chunked body', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '{"chunked":"yes"}', chunked: true })
      expect(res.json.body).toEqual({ chunked: 'yes' })
    })

    it.each(['true', '  "x"', 'null', '\n\t 12', '"{"'])('400s the strict violation %j', async (body) => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body })
      expect(res.status).toBe(400)
      expect(res.json.err.type).toBe('entity.parse.failed')
    })

    it.each(['{', '{"a":', '[1,2', '{"a":1,}', "{'a':1}", '{"a":1} x', '[1] [2]', '{"a":tru}', '   ', '\uFEFF{}x'])(
      '400s the malformed body %j',
      async (body) => {
        const res = await parity('json', undefined, { headers: JSON_TYPE, body })
        expect(res.status).toBe(400)
        expect(res.json.err.type).toBe('entity.parse.failed')
      },
    )

    it.each(['true', '"x"', 'null', '42', ' "  "'])('parses the primitive %j with strict: false', async (body) => {
      const res = await parity('json', { strict: false }, { headers: JSON_TYPE, body })
      expect(res.status).toBe(200)
    })

    it('400s malformed JSON with strict: false', async () => {
      const res = await parity('json', { strict: false }, { headers: JSON_TYPE, body: 'nul' })
      expect(res.json.err.type).toBe('entity.parse.failed')
    })

    it('applies a reviver', async () => {
      const reviver = (key: string, value: unknown) => (typeof value === 'number' ? value * 2 : value)
      const res = await parity('json', { reviver }, { headers: JSON_TYPE, body: '{"a":1,"b":[2]}' })
      expect(res.json.body).toEqual({ a: 2, b: [4] })
    })

    it('strips a UTF-8 byte order mark', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '\uFEFF{"bom":true}' })
      expect(res.json.body).toEqual({ bom: true })
    })

    it('decodes charset=utf-16 (with its BOM)', async () => {
      const body = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('{"u":"ü16"}', 'utf16le').swap16()])
      const res = await parity('json', undefined, {
        headers: { 'Content-Type': 'application/json; charset=utf-16' },
        body,
      })
      expect(res.json.body).toEqual({ u: 'ü16' })
    })

    it('decodes charset=UTF-16LE, case-insensitively', async () => {
      const res = await parity('json', undefined, {
        headers: { 'Content-Type': 'application/json; charset=UTF-16LE' },
        body: Buffer.from('{"le":"é"}', 'utf16le'),
      })
      expect(res.json.body).toEqual({ le: 'é' })
    })

    it.each(['latin1', 'iso-8859-1', 'utf8', 'koi8-r'])('415s charset=%s', async (charset) => {
      const res = await parity('json', undefined, {
        headers: { 'Content-Type': `application/json; charset=${charset}` },
        body: '{}',
      })
      expect(res.status).toBe(415)
      expect(res.json.err.type).toBe('charset.unsupported')
    })

    it('decodes with defaultCharset when the request names none', async () => {
      const res = await parity('json', { defaultCharset: 'utf-16le' }, {
        headers: JSON_TYPE,
        body: Buffer.from('{"d":"ü"}', 'utf16le'),
      })
      expect(res.json.body).toEqual({ d: 'ü' })
    })

    it('415s a request without charset when defaultCharset is not utf-', async () => {
      const res = await parity('json', { defaultCharset: 'latin1' }, { headers: JSON_TYPE, body: '{}' })
      expect(res.status).toBe(415)
    })

    it('415s a utf- charset that iconv-lite does not know', async () => {
      const res = await parity('json', undefined, {
        headers: { 'Content-Type': 'application/json; charset=utf-bogus' },
        body: '{}',
      })
      expect(res.status).toBe(415)
    })

    it('415s a utf- charset that iconv-lite does not know, with verify', async () => {
      const res = await parity('json', { verify: recordVerify }, {
        headers: { 'Content-Type': 'application/json; charset=utf-bogus' },
        body: '{}',
      })
      expect(res.status).toBe(415)
    })
  })

  describe('with a content coding', () => {
    const body = JSON.stringify({ compressed: 'yes', list: [1, 2, 3] })

    it.each([
      ['gzip', zlib.gzipSync(body)],
      ['deflate', zlib.deflateSync(body)],
      ['br', zlib.brotliCompressSync(body)],
      ['GZIP', zlib.gzipSync(body)],
    ] as const)('decodes a %s body', async (encoding, encoded) => {
      const res = await parity('json', undefined, { headers: { ...JSON_TYPE, 'Content-Encoding': encoding }, body: encoded })
      expect(res.json.body).toEqual(JSON.parse(body))
    })

    it('decodes a chunked gzip body', async () => {
      const res = await parity('json', undefined, {
        headers: { ...JSON_TYPE, 'Content-Encoding': 'gzip' },
        body: zlib.gzipSync(body),
        chunked: true,
      })
      expect(res.json.body).toEqual(JSON.parse(body))
    })

    it('passes the decoded bytes to verify', async () => {
      const res = await parity('json', { verify: recordVerify }, {
        headers: { ...JSON_TYPE, 'Content-Encoding': 'deflate' },
        body: zlib.deflateSync(body),
      })
      expect(Buffer.from(res.json.verified.buf, 'base64').toString()).toBe(body)
    })

    it('415s a gzip body with inflate: false', async () => {
      const res = await parity('json', { inflate: false }, {
        headers: { ...JSON_TYPE, 'Content-Encoding': 'gzip' },
        body: zlib.gzipSync(body),
      })
      expect(res.status).toBe(415)
      expect(res.json.err.type).toBe('encoding.unsupported')
    })

    it.each(['compress', 'bogus'])('415s the unknown coding %s', async (encoding) => {
      const res = await parity('json', undefined, {
        headers: { ...JSON_TYPE, 'Content-Encoding': encoding },
        body,
      })
      expect(res.status).toBe(415)
      expect(res.json.err.type).toBe('encoding.unsupported')
    })

    it('accepts Content-Encoding: identity', async () => {
      const res = await parity('json', undefined, { headers: { ...JSON_TYPE, 'Content-Encoding': 'identity' }, body })
      expect(res.status).toBe(200)
    })

    it('decodes a gzip text body with a charset', async () => {
      const res = await parity('text', undefined, {
        headers: { 'Content-Type': 'text/plain; charset=iso-8859-1', 'Content-Encoding': 'gzip' },
        body: zlib.gzipSync(Buffer.from('café', 'latin1')),
      })
      expect(res.json.body).toBe('café')
    })
  })

  describe('with limit option', () => {
    it('413s a body whose Content-Length is over the limit', async () => {
      const res = await parity('json', { limit: 10 }, { headers: JSON_TYPE, body: '{"aaaaaaaaaaaaaaaaaaaa":1}' })
      expect(res.status).toBe(413)
      expect(res.json.err).toMatchObject({ type: 'entity.too.large', limit: 10, length: 26, expected: 26 })
    })

    it('413s a chunked body over the limit', async () => {
      const res = await parity('json', { limit: '10b' }, {
        headers: JSON_TYPE,
        body: '{"aaaaaaaaaaaaaaaaaaaa":1}',
        chunked: true,
      })
      expect(res.status).toBe(413)
      expect(res.json.err).toMatchObject({ type: 'entity.too.large', limit: 10 })
    })

    it('413s a gzip body that is over the limit once decoded', async () => {
      const res = await parity('text', { limit: 100 }, {
        headers: { ...TEXT_TYPE, 'Content-Encoding': 'gzip' },
        body: zlib.gzipSync('x'.repeat(5000)),
      })
      expect(res.status).toBe(413)
      expect(res.json.err.limit).toBe(100)
    })

    it('accepts a body exactly at the limit', async () => {
      const res = await parity('text', { limit: 5 }, { headers: TEXT_TYPE, body: 'abcde' })
      expect(res.json.body).toBe('abcde')
    })

    it('accepts a chunked body exactly at the limit', async () => {
      const res = await parity('raw', { limit: 5 }, { headers: OCTET_TYPE, body: 'abcde', chunked: true })
      expect(res.json.isBuffer).toBe(true)
    })

    it.each(['1kb', '2KB', 1024])('reads limit %j as body-parser does', async (limit) => {
      const res = await parity('text', { limit }, { headers: TEXT_TYPE, body: 'y'.repeat(1500) })
      expect(res.status).toBe(limit === '2KB' ? 200 : 413)
    })
  })

  describe('with type option', () => {
    it('parses a custom media type given as a string', async () => {
      const res = await parity('json', { type: 'application/vnd.api+json' }, {
        headers: { 'Content-Type': 'application/vnd.api+json' },
        body: '{"x":1}',
      })
      expect(res.json.body).toEqual({ x: 1 })
    })

    it('skips application/json when type names another type', async () => {
      const res = await parity('json', { type: 'application/vnd.api+json' }, { headers: JSON_TYPE, body: '{"x":1}' })
      expect(res.json.rawType).toBe('undefined')
    })

    it('parses any type in an array', async () => {
      const res = await parity('text', { type: ['text/html', '+xml'] }, {
        headers: { 'Content-Type': 'application/atom+xml' },
        body: '<feed/>',
      })
      expect(res.json.body).toBe('<feed/>')
    })

    it('accepts a wildcard type', async () => {
      const res = await parity('raw', { type: '*/*' }, { headers: { 'Content-Type': 'image/png' }, body: 'png!' })
      expect(res.json.isBuffer).toBe(true)
    })

    it('asks a type function', async () => {
      const type = (req: http.IncomingMessage) => req.headers['x-parse'] === 'yes'
      const res = await parity('json', { type }, { headers: { 'X-Parse': 'yes' }, body: '{"fn":true}' })
      expect(res.json.body).toEqual({ fn: true })
    })

    it('skips when the type function says no', async () => {
      const type = () => false
      const res = await parity('json', { type }, { headers: JSON_TYPE, body: '{"fn":true}' })
      expect(res.json.rawType).toBe('undefined')
    })

    it('matches a type with parameters', async () => {
      const res = await parity('json', undefined, {
        headers: { 'Content-Type': 'application/json; charset=utf-8; foo=bar' },
        body: '{"p":1}',
      })
      expect(res.json.body).toEqual({ p: 1 })
    })
  })

  describe('with verify option', () => {
    it('passes the raw body and the charset to verify', async () => {
      const res = await parity('text', { verify: recordVerify }, {
        headers: { 'Content-Type': 'text/plain; charset=utf-16le' },
        body: Buffer.from('hé', 'utf16le'),
      })
      expect(res.json.verified.encoding).toBe('utf-16le')
      expect(res.json.body).toBe('hé')
    })

    it('passes null as the encoding for raw', async () => {
      const res = await parity('raw', { verify: recordVerify }, { headers: OCTET_TYPE, body: 'bytes' })
      expect(res.json.verified.encoding).toBeNull()
    })

    it('403s when verify throws', async () => {
      const verify = () => {
        throw new Error('bad signature')
      }
      const res = await parity('json', { verify }, { headers: JSON_TYPE, body: '{"a":1}' })
      expect(res.status).toBe(403)
      expect(res.json.err).toMatchObject({ type: 'entity.verify.failed', message: 'bad signature' })
    })

    it("keeps the type and status of verify's own error", async () => {
      const verify = () => {
        throw Object.assign(new Error('no token'), { status: 401, type: 'auth.missing' })
      }
      const res = await parity('urlencoded', { verify }, { headers: FORM_TYPE, body: 'a=1' })
      expect(res.status).toBe(401)
      expect(res.json.err.type).toBe('auth.missing')
    })

    it('runs verify before parsing, so a malformed body still 403s', async () => {
      const verify = () => {
        throw new TypeError('nope')
      }
      const res = await parity('json', { verify }, { headers: JSON_TYPE, body: '{' })
      expect(res.status).toBe(403)
    })
  })

  describe('urlencoded()', () => {
    it('parses a simple form', async () => {
      const res = await parity('urlencoded', undefined, { headers: FORM_TYPE, body: 'a=1&b=two+words&c=%E2%9C%93' })
      expect(res.json.body).toEqual({ a: '1', b: 'two words', c: '✓' })
    })

    it('keeps brackets literal without extended', async () => {
      const res = await parity('urlencoded', undefined, { headers: FORM_TYPE, body: 'a[b]=1&c[]=2&c[]=3&d.e=4' })
      expect(res.json.body).toEqual({ 'a[b]': '1', 'c[]': ['2', '3'], 'd.e': '4' })
    })

    it('repeats a key into an array', async () => {
      await parity('urlencoded', undefined, { headers: FORM_TYPE, body: 'x=1&x=2&x=3' })
    })

    it('parses nested objects and arrays with extended', async () => {
      const res = await parity('urlencoded', { extended: true }, {
        headers: FORM_TYPE,
        body: 'user[name]=ann&user[tags][]=a&user[tags][]=b&list[0]=x&list[2]=z',
      })
      expect(res.json.body).toEqual({ user: { name: 'ann', tags: ['a', 'b'] }, list: ['x', 'z'] })
    })

    it('parses a sparse index past arrayLimit as an object', async () => {
      await parity('urlencoded', { extended: true }, { headers: FORM_TYPE, body: 'a[150]=x&a[1]=y' })
    })

    it('gives {} for an empty body', async () => {
      const res = await parity('urlencoded', undefined, { headers: FORM_TYPE, body: '' })
      expect(res.json.body).toEqual({})
    })

    it.each([
      ['simple', { parameterLimit: 3 }],
      ['extended', { parameterLimit: 3, extended: true }],
    ])('413s too many parameters (%s)', async (_name, options) => {
      const res = await parity('urlencoded', options, { headers: FORM_TYPE, body: 'a=1&b=2&c=3&d=4' })
      expect(res.status).toBe(413)
      expect(res.json.err.type).toBe('parameters.too.many')
    })

    it('accepts exactly parameterLimit parameters', async () => {
      const res = await parity('urlencoded', { parameterLimit: 3 }, { headers: FORM_TYPE, body: 'a=1&b=2&c=3' })
      expect(res.status).toBe(200)
    })

    it('400s nesting deeper than depth', async () => {
      const res = await parity('urlencoded', { extended: true, depth: 2 }, { headers: FORM_TYPE, body: 'a[b][c][d]=1' })
      expect(res.status).toBe(400)
      expect(res.json.err.type).toBe('querystring.parse.rangeError')
    })

    it('accepts nesting at depth', async () => {
      await parity('urlencoded', { extended: true, depth: 2 }, { headers: FORM_TYPE, body: 'a[b][c]=1' })
    })

    it('400s nesting deeper than the default depth of 32', async () => {
      const res = await parity('urlencoded', { extended: true }, {
        headers: FORM_TYPE,
        body: 'a' + '[x]'.repeat(33) + '=1',
      })
      expect(res.status).toBe(400)
    })

    it('decodes charset=iso-8859-1', async () => {
      const res = await parity('urlencoded', undefined, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=iso-8859-1' },
        body: 'name=caf%E9',
      })
      expect(res.json.body).toEqual({ name: 'café' })
    })

    it('decodes with defaultCharset iso-8859-1', async () => {
      const res = await parity('urlencoded', { defaultCharset: 'iso-8859-1' }, { headers: FORM_TYPE, body: 'n=%E9' })
      expect(res.json.body).toEqual({ n: 'é' })
    })

    it.each([
      ['utf8=%E2%9C%93&n=%C3%A9', 'iso-8859-1'],
      ['utf8=%26%2310003%3B&n=%E9', 'utf-8'],
    ])('honours the charset sentinel in %s', async (body, defaultCharset) => {
      const res = await parity('urlencoded', { charsetSentinel: true, defaultCharset }, { headers: FORM_TYPE, body })
      expect(res.json.body).toEqual({ n: 'é' })
    })

    it('interprets numeric entities in iso-8859-1 forms', async () => {
      const res = await parity('urlencoded', { defaultCharset: 'iso-8859-1', interpretNumericEntities: true }, {
        headers: FORM_TYPE,
        body: 'n=%26%239786%3B',
      })
      expect(res.json.body).toEqual({ n: '☺' })
    })

    it.each(['utf-16', 'latin1', 'bogus'])('415s charset=%s', async (charset) => {
      const res = await parity('urlencoded', undefined, {
        headers: { 'Content-Type': `application/x-www-form-urlencoded; charset=${charset}` },
        body: 'a=1',
      })
      expect(res.status).toBe(415)
      expect(res.json.err.type).toBe('charset.unsupported')
    })
  })

  describe('text()', () => {
    it.each([
      ['utf-8', Buffer.from('grüße ✓', 'utf8')],
      ['iso-8859-1', Buffer.from('grüße', 'latin1')],
      ['latin1', Buffer.from('grüße', 'latin1')],
      ['utf-16le', Buffer.from('grüße ✓', 'utf16le')],
      ['windows-1252', Buffer.from([0x80, 0x20, 0x41])],
    ] as const)('decodes charset=%s', async (charset, body) => {
      const res = await parity('text', undefined, { headers: { 'Content-Type': `text/plain; charset=${charset}` }, body })
      expect(res.json.rawType).toBe('string')
    })

    it('decodes with defaultCharset when the request names none', async () => {
      const res = await parity('text', { defaultCharset: 'iso-8859-1' }, {
        headers: TEXT_TYPE,
        body: Buffer.from('é', 'latin1'),
      })
      expect(res.json.body).toBe('é')
    })

    it('strips a UTF-8 byte order mark', async () => {
      const res = await parity('text', undefined, { headers: TEXT_TYPE, body: '\uFEFFhello' })
      expect(res.json.body).toBe('hello')
    })

    it('keeps invalid UTF-8 as replacement characters', async () => {
      await parity('text', undefined, { headers: TEXT_TYPE, body: Buffer.from([0x61, 0xff, 0xc3, 0x62, 0xe2, 0x82]) })
    })

    it('gives an empty string for an empty body', async () => {
      const res = await parity('text', undefined, { headers: TEXT_TYPE, body: '' })
      expect(res.json.body).toBe('')
    })

    it('415s an unknown charset', async () => {
      const res = await parity('text', undefined, { headers: { 'Content-Type': 'text/plain; charset=bogus' }, body: 'x' })
      expect(res.status).toBe(415)
      expect(res.json.err.type).toBe('charset.unsupported')
    })

    it('415s an unknown defaultCharset', async () => {
      const res = await parity('text', { defaultCharset: 'bogus' }, { headers: TEXT_TYPE, body: 'x' })
      expect(res.status).toBe(415)
    })
  })

  describe('raw()', () => {
    it('gives the body as a Buffer', async () => {
      const body = Buffer.from([0, 1, 2, 253, 254, 255])
      const res = await parity('raw', undefined, { headers: OCTET_TYPE, body })
      expect(res.json).toMatchObject({ isBuffer: true, proto: 'Buffer', body: { buffer: body.toString('base64') } })
    })

    it('ignores a charset', async () => {
      const res = await parity('raw', undefined, {
        headers: { 'Content-Type': 'application/octet-stream; charset=bogus' },
        body: 'x',
      })
      expect(res.json.isBuffer).toBe(true)
    })

    it('gives an empty Buffer for an empty body', async () => {
      const res = await parity('raw', undefined, { headers: OCTET_TYPE, body: '' })
      expect(res.json.body).toEqual({ buffer: '' })
    })
  })

  describe('requests it does not parse', () => {
    it.each(['json', 'urlencoded', 'text', 'raw'] as const)('leaves body undefined on a GET (%s)', async (kind) => {
      const res = await parity(kind, undefined, { method: 'GET' })
      expect(res.json).toMatchObject({ hasBodyKey: true, rawType: 'undefined' })
    })

    it.each(['json', 'urlencoded', 'text', 'raw'] as const)('leaves body undefined on a POST without body (%s)', async (kind) => {
      const res = await parity(kind, undefined, { headers: JSON_TYPE })
      expect(res.json.rawType).toBe('undefined')
    })

    it('leaves body undefined when there is no Content-Type', async () => {
      const res = await parity('json', undefined, { body: '{"a":1}' })
      expect(res.json.rawType).toBe('undefined')
    })

    it('leaves body undefined for another Content-Type', async () => {
      const res = await parity('json', undefined, { headers: TEXT_TYPE, body: '{"a":1}' })
      expect(res.json.rawType).toBe('undefined')
    })

    it('parses a GET that has a body', async () => {
      const res = await parity('json', undefined, { method: 'GET', headers: JSON_TYPE, body: '{"get":1}' })
      expect(res.json.body).toEqual({ get: 1 })
    })

    it('400s a malformed Content-Type', async () => {
      await parity('json', undefined, { headers: { 'Content-Type': 'application/json; charset' }, body: '{}' })
    })
  })
})

describe('invalid options', () => {
  const cases: Array<[Kind, Record<string, unknown>]> = [
    ['json', { limit: 'lots' }],
    ['json', { limit: 'ten kb' }],
    ['raw', { limit: true }],
    ['raw', { limit: {} }],
    ['json', { verify: 'yes' }],
    ['text', { verify: 42 }],
    ['urlencoded', { parameterLimit: 0 }],
    ['urlencoded', { parameterLimit: -5 }],
    ['urlencoded', { parameterLimit: NaN }],
    ['urlencoded', { parameterLimit: 'many' }],
    ['urlencoded', { parameterLimit: null }],
    ['urlencoded', { extended: true, depth: -1 }],
    ['urlencoded', { extended: true, depth: NaN }],
    ['urlencoded', { extended: true, depth: 'deep' }],
    ['urlencoded', { defaultCharset: 'utf-16' }],
    ['urlencoded', { defaultCharset: 42 }],
  ]

  it.each(cases)('%s(%p) throws the TypeError body-parser throws', (kind, options) => {
    let expected: unknown
    try {
      reference[kind](options)
    } catch (err) {
      expected = err
    }
    expect(expected).toBeInstanceOf(TypeError)
    expect(() => ours[kind](options)).toThrow(expected as TypeError)
    expect(() => ours[kind](options)).toThrow(TypeError)
  })

  it.each<[Kind, Record<string, unknown>]>([
    ['urlencoded', { defaultCharset: '' }],
    ['urlencoded', { parameterLimit: Infinity }],
    ['urlencoded', { parameterLimit: 2.7 }],
    ['urlencoded', { depth: -1 }],
    ['urlencoded', { extended: true, depth: 0 }],
    ['json', { verify: null }],
    ['json', { verify: false }],
    ['json', { limit: null }],
    ['text', { defaultCharset: 'UTF-16LE' }],
    ['json', { defaultCharset: 'utf-16le' }],
    ['json', { limit: '12 parsecs' }],
  ])('%s(%p) is accepted, as by body-parser', (kind, options) => {
    expect(() => reference[kind](options)).not.toThrow()
    expect(() => ours[kind](options)).not.toThrow()
  })
})
