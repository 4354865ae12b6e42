/**
 * The options of `streamShim()`, `streaming()` and `buffered()`, normalized
 * once when they are created. A marker's options override the shim's; the
 * merged result is computed once per (shim, marker) pair and cached.
 */
import { Parser, createJsonParser, createRawParser, createTextParser, createUrlencodedParser } from './parsers.js'
import type { BodyParserMajor, JsonOptions, RawOptions, TextOptions, UrlencodedOptions } from './parsers.js'
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
  /** Decode gzip, deflate and br in-stream. Default `true`. */
  inflate?: boolean
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
  readonly inflate: boolean
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
    inflate: parseBoolean(options.inflate, base.inflate, 'inflate'),
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

function entry<O extends object>(
  base: ParserEntry<O>,
  override: ParserEntry<O>,
  shared: { bodyParser?: BodyParserMajor; limit?: ByteSize; inflate?: boolean; timeout?: number | false },
  enabledByDefault: boolean,
): O | false {
  const chosen = override !== undefined ? override : base
  if (chosen === false) return false
  if (chosen === undefined && !enabledByDefault) return false
  if (chosen !== undefined && (typeof chosen !== 'object' || chosen === null)) {
    throw new TypeError('parser options must be an object or false')
  }
  const defined = Object.fromEntries(Object.entries(shared).filter(([, v]) => v !== undefined))
  return { ...defined, ...(chosen ?? {}) } as O
}

/**
 * The parsers for buffered routes, in the order they are tried: json,
 * urlencoded, text, raw. `override` (a `buffered()` route's options) wins
 * over `base` (the shim's), entry by entry.
 */
export function createParsers(base: BufferedOptions = {}, override: BufferedOptions = {}): Parser[] {
  const shared = {
    bodyParser: override.bodyParser ?? base.bodyParser,
    limit: override.limit ?? base.limit,
    inflate: override.inflate ?? base.inflate,
    timeout: override.timeout ?? base.timeout,
  }
  const parsers: Parser[] = []
  const json = entry(base.json, override.json, shared, true)
  if (json !== false) parsers.push(createJsonParser(json))
  const urlencoded = entry(base.urlencoded, override.urlencoded, shared, true)
  if (urlencoded !== false) parsers.push(createUrlencodedParser(urlencoded))
  const text = entry(base.text, override.text, shared, true)
  if (text !== false) parsers.push(createTextParser(text))
  const raw = entry(base.raw, override.raw, shared, false)
  if (raw !== false) parsers.push(createRawParser(raw))
  return parsers
}
