/**
 * Option normalization: every option is checked once, when a middleware or a
 * marker is created, and a bad one throws a TypeError that names it.
 */
import bytes from 'bytes'
import typeis from 'type-is'
import type { IncomingHttpHeaders } from 'node:http'

/** A byte count: a number of bytes or a string such as `'100kb'` or `'5gb'`. */
export type ByteSize = number | string

/**
 * A request or response as the user's own callback types it (an Express
 * `Request`, a Koa context's `req`, a plain `IncomingMessage`). `any`, so
 * that a callback typed for one framework fits where stream-shim calls it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type UserTyped = any

/** Media types to accept: a type-is pattern, a list of them, or a predicate. */
export type TypeMatcher = string | readonly string[] | ((req: UserTyped) => boolean)

/** The smallest request shape the core needs: its headers. */
export interface HeadersLike {
  headers: IncomingHttpHeaders
}

export const DEFAULT_BUFFERED_LIMIT = 100 * 1024
export const DEFAULT_STREAMING_LIMIT = 1024 * 1024 * 1024
export const DEFAULT_TIMEOUT = 30_000

/** Parse a `limit` option; `Infinity` is allowed and means "no limit". */
export function parseLimit(value: ByteSize | null | undefined, fallback: number, name = 'limit'): number {
  if (value === undefined || value === null) return fallback
  if (value === Infinity) return Infinity
  const parsed = typeof value === 'number' ? value : bytes.parse(value)
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    throw new TypeError(`option ${name} "${String(value)}" is invalid`)
  }
  return Math.floor(parsed)
}

/** The longest delay a Node timer keeps (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMEOUT = 2 ** 31 - 1

/** Parse a `timeout` option in milliseconds; `false` or `0` disables it. */
export function parseTimeout(value: number | false | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (value === false || value === 0) return 0
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`option timeout "${String(value)}" is invalid`)
  }
  if (value > MAX_TIMEOUT) {
    throw new TypeError(`option timeout "${value}" is over ${MAX_TIMEOUT} ms, the longest a timer can wait; use false for none`)
  }
  return value
}

/** Check an optional boolean option. */
export function parseBoolean(value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`option ${name} must be a boolean`)
  return value
}

/** Check an optional function option. */
export function parseFunction<T extends (...args: never[]) => unknown>(value: unknown, name: string): T | undefined {
  if (value === undefined || value === null || value === false) return undefined
  if (typeof value !== 'function') throw new TypeError(`option ${name} must be function`)
  return value as T
}

/**
 * Build a media-type predicate from a `type`/`types` option, with type-is
 * semantics (`'json'`, `'application/*'`, `'+json'` …).
 */
export function typeChecker(
  value: TypeMatcher | undefined,
  fallback: TypeMatcher | undefined,
  name = 'type',
): ((req: HeadersLike) => boolean) | undefined {
  const type = value ?? fallback
  if (type === undefined) return undefined
  if (typeof type === 'function') return type
  const list = typeof type === 'string' ? [type] : type
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string' && t.length > 0)) {
    throw new TypeError(`option ${name} must be a media type, a list of media types or a function`)
  }
  const types = [...list]
  // Most requests to one app repeat one Content-Type: remember the last answer.
  let lastHeader: string | undefined
  let lastAnswer = false
  return function matchesType(req) {
    const header = req.headers['content-type']
    if (header === undefined) return false
    if (header !== lastHeader) {
      lastAnswer = typeis.is(header, types) !== false
      lastHeader = header
    }
    return lastAnswer
  }
}

/** Whether a request has a body at all, by its headers (RFC 9112 §6.3). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || contentLength(headers) !== undefined
}

/**
 * The declared Content-Length, or undefined when there is none or it is not a
 * number. A length past 2^53 comes back rounded, which is enough: every limit
 * is at most 2^53 − 1, so it still compares as over it.
 */
export function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length']
  if (value === undefined || value === '') return undefined
  const length = Number(value)
  return Number.isInteger(length) && length >= 0 ? length : undefined
}

/** Reject unknown keys, so a misspelt option is a TypeError and not a silent default. */
export function assertKnownOptions(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`unknown ${what} option "${key}"`)
  }
}
