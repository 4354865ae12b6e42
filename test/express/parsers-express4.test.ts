/**
 * The body-parser 1.x flavour of the drop-ins against Express 4's own
 * `express.json()`, `urlencoded()`, `text()` and `raw()` (the body-parser
 * 1.20.x Express 4 installs): every request goes over a real loopback socket
 * to a server using Express 4's factory and to one using ours, and the two
 * responses (status, `req.body`, its type and prototype, the error's fields)
 * must be the same. On Express 4 ours is left to detect the flavour; on
 * Express 5 and plain node:http it is asked for with `bodyParser: 1`.
 */
import zlib from 'node:zlib'
import { json, raw, text, urlencoded } from '../../adapters/express/parsers.js'
import {
  answer,
  express4,
  expectSameAnswer,
  type Flavor,
  type Middleware,
  type RawRequest,
  type RawResponse,
} from './parity-harness.js'

type Kind = 'json' | 'urlencoded' | 'text' | 'raw'

const ours: Record<Kind, (options?: any) => Middleware> = { json, urlencoded, text, raw }
const express4Parsers: Record<Kind, (options?: any) => Middleware> = {
  json: express4.json,
  urlencoded: express4.urlencoded,
  text: express4.text,
  raw: express4.raw,
}

const JSON_TYPE = { 'Content-Type': 'application/json' }
const FORM_TYPE = { 'Content-Type': 'application/x-www-form-urlencoded' }
const TEXT_TYPE = { 'Content-Type': 'text/plain' }
const OCTET_TYPE = { 'Content-Type': 'application/octet-stream' }

function recordVerify(req: any, _res: unknown, buf: Buffer, encoding: string | null): void {
  req.verified = { buf: buf.toString('base64'), encoding }
}

// body-parser 1.x warns once that `extended` should be given; keep the test output clean.
process.noDeprecation = true

const flavors: Flavor[] = ['express4', 'express5', 'node:http']

describe.each(flavors)('on %s', (flavor) => {
  /** Ours with the options given, plus `bodyParser: 1` where it is not detected. */
  const own = (options: any) => (flavor === 'express4' ? options : { ...options, bodyParser: 1 })
  const parity = (kind: Kind, options: any, request: RawRequest): Promise<RawResponse> =>
    expectSameAnswer(flavor, express4Parsers[kind](options), ours[kind](own(options)), request)

  describe('req.body when nothing is parsed', () => {
    it.each(['json', 'urlencoded', 'text', 'raw'] as const)('is {} on a GET (%s)', async (kind) => {
      const res = await parity(kind, undefined, { method: 'GET' })
      expect(res.json).toMatchObject({ hasBodyKey: true, body: {}, proto: 'Object' })
    })

    it.each(['json', 'urlencoded', 'text', 'raw'] as const)('is {} on a POST without a body (%s)', async (kind) => {
      const res = await parity(kind, undefined, { headers: FORM_TYPE })
      expect(res.json.body).toEqual({})
    })

    it('is {} for another Content-Type', async () => {
      const res = await parity('json', undefined, { headers: TEXT_TYPE, body: '{"a":1}' })
      expect(res.json.body).toEqual({})
    })

    it('is {} when there is no Content-Type', async () => {
      const res = await parity('urlencoded', undefined, { body: 'a=1' })
      expect(res.json.body).toEqual({})
    })

    it('is {} for multipart', async () => {
      const res = await parity('urlencoded', undefined, {
        headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
        body: '--x--',
      })
      expect(res.json.body).toEqual({})
    })

    it('is {} on an error response', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '{' })
      expect(res.status).toBe(400)
      expect(res.json.body).toEqual({})
    })
  })

  describe('urlencoded()', () => {
    it('is extended by default: nested fields', async () => {
      const res = await parity('urlencoded', undefined, {
        headers: FORM_TYPE,
        body: 'user[name]=Tobi&user[email]=tobi%40example.com&tags[]=a&tags[]=b',
      })
      expect(res.json.body).toEqual({ user: { name: 'Tobi', email: 'tobi@example.com' }, tags: ['a', 'b'] })
    })

    it('parses with querystring when extended is false (a null-prototype object)', async () => {
      const res = await parity('urlencoded', { extended: false }, {
        headers: FORM_TYPE,
        body: 'a[b]=1&c[]=2&c[]=3&d=%E9&e=x+y',
      })
      expect(res.json.proto).toBe('null')
      expect(res.json.body).toEqual({ 'a[b]': '1', 'c[]': ['2', '3'], d: '\uFFFD', e: 'x y' })
    })

    it('gives {} for an empty body', async () => {
      const res = await parity('urlencoded', undefined, { headers: FORM_TYPE, body: '' })
      expect(res.json.body).toEqual({})
    })

    it.each([
      ['extended', {}],
      ['simple', { extended: false }],
    ])('413s too many parameters (%s)', async (_name, options) => {
      const res = await parity('urlencoded', { ...options, parameterLimit: 3 }, { headers: FORM_TYPE, body: 'a=1&b=2&c=3&d=4' })
      expect(res.status).toBe(413)
      expect(res.json.err.type).toBe('parameters.too.many')
    })

    it('accepts exactly parameterLimit parameters', async () => {
      const res = await parity('urlencoded', { parameterLimit: 3 }, { headers: FORM_TYPE, body: 'a=1&b=2&c=3' })
      expect(res.status).toBe(200)
    })

    it('400s nesting deeper than depth', async () => {
      const res = await parity('urlencoded', { depth: 2 }, { headers: FORM_TYPE, body: 'a[b][c][d]=1' })
      expect(res.status).toBe(400)
      expect(res.json.err.type).toBe('querystring.parse.rangeError')
    })

    it('400s nesting deeper than the default depth of 32', async () => {
      const res = await parity('urlencoded', undefined, { headers: FORM_TYPE, body: 'a' + '[x]'.repeat(33) + '=1' })
      expect(res.status).toBe(400)
    })

    it('ignores depth when extended is false', async () => {
      const res = await parity('urlencoded', { extended: false, depth: 0 }, { headers: FORM_TYPE, body: 'a[b][c]=1' })
      expect(res.json.body).toEqual({ 'a[b][c]': '1' })
    })

    it('parses a sparse index past the array limit as an object', async () => {
      await parity('urlencoded', undefined, { headers: FORM_TYPE, body: 'a[150]=x&a[1]=y' })
    })

    it.each(['iso-8859-1', 'utf-16', 'bogus'])('415s charset=%s (utf-8 only)', async (charset) => {
      const res = await parity('urlencoded', undefined, {
        headers: { 'Content-Type': `application/x-www-form-urlencoded; charset=${charset}` },
        body: 'a=1',
      })
      expect(res.status).toBe(415)
      expect(res.json.err.type).toBe('charset.unsupported')
    })

    it('ignores defaultCharset, charsetSentinel and interpretNumericEntities', async () => {
      const options = { defaultCharset: 'iso-8859-1', charsetSentinel: true, interpretNumericEntities: true }
      const res = await parity('urlencoded', options, { headers: FORM_TYPE, body: 'utf8=%E2%9C%93&n=%C3%A9&m=%26%239786%3B' })
      expect(res.json.body).toEqual({ utf8: '✓', n: 'é', m: '&#9786;' })
    })

    it.each([
      '__proto__[polluted]=yes',
      'constructor[prototype][polluted]=yes',
      'a[__proto__][polluted]=yes',
      'toString=yes&hasOwnProperty=no',
    ])('answers %j as Express 4 does', async (body) => {
      await parity('urlencoded', undefined, { headers: FORM_TYPE, body })
      await parity('urlencoded', { extended: false }, { headers: FORM_TYPE, body })
      expect(({} as any).polluted).toBeUndefined()
    })
  })

  describe('json()', () => {
    it('parses an object', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '{"a":1,"b":[true,null,"x"]}' })
      expect(res.json.body).toEqual({ a: 1, b: [true, null, 'x'] })
    })

    it('gives {} for an empty body', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '' })
      expect(res.json.body).toEqual({})
    })

    it('parses a chunked body', async () => {
      await parity('json', undefined, { headers: JSON_TYPE, body: '{"chunked":"yes"}', chunked: true })
    })

    it.each(['true', '  "x"', 'null', '\n\t 12', '   '])('400s the strict violation %j', async (body) => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body })
      expect(res.status).toBe(400)
      expect(res.json.err.type).toBe('entity.parse.failed')
    })

    it.each(['{', '{"a":1,}', "{'a':1}", '[1] [2]', '\uFEFF{}x'])('400s the malformed body %j', async (body) => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body })
      expect(res.status).toBe(400)
    })

    it.each(['true', '"x"', 'null', '42'])('parses the primitive %j with strict: false', async (body) => {
      const res = await parity('json', { strict: false }, { headers: JSON_TYPE, body })
      expect(res.status).toBe(200)
    })

    it('applies a reviver', async () => {
      const reviver = (_key: string, value: unknown) => (typeof value === 'number' ? value * 2 : value)
      const res = await parity('json', { reviver }, { headers: JSON_TYPE, body: '{"a":1}' })
      expect(res.json.body).toEqual({ a: 2 })
    })

    it('strips a UTF-8 byte order mark', async () => {
      const res = await parity('json', undefined, { headers: JSON_TYPE, body: '\uFEFF{"bom":true}' })
      expect(res.json.body).toEqual({ bom: true })
    })

    it('decodes charset=utf-16le', async () => {
      const res = await parity('json', undefined, {
        headers: { 'Content-Type': 'application/json; charset=utf-16le' },
        body: Buffer.from('{"le":"é"}', 'utf16le'),
      })
      expect(res.json.body).toEqual({ le: 'é' })
    })

    it.each(['latin1', 'utf-bogus', '""'])('415s charset=%s', async (charset) => {
      const res = await parity('json', undefined, {
        headers: { 'Content-Type': `application/json; charset=${charset}` },
        body: '{}',
      })
      expect(res.status).toBe(charset === '""' ? 200 : 415)
    })

    it('415s an unknown utf- charset with verify', async () => {
      const res = await parity('json', { verify: recordVerify }, {
        headers: { 'Content-Type': 'application/json; charset=utf-bogus' },
        body: '{}',
      })
      expect(res.status).toBe(415)
    })

    it('ignores defaultCharset (a request without a charset is utf-8)', async () => {
      const res = await parity('json', { defaultCharset: 'utf-16le' }, { headers: JSON_TYPE, body: '{"d":"ü"}' })
      expect(res.json.body).toEqual({ d: 'ü' })
    })

    it('parses a GET that has a body', async () => {
      const res = await parity('json', undefined, { method: 'GET', headers: JSON_TYPE, body: '{"get":1}' })
      expect(res.json.body).toEqual({ get: 1 })
    })

    it('answers a malformed Content-Type as Express 4 does', async () => {
      await parity('json', undefined, { headers: { 'Content-Type': 'application/json; charset' }, body: '{}' })
    })
  })

  describe('text() and raw()', () => {
    it.each([
      ['utf-8', Buffer.from('grüße ✓', 'utf8')],
      ['iso-8859-1', Buffer.from('grüße', 'latin1')],
      ['utf-16le', Buffer.from('grüße ✓', 'utf16le')],
    ] as const)('decodes text in charset=%s', async (charset, body) => {
      const res = await parity('text', undefined, { headers: { 'Content-Type': `text/plain; charset=${charset}` }, body })
      expect(res.json.rawType).toBe('string')
    })

    it('decodes text with defaultCharset', async () => {
      const res = await parity('text', { defaultCharset: 'iso-8859-1' }, { headers: TEXT_TYPE, body: Buffer.from('é', 'latin1') })
      expect(res.json.body).toBe('é')
    })

    it('415s text in an unknown charset', async () => {
      const res = await parity('text', undefined, { headers: { 'Content-Type': 'text/plain; charset=bogus' }, body: 'x' })
      expect(res.status).toBe(415)
    })

    it('gives raw bodies as a Buffer', async () => {
      const res = await parity('raw', undefined, { headers: OCTET_TYPE, body: Buffer.from([0, 1, 254, 255]) })
      expect(res.json.isBuffer).toBe(true)
    })

    it('gives an empty Buffer for an empty raw body', async () => {
      const res = await parity('raw', undefined, { headers: OCTET_TYPE, body: '' })
      expect(res.json.body).toEqual({ buffer: '' })
    })
  })

  describe('options every parser takes', () => {
    it('413s a body whose Content-Length is over the limit', async () => {
      const res = await parity('json', { limit: 10 }, { headers: JSON_TYPE, body: '{"aaaaaaaaaaaaaaaaaaaa":1}' })
      expect(res.json.err).toMatchObject({ type: 'entity.too.large', limit: 10, length: 26, expected: 26 })
    })

    it('413s a chunked body over the limit', async () => {
      const res = await parity('text', { limit: '10b' }, { headers: TEXT_TYPE, body: 'x'.repeat(30), chunked: true })
      expect(res.status).toBe(413)
    })

    it('accepts a body exactly at the limit', async () => {
      await parity('raw', { limit: 5 }, { headers: OCTET_TYPE, body: 'abcde' })
    })

    it.each([
      ['gzip', zlib.gzipSync('{"z":1}')],
      ['deflate', zlib.deflateSync('{"z":1}')],
    ] as const)('decodes a %s body', async (encoding, body) => {
      const res = await parity('json', undefined, { headers: { ...JSON_TYPE, 'Content-Encoding': encoding }, body })
      expect(res.json.body).toEqual({ z: 1 })
    })

    it('415s a gzip body with inflate: false', async () => {
      const res = await parity('json', { inflate: false }, {
        headers: { ...JSON_TYPE, 'Content-Encoding': 'gzip' },
        body: zlib.gzipSync('{}'),
      })
      expect(res.json.err.type).toBe('encoding.unsupported')
    })

    it('415s an unknown coding', async () => {
      const res = await parity('json', undefined, { headers: { ...JSON_TYPE, 'Content-Encoding': 'compress' }, body: '{}' })
      expect(res.status).toBe(415)
    })

    it('parses the media types of a type option', async () => {
      const res = await parity('json', { type: ['application/vnd.api+json', '+json'] }, {
        headers: { 'Content-Type': 'application/ld+json' },
        body: '{"x":1}',
      })
      expect(res.json.body).toEqual({ x: 1 })
    })

    it('asks a type function', async () => {
      const type = (req: any) => req.headers['x-parse'] === 'yes'
      const res = await parity('text', { type }, { headers: { 'X-Parse': 'yes' }, body: 'hi' })
      expect(res.json.body).toBe('hi')
    })

    it('passes the raw body and the charset to verify', async () => {
      const res = await parity('text', { verify: recordVerify }, {
        headers: { 'Content-Type': 'text/plain; charset=utf-16le' },
        body: Buffer.from('hé', 'utf16le'),
      })
      expect(res.json.verified.encoding).toBe('utf-16le')
    })

    it('403s when verify throws, keeping its own status and type', async () => {
      const verify = () => {
        throw Object.assign(new Error('no token'), { status: 401, type: 'auth.missing' })
      }
      const res = await parity('urlencoded', { verify }, { headers: FORM_TYPE, body: 'a=1' })
      expect(res.status).toBe(401)
    })
  })

  describe('a request another parser already read', () => {
    it('is skipped, and req.body left as that parser set it', async () => {
      const first = (req: any, _res: unknown, next: () => void) => {
        req._body = true
        req.body = 'from an earlier parser'
        next()
      }
      const chain = (mw: Middleware): Middleware => (req, res, next) => first(req, res, () => mw(req, res, next))
      const res = await expectSameAnswer(flavor, chain(express4.json()), chain(json(own(undefined))), {
        headers: JSON_TYPE,
        body: '{"a":1}',
      })
      expect(res.json.body).toBe('from an earlier parser')
    })

    it('500s stream.not.readable when other code consumed the body without saying so', async () => {
      const consumeFirst = (mw: Middleware): Middleware => (req, res, next) => {
        req.on('end', () => mw(req, res, next))
        req.resume()
      }
      const request: RawRequest = { headers: JSON_TYPE, body: '{"a":1}' }
      // The message says more than body-parser's; status and type are body-parser's.
      for (const mw of [express4.json(), json(own(undefined))]) {
        const res = await answer(flavor, consumeFirst(mw), request)
        expect({ status: res.status, type: res.json.err.type }).toEqual({ status: 500, type: 'stream.not.readable' })
      }
    })
  })
})

describe('the body-parser 1.x difference kept on purpose', () => {
  it('decodes a br body on Express 4, which Express 4 answers with 415', async () => {
    const request: RawRequest = { headers: { ...JSON_TYPE, 'Content-Encoding': 'br' }, body: zlib.brotliCompressSync('{"br":1}') }
    const theirs = await answer('express4', express4.json(), request)
    const mine = await answer('express4', json(), request)
    expect(theirs.status).toBe(415)
    expect(mine).toMatchObject({ status: 200, json: { body: { br: 1 } } })
  })
})

describe('invalid options', () => {
  it.each<[Kind, Record<string, unknown>]>([
    ['json', { limit: 'lots' }],
    ['text', { verify: 42 }],
    ['urlencoded', { parameterLimit: 0 }],
    ['urlencoded', { parameterLimit: 'many' }],
    ['urlencoded', { depth: -1 }],
    ['urlencoded', { depth: 'deep' }],
  ])('%s(%p) throws the TypeError Express 4 throws, with bodyParser: 1', (kind, options) => {
    let expected: unknown
    try {
      express4Parsers[kind](options)
    } catch (err) {
      expected = err
    }
    expect(expected).toBeInstanceOf(TypeError)
    expect(() => ours[kind]({ ...options, bodyParser: 1 })).toThrow(expected as TypeError)
  })

  it.each<[Kind, Record<string, unknown>]>([
    ['urlencoded', { defaultCharset: 'utf-16' }],
    ['urlencoded', { defaultCharset: 42 }],
    ['urlencoded', { extended: false, depth: -1 }],
    ['json', { defaultCharset: 'latin1' }],
  ])('%s(%p) is accepted, as by Express 4', (kind, options) => {
    expect(() => express4Parsers[kind](options)).not.toThrow()
    expect(() => ours[kind]({ ...options, bodyParser: 1 })).not.toThrow()
  })

  it.each([3, '1', true, null])('refuses bodyParser: %p', (bodyParser) => {
    expect(() => json({ bodyParser } as never)).toThrow(new TypeError('option bodyParser must be 1 or 2'))
  })
})
