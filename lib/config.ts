/**
 * The options of `streamShim()`, `streaming()` and `buffered()`, normalized
 * once when they are created. A marker's options override the shim's, option
 * by option; the merged result is computed once per (shim, marker) pair and
 * cached.
 */
import {
  Parser,
  createJsonParser,
  createRawParser,
  createTextParser,
  createUrlencodedParser,
  parseBodyParserMajor,
} from './parsers.js'
import type { BodyParserMajor, JsonOptions, RawOptions, TextOptions, UrlencodedOptions } from './parsers.js'
import type { Inflate } from './decode.js'
import { DEFAULT_DISCARD } from './unread-body.js'
import {
  DEFAULT_STREAMING_LIMIT,
  DEFAULT_TIMEOUT,
  assertKnownOptions,
  parseBoolean,
  parseLimit,
  parseTimeout,
  typeChecker,
  type ByteSize,
  type HeadersLike,
  type TypeMatcher,
} from './options.js'

/** Options of a streaming route. */
export interface StreamingOptions {
  /** Most bytes accepted, counted after decoding. Default `'1gb'`; `Infinity` for none. */
  limit?: ByteSize
  /** Media types accepted; others get 415 before the body is read. Default: any. */
  types?: TypeMatcher
  /**
   * Decode gzip, deflate and br in-stream (`true`, the default); refuse an
   * encoded body with 415 (`false`); or hand the bytes over as they came,
   * whatever their Content-Encoding, with `limit` counting them as sent
   * (`'pass'`: a proxy forwarding a body untouched, a store keeping it compressed).
   */
  inflate?: Inflate
  /** Longest idle gap between chunks, in ms, before 408 (`false` for none). Default 30000. */
  timeout?: number | false
  /**
   * Most bytes of a body the handler left unread that are read and thrown
   * away after the response, to keep the connection alive; a body with more
   * left gets its connection closed instead. Default `'256kb'`; `0` always
   * closes, `Infinity` always reads to the end (Node's own behaviour).
   */
  discard?: ByteSize
}

/** Options of buffered (legacy) routes: shared settings plus one entry per parser. */
export interface BufferedOptions {
  /**
   * Parse as body-parser 1.x (`1`: Express 4's bundled parsers; `req.body` is
   * `{}` when nothing was parsed, forms are `extended`) or 2.x (`2`) for every
   * parser that does not say. Default: 1 on an Express 4 app, else 2.
   */
  bodyParser?: BodyParserMajor
  /** Largest body, after decoding, for every parser that sets none. Default `'100kb'`. */
  limit?: ByteSize
  /** Decode gzip, deflate and br for every parser that does not say. Default `true`. */
  inflate?: boolean
  /** Idle gap between chunks, in ms, for every parser that does not say. Default 30000. */
  timeout?: number | false
  /** JSON bodies (`application/json`); `false` leaves them unread. Default `{}`. */
  json?: JsonOptions | false
  /** Form bodies (`application/x-www-form-urlencoded`); `false` leaves them unread. Default `{}`. */
  urlencoded?: UrlencodedOptions | false
  /** Text bodies (`text/plain`); `false` leaves them unread. Default `{}`. */
  text?: TextOptions | false
  /** Any other bodies as a Buffer (`application/octet-stream`); off unless given. Default `false`. */
  raw?: RawOptions | false
}

/** Options of `streamShim()`: buffered defaults plus defaults for streaming routes. */
export interface ShimOptions extends BufferedOptions {
  /** Defaults for every streaming route; a route's own options win. */
  streaming?: StreamingOptions
}

/** A streaming route's options, normalized. */
export interface StreamingConfig {
  readonly limit: number
  readonly types: ((req: HeadersLike) => boolean) | undefined
  readonly inflate: Inflate
  readonly timeout: number
  readonly discard: number
}

const STREAMING_KEYS = ['limit', 'types', 'inflate', 'timeout', 'discard'] as const
const BUFFERED_KEYS = ['bodyParser', 'limit', 'inflate', 'timeout', 'json', 'urlencoded', 'text', 'raw'] as const
const SHIM_KEYS = [...BUFFERED_KEYS, 'streaming'] as const

export const DEFAULT_STREAMING: StreamingConfig = Object.freeze({
  limit: DEFAULT_STREAMING_LIMIT,
  types: undefined,
  inflate: true,
  timeout: DEFAULT_TIMEOUT,
  discard: DEFAULT_DISCARD,
})

/** Check streaming options and apply them over `base`. */
export function streamingConfig(options: StreamingOptions | undefined, base = DEFAULT_STREAMING): StreamingConfig {
  if (options === undefined) return base
  if (typeof options !== 'object' || options === null) throw new TypeError('streaming options must be an object')
  assertKnownOptions(options, STREAMING_KEYS, 'streaming')
  return Object.freeze({
    limit: parseLimit(options.limit, base.limit),
    types: options.types === undefined ? base.types : typeChecker(options.types, undefined, 'types'),
    inflate: options.inflate === 'pass' ? 'pass' : parseBoolean(options.inflate, base.inflate as boolean, 'inflate'),
    timeout: parseTimeout(options.timeout, base.timeout),
    discard: parseLimit(options.discard, base.discard, 'discard'),
  })
}

/** Check buffered options, throwing a TypeError that names a bad one. */
export function checkBufferedOptions(
  options: BufferedOptions | undefined,
  keys: readonly string[] = BUFFERED_KEYS,
  what = 'buffered',
): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what} options must be an object`)
  assertKnownOptions(options, keys, what)
  createParsers(options)
}

/** Check `streamShim()` options. */
export function checkShimOptions(options: ShimOptions | undefined): void {
  checkBufferedOptions(options, SHIM_KEYS, 'streamShim')
  streamingConfig(options?.streaming)
}

type ParserEntry<O> = O | false | undefined

/** The options every parser entry inherits from its level (the shim's, or a route's). */
type SharedOptions = Pick<BufferedOptions, 'bodyParser' | 'limit' | 'inflate' | 'timeout'>

function sharedOf(options: BufferedOptions): SharedOptions {
  return { bodyParser: options.bodyParser, limit: options.limit, inflate: options.inflate, timeout: options.timeout }
}

/** `options` without its undefined values, so that spreading it never unsets an option. */
function defined<O extends object>(options: O | undefined): Partial<O> {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null) throw new TypeError('parser options must be an object or false')
  const out: Partial<O> = {}
  for (const key of Object.keys(options) as (keyof O)[]) if (options[key] !== undefined) out[key] = options[key]
  return out
}

/**
 * One parser's options, merged option by option. Highest first: the route's
 * entry, the route's shared options, the shim's entry, the shim's shared
 * options. `false` from the route turns the parser off; `false` from the shim
 * too, unless the route gives an entry of its own.
 */
function entry<O extends object>(
  base: ParserEntry<O>,
  override: ParserEntry<O>,
  baseShared: SharedOptions,
  overrideShared: SharedOptions,
  enabledByDefault: boolean,
): O | false {
  if (override === false) return false
  if (override === undefined && (base === false || (base === undefined && !enabledByDefault))) return false
  return {
    ...defined(baseShared),
    ...defined(base === false ? undefined : base),
    ...defined(overrideShared),
    ...defined(override),
  } as O
}

/**
 * The parsers for buffered routes, in the order they are tried: json,
 * urlencoded, text, raw. `override` (a `buffered()` route's options) wins
 * over `base` (the shim's), option by option: a route's `limit` beats the
 * shim's `json.limit`, and a route's `json: { strict: false }` keeps the
 * shim's `json.verify`.
 */
export function createParsers(base: BufferedOptions = {}, override: BufferedOptions = {}): Parser[] {
  parseBodyParserMajor(base.bodyParser)
  parseBodyParserMajor(override.bodyParser)
  const baseShared = sharedOf(base)
  const overrideShared = sharedOf(override)
  const parsers: Parser[] = []
  const json = entry(base.json, override.json, baseShared, overrideShared, true)
  if (json !== false) parsers.push(createJsonParser(json))
  const urlencoded = entry(base.urlencoded, override.urlencoded, baseShared, overrideShared, true)
  if (urlencoded !== false) parsers.push(createUrlencodedParser(urlencoded))
  const text = entry(base.text, override.text, baseShared, overrideShared, true)
  if (text !== false) parsers.push(createTextParser(text))
  const raw = entry(base.raw, override.raw, baseShared, overrideShared, false)
  if (raw !== false) parsers.push(createRawParser(raw))
  return parsers
}
