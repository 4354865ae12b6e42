/**
 * Frozen response headers: once a handler freezes a header, setting or
 * removing it (`setHeader`, `removeHeader`, `appendHeader`, `writeHead` with
 * headers, and every framework helper built on them) throws `header.frozen`.
 * The guards live on the response object itself, so they hold against any
 * middleware, whatever framework it was written for.
 */
import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http'
import { headerFrozen } from './errors.js'

/** A Node response, HTTP/1 (`ServerResponse`) or HTTP/2 compatibility (`Http2ServerResponse`). */
export interface HeaderTarget {
  statusCode: number
  readonly headersSent: boolean
  getHeader(name: string): OutgoingHttpHeader | undefined
  setHeader(name: string, value: OutgoingHttpHeader): unknown
  removeHeader(name: string): void
  writeHead(...args: unknown[]): unknown
  appendHeader?(name: string, value: OutgoingHttpHeader): unknown
}

interface FrozenState {
  /** Lower-case name → the name as frozen, and its value (`undefined`: must stay absent). */
  headers: Map<string, { name: string; value: string | undefined }>
  /** Set when the response became an error response: the freezes no longer apply. */
  lifted: boolean
}

const kFrozen: unique symbol = Symbol.for('stream-shim.frozen-headers') as never
type Guarded = HeaderTarget & { [kFrozen]?: FrozenState }

/** Headers a body-less (204, 304) response may drop whatever is frozen: they describe no body. */
const BODY_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding'])

/** A header value as one comparable string (`undefined` for absent). */
function normalize(value: OutgoingHttpHeader | undefined): string | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.map(String).join(', ') : String(value)
}

/**
 * Freeze the header `name` on `res`: with `value`, set it first; without,
 * keep what it holds now (absent stays absent). `Content-Encoding` frozen
 * absent (or as `identity`) means "send this body as it is": the header is
 * removed and `no-transform` is added to Cache-Control (unless Cache-Control
 * is frozen), which `compression` and `koa-compress` honour.
 *
 * @example
 * freezeHeader(res, 'Cache-Control', 'no-cache')
 * res.setHeader('Cache-Control', 'max-age=60')   // throws header.frozen
 */
export function freezeHeader(res: HeaderTarget, name: string, value?: OutgoingHttpHeader): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('freezeHeader() needs a header name')
  const key = name.toLowerCase()
  const state = guard(res as Guarded)
  const existing = state.headers.get(key)
  if (existing !== undefined && !state.lifted) {
    if (value !== undefined && normalize(value) !== existing.value) throw headerFrozen(existing.name, 'set again')
    return
  }
  if (key === 'content-encoding' && (value === undefined || normalize(value)?.toLowerCase() === 'identity')) {
    if (res.getHeader(name) === undefined || normalize(res.getHeader(name))?.toLowerCase() === 'identity') {
      res.removeHeader(name)
      if (!state.headers.has('cache-control')) addNoTransform(res)
      value = undefined
    }
  } else if (value !== undefined) {
    res.setHeader(name, value)
  }
  state.headers.set(key, { name, value: normalize(value ?? res.getHeader(name)) })
}

/**
 * Whether the header `name` is frozen on `res` (and still applies: an error
 * response lifts the freezes).
 *
 * @example
 * if (!isHeaderFrozen(res, 'ETag')) res.setHeader('ETag', computeTag(body))
 */
export function isHeaderFrozen(res: HeaderTarget, name: string): boolean {
  const state = (res as Guarded)[kFrozen]
  return state !== undefined && !state.lifted && state.headers.has(String(name).toLowerCase())
}

/**
 * Lift every freeze on `res`: it is becoming an error response, which
 * replaces the response the headers were frozen for.
 */
export function liftFrozenHeaders(res: HeaderTarget): void {
  const state = (res as Guarded)[kFrozen]
  if (state !== undefined) state.lifted = true
}

function addNoTransform(res: HeaderTarget): void {
  const current = normalize(res.getHeader('cache-control'))
  if (current === undefined || current === '') res.setHeader('Cache-Control', 'no-transform')
  else if (!/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(current)) res.setHeader('Cache-Control', `${current}, no-transform`)
}

/** Install the guards on `res` once; return its state. */
function guard(res: Guarded): FrozenState {
  const found = res[kFrozen]
  if (found !== undefined) return found
  const state: FrozenState = { headers: new Map(), lifted: false }
  Object.defineProperty(res, kFrozen, { value: state, configurable: true })

  const frozen = (name: unknown): { name: string; value: string | undefined } | undefined =>
    state.lifted || typeof name !== 'string' ? undefined : state.headers.get(name.toLowerCase())

  const setHeader = res.setHeader
  res.setHeader = function setHeader_(name: string, value: OutgoingHttpHeader) {
    const entry = frozen(name)
    if (entry !== undefined && normalize(value) !== entry.value) throw headerFrozen(entry.name, 'set')
    return setHeader.call(this, name, value)
  }
  const removeHeader = res.removeHeader
  res.removeHeader = function removeHeader_(name: string) {
    const entry = frozen(name)
    if (entry !== undefined && entry.value !== undefined) {
      const bodyless = this.statusCode === 204 || this.statusCode === 304
      if (!(bodyless && BODY_HEADERS.has(name.toLowerCase()))) throw headerFrozen(entry.name, 'removed')
    }
    return removeHeader.call(this, name)
  }
  const appendHeader = res.appendHeader
  if (typeof appendHeader === 'function') {
    res.appendHeader = function appendHeader_(name: string, value: OutgoingHttpHeader) {
      const entry = frozen(name)
      if (entry !== undefined) throw headerFrozen(entry.name, 'appended to')
      return appendHeader.call(this, name, value)
    }
  }
  const writeHead = res.writeHead
  res.writeHead = function writeHead_(this: HeaderTarget, ...args: unknown[]) {
    if (Number(args[0]) >= 400 && this.statusCode < 400) liftFrozenHeaders(this)
    const headers = typeof args[1] === 'string' ? args[2] : args[1]
    for (const [name, value] of headerEntries(headers)) {
      const entry = frozen(name)
      if (entry !== undefined && normalize(value) !== entry.value) throw headerFrozen(entry.name, 'set')
    }
    return writeHead.apply(this, args)
  }
  liftOnErrorStatus(res)
  return state
}

/** The [name, value] pairs of `writeHead()`'s headers argument: an object, a flat array, or a list of pairs. */
function headerEntries(headers: unknown): [string, OutgoingHttpHeader][] {
  if (headers === undefined || headers === null) return []
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) return headers as [string, OutgoingHttpHeader][]
    const pairs: [string, OutgoingHttpHeader][] = []
    for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), headers[i + 1] as OutgoingHttpHeader])
    return pairs
  }
  return Object.entries(headers as OutgoingHttpHeaders).filter((entry): entry is [string, OutgoingHttpHeader] => entry[1] !== undefined)
}

/**
 * Watch `res.statusCode`: set to an error status (400 and up) from a
 * non-error one, the response is being replaced by an error response
 * (Express's final handler, an error middleware), and the freezes lift so
 * the error response can be written.
 */
function liftOnErrorStatus(res: Guarded): void {
  let owner: object | null = res
  let descriptor: PropertyDescriptor | undefined
  while (owner !== null && descriptor === undefined) {
    descriptor = Object.getOwnPropertyDescriptor(owner, 'statusCode')
    if (descriptor === undefined) owner = Object.getPrototypeOf(owner) as object | null
  }
  let stored = res.statusCode
  const get = descriptor?.get ?? (() => stored)
  const set =
    descriptor?.set ??
    ((code: number) => {
      stored = code
    })
  Object.defineProperty(res, 'statusCode', {
    configurable: true,
    enumerable: true,
    get() {
      return get.call(this) as number
    },
    set(code: number) {
      if (Number(code) >= 400 && (get.call(this) as number) < 400) liftFrozenHeaders(this as HeaderTarget)
      set.call(this, code)
    },
  })
}
