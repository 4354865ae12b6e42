/**
 * The parser descriptions in `lib/parsers.ts`, without an adapter: their
 * normalized options, which requests they take, the charset they pick and
 * what `parse()` makes of bytes. Property tests compare `parse()` with what
 * body-parser 2.x sets as `req.body` for the same bytes, over one long-lived
 * loopback server.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import bodyParser from 'body-parser'
import fc from 'fast-check'
import { Client } from 'undici'
import {
  createJsonParser,
  createRawParser,
  createTextParser,
  createUrlencodedParser,
  type Parser,
} from '../../lib/parsers.js'

function request(contentType?: string) {
  return { headers: contentType === undefined ? {} : { 'content-type': contentType } }
}

/** `parse()`'s result, or the fields of its error, in the shape the reference server sends. */
function outcome(parser: Parser, text: string, charset = 'utf-8') {
  try {
    return { body: JSON.parse(JSON.stringify({ v: parser.parse(Buffer.from(text), charset) })).v }
  } catch (err: any) {
    return { err: { status: err.status, type: err.type, message: err.message, expose: err.expose } }
  }
}

describe('createJsonParser', () => {
  it('has body-parser defaults', () => {
    const parser = createJsonParser()
    expect(parser).toMatchObject({ kind: 'json', limit: 102400, inflate: true, timeout: 30000, verify: undefined })
  })

  it('takes application/json only by default', () => {
    const parser = createJsonParser()
    expect(parser.matches(request('application/json; charset=utf-8'))).toBe(true)
    expect(parser.matches(request('text/plain'))).toBe(false)
    expect(parser.matches(request())).toBe(false)
  })

  it('picks utf-8 when the request names no charset', () => {
    expect(createJsonParser().charset(request('application/json'))).toBe('utf-8')
  })

  it('picks defaultCharset when the request names no charset', () => {
    expect(createJsonParser({ defaultCharset: 'UTF-16LE' }).charset(request('application/json'))).toBe('utf-16le')
  })

  it.each(['latin1', 'utf8', 'utf-bogus'])('refuses charset=%s with 415 charset.unsupported', (charset) => {
    const parser = createJsonParser()
    expect(() => parser.charset(request(`application/json; charset=${charset}`))).toThrow(
      expect.objectContaining({ status: 415, type: 'charset.unsupported', charset }),
    )
  })

  it('gives {} for an empty body', () => {
    expect(createJsonParser().parse(Buffer.alloc(0), 'utf-8')).toEqual({})
  })

  it('rejects a primitive in strict mode with the real character in the message', () => {
    expect(() => createJsonParser().parse(Buffer.from(' true'), 'utf-8')).toThrow(
      expect.objectContaining({ status: 400, type: 'entity.parse.failed', body: ' true', message: expect.stringContaining('t') }),
    )
  })

  it('accepts a primitive with strict: false', () => {
    expect(createJsonParser({ strict: false }).parse(Buffer.from('"x"'), 'utf-8')).toBe('x')
  })

  it('decodes utf-16le', () => {
    expect(createJsonParser().parse(Buffer.from('{"a":"é"}', 'utf16le'), 'utf-16le')).toEqual({ a: 'é' })
  })
})

describe('createUrlencodedParser', () => {
  it('uses depth 0 without extended and 32 with it', () => {
    const simple = createUrlencodedParser()
    const extended = createUrlencodedParser({ extended: true })
    expect(simple.parse(Buffer.from('a[b]=1'), 'utf-8')).toEqual({ 'a[b]': '1' })
    expect(extended.parse(Buffer.from('a[b]=1'), 'utf-8')).toEqual({ a: { b: '1' } })
    expect(() => extended.parse(Buffer.from('a' + '[b]'.repeat(33) + '=1'), 'utf-8')).toThrow(
      expect.objectContaining({ status: 400, type: 'querystring.parse.rangeError' }),
    )
  })

  it('throws 413 parameters.too.many, carrying the body as body-parser does', () => {
    const parser = createUrlencodedParser({ parameterLimit: 2 })
    expect(() => parser.parse(Buffer.from('a=1&b=2&c=3'), 'utf-8')).toThrow(
      expect.objectContaining({ status: 413, type: 'parameters.too.many', body: 'a=1&b=2&c=3' }),
    )
  })

  it.each(['utf-16', 'latin1'])('refuses charset=%s', (charset) => {
    const parser = createUrlencodedParser()
    expect(() => parser.charset(request(`application/x-www-form-urlencoded; charset=${charset}`))).toThrow(
      expect.objectContaining({ status: 415, type: 'charset.unsupported' }),
    )
  })

  it('treats an empty defaultCharset as utf-8, as body-parser does', () => {
    expect(createUrlencodedParser({ defaultCharset: '' }).charset(request('application/x-www-form-urlencoded'))).toBe('utf-8')
  })

  it.each([
    [{ parameterLimit: null }, 'option parameterLimit must be a positive number'],
    [{ parameterLimit: 0 }, 'option parameterLimit must be a positive number'],
    [{ extended: true, depth: -1 }, 'option depth must be a zero or a positive number'],
    [{ defaultCharset: 'utf-16' }, 'option defaultCharset must be either utf-8 or iso-8859-1'],
  ])('rejects %p with the TypeError body-parser throws', (options, message) => {
    expect(() => bodyParser.urlencoded(options as any)).toThrow(new TypeError(message))
    expect(() => createUrlencodedParser(options as any)).toThrow(new TypeError(message))
  })
})

describe('createTextParser', () => {
  it('decodes with the charset it picked', () => {
    const parser = createTextParser()
    const charset = parser.charset(request('text/plain; charset=ISO-8859-1'))
    expect(charset).toBe('iso-8859-1')
    expect(parser.parse(Buffer.from([0x63, 0x61, 0x66, 0xe9]), charset)).toBe('café')
  })

  it('refuses a charset iconv-lite does not know', () => {
    expect(() => createTextParser().charset(request('text/plain; charset=bogus'))).toThrow(
      expect.objectContaining({ status: 415, type: 'charset.unsupported', charset: 'bogus', message: 'unsupported charset "BOGUS"' }),
    )
  })

  it('treats an empty defaultCharset as utf-8, as body-parser does', () => {
    expect(createTextParser({ defaultCharset: '' }).charset(request('text/plain'))).toBe('utf-8')
  })
})

describe('createRawParser', () => {
  it('has no charset and returns the same Buffer', () => {
    const parser = createRawParser()
    const buf = Buffer.from([1, 2, 3])
    expect(parser.charset(request('application/octet-stream; charset=bogus'))).toBeNull()
    expect(parser.parse(buf, null)).toBe(buf)
  })
})

describe('parse() against body-parser', () => {
  const routes: Record<string, { reference: any; ours: Parser; type: string }> = {
    '/json': { reference: bodyParser.json(), ours: createJsonParser(), type: 'application/json' },
    '/json-loose': {
      reference: bodyParser.json({ strict: false }),
      ours: createJsonParser({ strict: false }),
      type: 'application/json',
    },
    '/form': {
      reference: bodyParser.urlencoded({ parameterLimit: 20 }),
      ours: createUrlencodedParser({ parameterLimit: 20 }),
      type: 'application/x-www-form-urlencoded',
    },
    '/form-extended': {
      // @types/body-parser predates the depth option.
      reference: bodyParser.urlencoded({ extended: true, parameterLimit: 20, depth: 3 } as bodyParser.OptionsUrlencoded),
      ours: createUrlencodedParser({ extended: true, parameterLimit: 20, depth: 3 }),
      type: 'application/x-www-form-urlencoded',
    },
  }

  let server: http.Server
  let client: Client

  beforeAll(async () => {
    server = http.createServer((req: any, res) => {
      routes[req.url].reference(req, res, (err?: any) => {
        const result = err === undefined
          ? { body: req.body }
          : { err: { status: err.status, type: err.type, message: err.message, expose: err.expose } }
        res.setHeader('Content-Type', 'application/json')
        res.end(JSON.stringify(result))
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    client = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { pipelining: 1 })
  })

  afterAll(async () => {
    await client.close()
    server.close()
  })

  async function reference(path: string, text: string) {
    const res = await client.request({
      method: 'POST',
      path,
      headers: { 'content-type': routes[path].type },
      body: text,
    })
    return res.body.json()
  }

  async function expectSame(path: string, text: string): Promise<void> {
    expect(outcome(routes[path].ours, text)).toEqual(await reference(path, text))
  }

  const jsonText = fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, 1)),
    // Near-JSON: mostly malformed, so that error messages are compared too.
    fc.string({ unit: fc.constantFrom(...'{}[]:," \t\n0123456789-.eEtruefalsn\\\uFEFF'), maxLength: 30 }),
  )

  it('gives the same result or error as body-parser json() for random JSON', async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, async (text) => {
        await expectSame('/json', text)
      }),
      { numRuns: 150 },
    )
  })

  it('gives the same result or error as body-parser json({ strict: false }) for random JSON', async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, async (text) => {
        await expectSame('/json-loose', text)
      }),
      { numRuns: 150 },
    )
  })

  const formKey = fc.oneof(
    fc.constantFrom('a', 'b', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'),
    fc.string({ unit: fc.constantFrom(...'ab01[]._%+'), maxLength: 8 }),
  )
  const formValue = fc.oneof(
    fc.string({ maxLength: 6 }).map(encodeURIComponent),
    fc.string({ unit: fc.constantFrom(...'ab%2E0=+&;[]'), maxLength: 6 }),
  )
  const form = fc
    .array(
      fc.tuple(formKey, fc.array(fc.constantFrom('', '[]', '[0]', '[5]', '[x]', '[x][y]', '.z', '[__proto__]'), { maxLength: 3 }), formValue),
      { maxLength: 25 },
    )
    .map((pairs) => pairs.map(([key, path, value]) => `${key}${path.join('')}=${value}`).join('&'))

  it.each(['/form', '/form-extended'])('gives the same result or error as body-parser at %s for random forms', async (path) => {
    await fc.assert(
      fc.asyncProperty(form, async (text) => {
        await expectSame(path, text)
        expect(({} as any).polluted).toBeUndefined()
      }),
      { numRuns: 200 },
    )
  })
})

describe('options body-parser ignores', () => {
  it.each([
    ['json', () => createJsonParser({ extended: true, limit: '1mb' } as never)],
    ['urlencoded', () => createUrlencodedParser({ strict: false } as never)],
    ['text', () => createTextParser({ reviver: () => null } as never)],
    ['raw', () => createRawParser({ parameterLimit: 5 } as never)],
  ])('are ignored by %s, so a migrated app still starts', (_kind, create) => {
    expect(create).not.toThrow()
  })
})
