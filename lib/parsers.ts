/**
 * Body parsers with body-parser's semantics: the same options, defaults,
 * results and errors for json, urlencoded, text and raw bodies, in two
 * flavours: body-parser 2.x (the default) and body-parser 1.x, the line
 * Express 4 bundles (`bodyParser: 1`). A parser here is a plain description
 * (which requests it takes, its limits, how to turn bytes into `req.body`);
 * `buffer-request.ts` runs it against a request.
 */
import querystring from 'node:querystring'
import qs from 'qs'
import { depthExceeded, tooManyParameters } from './errors.js'
import {
  charsetExists,
  decodeText as decode,
  parseJson,
  requestCharset,
  textCharset,
  unsupportedCharset,
  withParseFailed,
  type JsonReviver,
} from './text.js'
import {
  DEFAULT_BUFFERED_LIMIT,
  DEFAULT_TIMEOUT,
  parseBoolean,
  parseFunction,
  parseLimit,
  parseTimeout,
  typeChecker,
  type ByteSize,
  type TypeMatcher,
  type UserTyped,
  type HeadersLike,
} from './options.js'

/** `verify(req, res, buf, encoding)`: throw to reject the body with 403. */
export type VerifyFunction = (req: UserTyped, res: UserTyped, buf: Buffer, encoding: string | null) => void

/**
 * Which body-parser major a parser behaves as: `1` for body-parser 1.x, the
 * parsers Express 4 bundles as `express.json()` & co.; `2` for body-parser 2.x
 * (Express 5's). The Express adapter picks 1 on an Express 4 app when the
 * `bodyParser` option does not say.
 *
 * @example
 * app.use(streamShim({ bodyParser: 1 })) // Express 4's req.body on Express 5 too
 */
export type BodyParserMajor = 1 | 2

/** Check a `bodyParser` option: `1`, `2`, or undefined for "not said". */
export function parseBodyParserMajor(value: unknown): BodyParserMajor | undefined {
  if (value === undefined) return undefined
  if (value !== 1 && value !== 2) throw new TypeError('option bodyParser must be 1 or 2')
  return value
}

/** Options every parser takes (body-parser's names and defaults). */
export interface BaseParserOptions {
  /**
   * Behave as body-parser 1.x (`1`: Express 4's bundled parsers) or 2.x (`2`).
   * Default: 1 on an Express 4 app (the adapters detect it), else 2.
   */
  bodyParser?: BodyParserMajor
  /** Largest body accepted, after decoding. Default `'100kb'`. */
  limit?: ByteSize
  /** Decode gzip, deflate and br bodies. Default `true`. */
  inflate?: boolean
  /** Media types to parse, or a function of the request. */
  type?: TypeMatcher
  /** Called with the raw body before parsing; throw to reject it (403). */
  verify?: VerifyFunction
  /** Longest idle gap between body chunks, in ms (`false` for none). Default 30000. */
  timeout?: number | false
}

export interface JsonOptions extends BaseParserOptions {
  /** Charset when the request names none; must be a `utf-` one. Default `'utf-8'`. Ignored with `bodyParser: 1`. */
  defaultCharset?: string
  /** Only accept objects and arrays. Default `true`. */
  strict?: boolean
  /** Passed to `JSON.parse` as its second argument. */
  reviver?: JsonReviver
}

export interface UrlencodedOptions extends BaseParserOptions {
  /** Parse with qs's rich syntax (nested objects, arrays). Default `false`; `true` with `bodyParser: 1`. */
  extended?: boolean
  /** Most parameters accepted. Default 1000. */
  parameterLimit?: number
  /** Deepest nesting with `extended`. Default 32. */
  depth?: number
  /** Charset when the request names none: `'utf-8'` or `'iso-8859-1'`. Default `'utf-8'`. Ignored with `bodyParser: 1` (utf-8 only). */
  defaultCharset?: string
  /** Honour a `utf8=✓` charset sentinel field. Ignored with `bodyParser: 1`. */
  charsetSentinel?: boolean
  /** Decode `&#...;` numeric entities in iso-8859-1 forms. Ignored with `bodyParser: 1`. */
  interpretNumericEntities?: boolean
}

export interface TextOptions extends BaseParserOptions {
  /** Charset when the request names none. Default `'utf-8'`. */
  defaultCharset?: string
}

export type RawOptions = BaseParserOptions

export type ParserKind = 'json' | 'urlencoded' | 'text' | 'raw'

/** A normalized parser: everything checked, ready to run on any request. */
export interface Parser {
  readonly kind: ParserKind
  /** The body-parser major this parser behaves as (co-body parsers: none). */
  readonly bodyParser?: BodyParserMajor
  readonly limit: number
  readonly inflate: boolean
  readonly timeout: number
  readonly verify: VerifyFunction | undefined
  /** Whether this parser takes the request, by its Content-Type. */
  matches(req: HeadersLike): boolean
  /** The charset to decode with, or null for raw bytes; throws 415 for a bad one. */
  charset(req: HeadersLike): string | null
  /** Turn the decoded bytes into `req.body`; throws body-parser's errors. */
  parse(buf: Buffer, charset: string | null): unknown
}

function base(kind: ParserKind, options: BaseParserOptions | undefined, defaultType: string) {
  const opts = options ?? {}
  if (typeof opts !== 'object') throw new TypeError(`${kind} options must be an object`)
  // Unknown keys are ignored, as body-parser ignores them: `json({ extended: true })`
  // is common in apps being migrated and must not stop them from starting.
  return {
    kind,
    bodyParser: parseBodyParserMajor(opts.bodyParser) ?? 2,
    limit: parseLimit(opts.limit, DEFAULT_BUFFERED_LIMIT),
    inflate: parseBoolean(opts.inflate, true, 'inflate'),
    timeout: parseTimeout(opts.timeout, DEFAULT_TIMEOUT),
    verify: parseFunction<VerifyFunction>(opts.verify, 'verify'),
    matches: typeChecker(opts.type, defaultType)!,
  }
}

/** A JSON parser with body-parser's `json()` options and results. */
export function createJsonParser(options?: JsonOptions): Parser {
  const common = base('json', options, 'application/json')
  const strict = parseBoolean(options?.strict, true, 'strict')
  const reviver = parseFunction<NonNullable<JsonOptions['reviver']>>(options?.reviver, 'reviver')
  // body-parser 1.x has no defaultCharset: a request without a charset is utf-8.
  const defaultCharset = common.bodyParser === 1 ? 'utf-8' : defaultCharsetOption(options?.defaultCharset)
  return {
    ...common,
    charset(req) {
      const charset = requestCharset(req) || defaultCharset
      // RFC 7159 §8.1: JSON is UTF-8, UTF-16 or UTF-32. An unknown utf- charset
      // is refused before reading too, so that verify never sees its body.
      if (!charset.startsWith('utf-') || !charsetExists(charset)) throw unsupportedCharset(charset)
      return charset
    },
    parse(buf, charset) {
      const text = decode(buf, charset ?? 'utf-8')
      return parseJson(text, strict, reviver)
    },
  }
}

/** A urlencoded parser with body-parser's `urlencoded()` options and results. */
export function createUrlencodedParser(options?: UrlencodedOptions): Parser {
  const common = base('urlencoded', options, 'application/x-www-form-urlencoded')
  const opts = options ?? {}
  if (common.bodyParser === 1) return { ...common, ...urlencodedV1(opts) }
  const extended = parseBoolean(opts.extended, false, 'extended')
  const charsetMessage = 'option defaultCharset must be either utf-8 or iso-8859-1'
  const defaultCharset = defaultCharsetOption(opts.defaultCharset, charsetMessage)
  if (defaultCharset !== 'utf-8' && defaultCharset !== 'iso-8859-1') throw new TypeError(charsetMessage)
  const parameterLimit = parameterLimitOption(opts.parameterLimit)
  const depth = extended ? depthOption(opts.depth) : 0
  const charsetSentinel = opts.charsetSentinel
  const interpretNumericEntities = opts.interpretNumericEntities

  return {
    ...common,
    charset(req) {
      const charset = requestCharset(req) || defaultCharset
      if (charset !== 'utf-8' && charset !== 'iso-8859-1') throw unsupportedCharset(charset)
      return charset
    },
    parse(buf, charset) {
      const text = decode(buf, charset ?? defaultCharset)
      if (text.length === 0) return {}
      const count = checkedParameterCount(text, parameterLimit)
      return parseQs(text, {
        allowPrototypes: true,
        arrayLimit: extended ? Math.max(100, count) : count,
        depth,
        charsetSentinel,
        interpretNumericEntities,
        charset: charset as 'utf-8' | 'iso-8859-1',
        parameterLimit,
        strictDepth: true,
      })
    },
  }
}

/**
 * The urlencoded parser of body-parser 1.x: `extended` by default; utf-8
 * forms only (any other charset is a 415); simple forms parsed with Node's
 * `querystring` (an object with a null prototype, as Express 4 apps get);
 * `defaultCharset`, `charsetSentinel` and `interpretNumericEntities` ignored.
 */
function urlencodedV1(opts: UrlencodedOptions): Pick<Parser, 'charset' | 'parse'> {
  const extended = opts.extended !== false
  const parameterLimit = parameterLimitOption(opts.parameterLimit)
  const depth = extended ? depthOption(opts.depth) : 0
  return {
    charset(req) {
      const charset = requestCharset(req) || 'utf-8'
      if (charset !== 'utf-8') throw unsupportedCharset(charset)
      return charset
    },
    parse(buf) {
      const text = decode(buf, 'utf-8')
      if (text.length === 0) return {}
      const count = checkedParameterCount(text, parameterLimit)
      if (!extended) return querystring.parse(text, undefined, undefined, { maxKeys: parameterLimit })
      return parseQs(text, {
        allowPrototypes: true,
        arrayLimit: Math.max(100, count),
        depth,
        strictDepth: true,
        parameterLimit,
      })
    },
  }
}

/** A `parameterLimit` option, as body-parser checks it (an explicit null is invalid, not the default). */
function parameterLimitOption(value: unknown): number {
  const limit = value === undefined ? 1000 : value
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 1) {
    throw new TypeError('option parameterLimit must be a positive number')
  }
  return Number.isFinite(limit) ? limit | 0 : limit
}

/** A `depth` option of an extended parser. Default 32. */
function depthOption(value: unknown): number {
  const depth = value ?? 32
  if (typeof depth !== 'number' || Number.isNaN(depth) || depth < 0) {
    throw new TypeError('option depth must be a zero or a positive number')
  }
  return depth
}

/** The number of parameters in `text`; 413 `parameters.too.many` past `limit`. */
function checkedParameterCount(text: string, limit: number): number {
  const count = countParameters(text, limit)
  // body-parser's parse errors carry the decoded body, this one included.
  if (count === undefined) throw tooManyParameters(text)
  return count
}

/** `qs.parse` with body-parser's errors: too deep is a 400 `querystring.parse.rangeError`. */
function parseQs(text: string, options: qs.IParseOptions & { strictDepth: boolean }): unknown {
  try {
    return qs.parse(text, options)
  } catch (err) {
    if (err instanceof RangeError) {
      throw depthExceeded(text)
    }
    throw withParseFailed(err as Error, text)
  }
}

/** A `defaultCharset` option, lower-cased; a missing or empty one is utf-8, as in body-parser. */
function defaultCharsetOption(value: string | undefined, message = 'option defaultCharset must be a string'): string {
  if (!value) return 'utf-8'
  if (typeof value !== 'string') throw new TypeError(message)
  return value.toLowerCase()
}

/** Number of `&`-separated parameters, or undefined once past `limit`. */
function countParameters(text: string, limit: number): number | undefined {
  let count = 1
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    if (++count > limit) return undefined
  }
  return count > limit ? undefined : count
}

/** A text parser with body-parser's `text()` options and results. */
export function createTextParser(options?: TextOptions): Parser {
  const common = base('text', options, 'text/plain')
  const defaultCharset = defaultCharsetOption(options?.defaultCharset)
  return {
    ...common,
    charset: (req) => textCharset(req, defaultCharset),
    parse(buf, charset) {
      return decode(buf, charset ?? defaultCharset)
    },
  }
}

/** A raw parser with body-parser's `raw()` options: `req.body` is the Buffer. */
export function createRawParser(options?: RawOptions): Parser {
  const common = base('raw', options, 'application/octet-stream')
  return {
    ...common,
    charset: () => null,
    parse: (buf) => buf,
  }
}
