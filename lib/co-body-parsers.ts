/**
 * Body parsers with co-body semantics, as @koa/bodyparser and koa-bodyparser 4
 * use them: the same option names, defaults, media types, results and errors
 * for json, form, text and xml bodies. They are `Parser`s like those of
 * `parsers.ts`, so `buffer-request.ts` runs them with every integrity rule of
 * the core (limits while flowing and after inflation, length checks, aborts).
 *
 * Differences from body-parser that co-body users rely on, kept here:
 * - the body is decoded with the `encoding` option; the request's charset is ignored;
 * - strict JSON errors say "invalid JSON, only supports object and array", and a
 *   `__proto__` key is refused (400), as @hapi/bourne does for co-body;
 * - forms are parsed with `qs` and `allowDots: true`;
 * - parse errors are 400 with `expose: false` (Koa answers "Bad Request"), and
 *   carry the body text as `err.body`.
 */
import qs from 'qs'
import typeis from 'type-is'
import iconv from 'iconv-lite'
import { parseFailed } from './errors.js'
import {
  DEFAULT_TIMEOUT,
  assertKnownOptions,
  parseBoolean,
  parseLimit,
  parseTimeout,
  type ByteSize,
  type HeadersLike,
} from './options.js'
import type { Parser } from './parsers.js'
import { decodeText } from './text.js'

/** The body kinds co-body parses. */
export type CoBodyType = 'json' | 'form' | 'text' | 'xml'

/** Options of co-body-flavoured buffering (the names @koa/bodyparser uses). */
export interface CoBodyOptions {
  /** Which kinds of body to parse. Default `['json', 'form']`. */
  enableTypes?: readonly CoBodyType[]
  /** Charset every body is decoded with (the request's own charset is ignored, as in co-body). Default `'utf-8'`. */
  encoding?: string
  /** Largest JSON body, after inflation. Default `'1mb'`. */
  jsonLimit?: ByteSize
  /** Largest form body, after inflation. Default `'56kb'`. */
  formLimit?: ByteSize
  /** Largest text body, after inflation. Default `'1mb'`. */
  textLimit?: ByteSize
  /** Largest XML body (read as text), after inflation. Default `'1mb'`. */
  xmlLimit?: ByteSize
  /** Only accept JSON objects and arrays. Default `true`. */
  jsonStrict?: boolean
  /** koa-bodyparser 4's name for `jsonStrict` (the co-body option it passes on). Give one of the two. */
  strict?: boolean
  /** More media types per kind, added to the defaults (koa-bodyparser 4 semantics). */
  extendTypes?: Partial<Record<CoBodyType, string | readonly string[]>>
  /** Methods whose bodies are parsed. Default `['POST', 'PUT', 'PATCH']`. */
  parsedMethods?: readonly string[]
  /** Longest idle gap between body chunks, in ms (`false` for none). Default 30000. */
  timeout?: number | false
}

/** A normalized set of co-body parsers. */
export interface CoBodyParsers {
  /** The enabled parsers in the order they are tried: json, form, text, xml. */
  readonly list: readonly Parser[]
  /** The JSON parser taking any media type (for `detectJSON`), when JSON is enabled. */
  readonly anyJson: Parser | undefined
  /** The charset bodies are decoded with. */
  readonly encoding: string
  /** Upper-cased methods whose bodies are parsed. */
  readonly methods: ReadonlySet<string>
}

export const CO_BODY_KEYS = [
  'enableTypes',
  'encoding',
  'jsonLimit',
  'formLimit',
  'textLimit',
  'xmlLimit',
  'jsonStrict',
  'strict',
  'extendTypes',
  'parsedMethods',
  'timeout',
] as const

const TYPES: readonly CoBodyType[] = ['json', 'form', 'text', 'xml']

const DEFAULT_MEDIA_TYPES: Readonly<Record<CoBodyType, readonly string[]>> = {
  json: [
    'application/json',
    'application/json-patch+json',
    'application/vnd.api+json',
    'application/csp-report',
    'application/reports+json',
    'application/scim+json',
  ],
  form: ['application/x-www-form-urlencoded'],
  text: ['text/plain'],
  xml: ['text/xml', 'application/xml'],
}

const DEFAULT_LIMITS: Readonly<Record<CoBodyType, number>> = {
  json: 1024 * 1024,
  form: 56 * 1024,
  text: 1024 * 1024,
  xml: 1024 * 1024,
}

/**
 * Check co-body options, throwing a TypeError that names a bad one, and build
 * the parsers. `override` (a route's options) wins over `base`, key by key.
 */
export function createCoBodyParsers(base: CoBodyOptions = {}, override: CoBodyOptions = {}): CoBodyParsers {
  const opts: CoBodyOptions = {}
  for (const options of [base, override]) {
    if (typeof options !== 'object' || options === null) throw new TypeError('body options must be an object')
    assertKnownOptions(options, CO_BODY_KEYS, 'body')
    for (const [key, value] of Object.entries(withJsonStrict(options))) {
      if (value !== undefined) (opts as Record<string, unknown>)[key] = value
    }
  }

  const enabled = opts.enableTypes ?? ['json', 'form']
  if (!Array.isArray(enabled) || !enabled.every((t) => TYPES.includes(t))) {
    throw new TypeError(`option enableTypes must be a list of ${TYPES.map((t) => `'${t}'`).join(', ')}`)
  }
  if (opts.encoding !== undefined && typeof opts.encoding !== 'string') {
    throw new TypeError('option encoding must be a string')
  }
  const encoding = (opts.encoding ?? 'utf-8').toLowerCase()
  if (!iconv.encodingExists(encoding)) throw new TypeError(`option encoding "${encoding}" is not supported`)
  const strict = parseBoolean(opts.jsonStrict, true, 'jsonStrict')
  const timeout = parseTimeout(opts.timeout, DEFAULT_TIMEOUT)
  const extend = opts.extendTypes ?? {}
  if (typeof extend !== 'object' || extend === null) throw new TypeError('option extendTypes must be an object')
  for (const key of Object.keys(extend)) {
    if (!TYPES.includes(key as CoBodyType)) throw new TypeError(`option extendTypes has an unknown kind "${key}"`)
  }
  const methods = opts.parsedMethods ?? ['POST', 'PUT', 'PATCH']
  if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string')) {
    throw new TypeError('option parsedMethods must be a list of method names')
  }

  const limits = {
    json: parseLimit(opts.jsonLimit, DEFAULT_LIMITS.json, 'jsonLimit'),
    form: parseLimit(opts.formLimit, DEFAULT_LIMITS.form, 'formLimit'),
    text: parseLimit(opts.textLimit, DEFAULT_LIMITS.text, 'textLimit'),
    xml: parseLimit(opts.xmlLimit, DEFAULT_LIMITS.xml, 'xmlLimit'),
  }
  const mediaTypes = (type: CoBodyType): string[] => {
    const more = extend[type]
    if (more === undefined) return [...DEFAULT_MEDIA_TYPES[type]]
    const list = typeof more === 'string' ? [more] : more
    if (!Array.isArray(list) || !list.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new TypeError(`option extendTypes.${type} must be a media type or a list of them`)
    }
    return [...DEFAULT_MEDIA_TYPES[type], ...list]
  }

  const list: Parser[] = []
  let anyJson: Parser | undefined
  for (const type of TYPES) {
    const types = mediaTypes(type) // checked even when the kind is off
    if (!enabled.includes(type)) continue
    const common = { limit: limits[type], inflate: true, timeout, verify: undefined, charset: () => encoding }
    const matches = mediaTypeMatcher(types)
    if (type === 'json') {
      const parse = (buf: Buffer): unknown => parseCoJson(decodeText(buf, encoding), strict)
      list.push({ ...common, kind: 'json', matches, parse })
      anyJson = { ...common, kind: 'json', matches: () => true, parse }
    } else if (type === 'form') {
      list.push({ ...common, kind: 'urlencoded', matches, parse: (buf) => parseCoForm(decodeText(buf, encoding)) })
    } else {
      list.push({ ...common, kind: 'text', matches, parse: (buf) => decodeText(buf, encoding) })
    }
  }
  return Object.freeze({
    list: Object.freeze(list),
    anyJson,
    encoding,
    methods: new Set(methods.map((m) => m.toUpperCase())),
  })
}

/**
 * `options` with koa-bodyparser 4's `strict` moved to `jsonStrict`, so that a
 * route's `strict` overrides the shim's `jsonStrict` and the other way round.
 */
function withJsonStrict(options: CoBodyOptions): CoBodyOptions {
  if (options.strict === undefined) return options
  parseBoolean(options.strict, true, 'strict')
  if (options.jsonStrict !== undefined && options.jsonStrict !== options.strict) {
    throw new TypeError('options jsonStrict and strict (its koa-bodyparser 4 name) disagree: give one of them')
  }
  const { strict, ...rest } = options
  return { ...rest, jsonStrict: strict }
}

/** Content-Type matching as @koa/bodyparser does it (a trailing `;` is ignored). */
function mediaTypeMatcher(types: string[]): (req: HeadersLike) => boolean {
  // Most requests to one app repeat one Content-Type: remember the last answer.
  let lastHeader: string | undefined
  let lastAnswer = false
  return function matchesType(req) {
    const header = req.headers['content-type']
    if (header === undefined) return false
    if (header !== lastHeader) {
      lastAnswer = typeis.is(header.replace(/;$/, ''), types) !== false
      lastHeader = header
    }
    return lastAnswer
  }
}

const STRICT_JSON = /^[ \t\n\r]*(\[|\{)/
const SUSPECT_PROTO =
  /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/

/** JSON as co-body parses it; throws a 400 `entity.parse.failed` with co-body's messages. */
export function parseCoJson(text: string, strict: boolean): unknown {
  try {
    if (text.length === 0) return strict ? {} : text
    if (strict && !STRICT_JSON.test(text)) throw new SyntaxError('invalid JSON, only supports object and array')
    const value: unknown = JSON.parse(text)
    if (value !== null && typeof value === 'object' && mayHaveProtoKey(text)) refuseProtoKeys(value)
    return value
  } catch (err) {
    throw coBodyParseFailed(err as Error, text)
  }
}

/**
 * Whether `text` may have a `"__proto__":` key, spelt plainly or with `\\u`
 * escapes. The cheap substring checks rule most bodies out before the
 * regular expression runs.
 */
function mayHaveProtoKey(text: string): boolean {
  return (text.includes('proto') || text.includes('\\u')) && SUSPECT_PROTO.test(text)
}

/** A form body as co-body parses it. */
export function parseCoForm(text: string): unknown {
  try {
    return qs.parse(text, { allowDots: true })
  } catch (err) {
    throw coBodyParseFailed(err as Error, text)
  }
}

function refuseProtoKeys(root: object): void {
  let level: object[] = [root]
  while (level.length > 0) {
    const next: object[] = []
    for (const node of level) {
      if (Object.hasOwn(node, '__proto__')) throw new SyntaxError('Object contains forbidden prototype property')
      for (const value of Object.values(node)) if (value !== null && typeof value === 'object') next.push(value)
    }
    level = next
  }
}

/** co-body's parse errors are 400s Koa does not expose ("Bad Request"). */
function coBodyParseFailed(err: Error, text: string) {
  return parseFailed(err, text, { expose: false })
}
