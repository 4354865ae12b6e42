/**
 * The streaming reverse proxy behind the adapters' `proxy()`: one request
 * forwarded to an upstream as it arrives, its response streamed back.
 *
 * Ownership: `forward()` owns the outgoing request and the upstream
 * response body. It aborts the outgoing request when the client goes away,
 * and destroys the client's response (never a clean end) when the upstream
 * fails after its response began. A failure before that is handed back to
 * the adapter, which passes it to the framework's error handling: the body's
 * own error (413, 408, 400) when the client caused it, 502 or 504 otherwise.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { Http2ServerResponse } from 'node:http2'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Agent, type Dispatcher } from 'undici'
import type { BodyStream } from './body-stream.js'
import { continuePending } from './continue.js'
import { isBodyError, upstreamFailed, upstreamTimedOut, type BodyError } from './errors.js'
import { endToEnd, endToEndRaw } from './hop-by-hop.js'
import { DEFAULT_TIMEOUT, assertKnownOptions, parseBoolean, parseFunction, parseTimeout, type UserTyped } from './options.js'
import { requestHasBody } from './request-state.js'
import type { StreamingOptions } from './config.js'

/**
 * Options of `proxy()`, shared by the Express and Koa adapters.
 *
 * @example
 * const options: ProxyOptions = { limit: '5gb', timeout: 10_000, via: 'edge', rewritePath: (path) => path.slice(4) }
 */
export interface ProxyOptions<Req = UserTyped> extends Omit<StreamingOptions, 'timeout' | 'inflate'> {
  /**
   * Longest wait, in ms, for the upstream's response headers (counted once
   * the request body has been sent) and between two chunks of its body:
   * 504 before the response, a destroyed connection after. `false` for
   * none. Default 30000.
   */
  timeout?: number | false
  /** Longest idle gap between two chunks of the client's body, in ms, before 408 (`false` for none). Default 30000. */
  clientTimeout?: number | false
  /** Add `X-Forwarded-For` (appended), `X-Forwarded-Proto` and `X-Forwarded-Host`. Default `true`. */
  xForwarded?: boolean
  /** The pseudonym this proxy adds to `Via` in both directions, or `false` for none. Default `'stream-shim'`. */
  via?: string | false
  /** Send the client's `Host` upstream rather than the target's. Default `false`. */
  preserveHost?: boolean
  /**
   * Rewrite the request's path (and query) before it is joined to a fixed
   * target's path: `(path, req) => newPath`. Not used with a target function,
   * which gives the whole URL.
   */
  rewritePath?: (path: string, req: Req) => string
  /** The undici dispatcher (an `Agent`, a `Pool`, …) for outgoing requests. Default: one Agent shared by every `proxy()`. */
  dispatcher?: Dispatcher
}

/** `proxy()`'s options, normalized once when it is created. */
export interface ProxyConfig {
  /** The route's streaming options (passed to `streaming()`). */
  readonly streaming: StreamingOptions
  readonly timeout: number
  readonly xForwarded: boolean
  readonly via: string | false
  readonly preserveHost: boolean
  readonly rewritePath: ((path: string, req: UserTyped) => string) | undefined
  readonly dispatcher: Dispatcher | undefined
}

const PROXY_KEYS = [
  'limit',
  'types',
  'discard',
  'timeout',
  'clientTimeout',
  'xForwarded',
  'via',
  'preserveHost',
  'rewritePath',
  'dispatcher',
] as const

/** Check `proxy()` options, throwing a TypeError that names a bad one. */
export function proxyConfig(options: ProxyOptions = {}): ProxyConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError('proxy options must be an object')
  assertKnownOptions(options, PROXY_KEYS, 'proxy')
  const { limit, types, discard, clientTimeout, via, dispatcher } = options
  if (via !== undefined && via !== false && (typeof via !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(via))) {
    throw new TypeError('option via must be a token (letters, digits, -._~ …) or false')
  }
  if (dispatcher !== undefined && (typeof dispatcher !== 'object' || dispatcher === null || typeof dispatcher.request !== 'function')) {
    throw new TypeError('option dispatcher must be an undici Dispatcher')
  }
  // The body is forwarded as it came, whatever its Content-Encoding: never decoded, never refused for it.
  const streaming: StreamingOptions = { limit, types, discard, timeout: clientTimeout, inflate: 'pass' }
  for (const key of Object.keys(streaming) as (keyof StreamingOptions)[]) if (streaming[key] === undefined) delete streaming[key]
  return Object.freeze({
    streaming,
    timeout: parseTimeout(options.timeout, DEFAULT_TIMEOUT),
    xForwarded: parseBoolean(options.xForwarded, true, 'xForwarded'),
    via: via ?? 'stream-shim',
    preserveHost: parseBoolean(options.preserveHost, false, 'preserveHost'),
    rewritePath: parseFunction<(path: string, req: UserTyped) => string>(options.rewritePath, 'rewritePath'),
    dispatcher,
  })
}

/**
 * A proxy target: a fixed base URL, or a function giving the whole URL for
 * each request (`req` on Express, `ctx` on Koa).
 *
 * @example
 * const byTenant: ProxyTarget<Request> = (req) => `http://${req.params.tenant}.internal:8080${req.url}`
 */
export type ProxyTarget<Req> = string | URL | ((req: Req) => string | URL | Promise<string | URL>)

/** Check a target when `proxy()` is created: a fixed one must be an absolute http(s) URL. */
export function checkTarget<Req>(target: ProxyTarget<Req>): ProxyTarget<Req> {
  if (typeof target === 'function') return target
  if (typeof target !== 'string' && !(target instanceof URL)) throw new TypeError('proxy() needs a target URL or a function giving one')
  return checkUrl(target)
}

function checkUrl(value: string | URL): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`proxy target "${String(value)}" is not an absolute URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`proxy target "${url.href}" is not http: or https:`)
  return url
}

/**
 * The URL to forward a request to: a function target's own answer, or the
 * fixed target's path joined with the request's (`originalUrl`, rewritten).
 */
export async function targetUrl<Req>(target: ProxyTarget<Req>, from: Req, originalUrl: string, config: ProxyConfig): Promise<URL> {
  if (typeof target === 'function') return checkUrl(await target(from))
  const base = target as URL
  const path = config.rewritePath === undefined ? originalUrl : config.rewritePath(originalUrl, from)
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError('rewritePath() must return a path starting with "/"')
  const url = new URL(base.href)
  const query = path.indexOf('?')
  url.pathname = base.pathname.replace(/\/$/, '') + (query === -1 ? path : path.slice(0, query))
  url.search = query === -1 ? '' : path.slice(query)
  return url
}

let sharedAgent: Agent | undefined

/** The response a proxy writes to: Node's HTTP/1 one, or the HTTP/2 compatibility one. */
export type ProxyResponse = ServerResponse | Http2ServerResponse

export interface ForwardRequest {
  req: IncomingMessage
  res: ProxyResponse
  /**
   * The request's body: its BodyStream on a streaming route, the request
   * itself replaying what the shim buffered on a buffered one, or undefined
   * for none.
   */
  body: BodyStream | Readable | undefined
  url: URL
  config: ProxyConfig
  /** Called just before the upstream's response is written (Koa hands the response over here). */
  beforeResponse?: () => void
}

/** What came back from the upstream, whichever client fetched it. */
interface UpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Readable
}

/**
 * Forward `req` to `url` and stream the upstream's response into `res`.
 * Resolves once the exchange is over (answered, or cut off); rejects only
 * with an error nothing has been written for: the body's own error when the
 * client caused it, else `proxy.upstream.failed` (502) or
 * `proxy.upstream.timeout` (504).
 */
export async function forward(request: ForwardRequest): Promise<void> {
  const { req, res, config } = request
  const body = request.body
  const abort = new AbortController()
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort(new Error('the client went away'))
  }
  res.once('close', onClose)
  let upstream: UpstreamResponse
  try {
    const headers = forwardedHeaders(req, request.url, config)
    const withBody = body !== undefined && requestHasBody(req)
    upstream =
      withBody && isBodyStream(body) && continuePending(req) && /^100-continue$/i.test(req.headers.expect ?? '')
        ? await requestWithContinue(req, request.url, headers, body, config, abort.signal)
        : await requestWithUndici(req, request.url, headers, withBody ? body : undefined, config, abort.signal)
  } catch (err) {
    res.removeListener('close', onClose)
    if (abort.signal.aborted) return // the client is gone: nobody to answer
    throw failure(err, body, config)
  }
  try {
    request.beforeResponse?.()
    writeHead(res, upstream, config)
    await pipeline(upstream.body, res as Writable)
  } catch {
    // Failed after the response began: the client must not take it as complete.
    upstream.body.destroy()
    if (!res.destroyed) res.destroy()
  } finally {
    res.removeListener('close', onClose)
  }
}

/** A BodyStream (matched by shape: two copies of the package may be loaded), not a plain request. */
function isBodyStream(body: Readable): body is BodyStream {
  return typeof (body as Partial<BodyStream>).accept === 'function' && typeof (body as Partial<BodyStream>).bytesReceived === 'number'
}

/** The error to answer with for a request that failed before its response. */
function failure(err: unknown, body: Readable | undefined, config: ProxyConfig): BodyError {
  const bodyError = body?.errored
  if (isBodyError(bodyError)) return bodyError // 413, 408, 400: the client's own doing
  if (isBodyError(err)) return err
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return upstreamTimedOut(config.timeout)
  return upstreamFailed(err instanceof Error ? err : new Error(String(err)))
}

/** The request's end-to-end headers plus this hop's X-Forwarded-* and Via, as a flat list. */
function forwardedHeaders(req: IncomingMessage, url: URL, config: ProxyConfig): string[] {
  const drop = new Set(['expect', 'via'])
  if (!config.preserveHost) drop.add('host')
  if (config.xForwarded) for (const name of ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']) drop.add(name)
  const headers = endToEndRaw(req.rawHeaders, drop)
  const host = req.headers.host ?? (req.headers[':authority'] as string | undefined)
  if (config.preserveHost && req.headers.host === undefined && host !== undefined) headers.push('host', host)
  else if (!config.preserveHost) headers.push('host', url.host)
  if (config.xForwarded) {
    const prior = req.headers['x-forwarded-for']
    const client = req.socket?.remoteAddress ?? ''
    headers.push('x-forwarded-for', prior === undefined || prior === '' ? client : `${prior}, ${client}`)
    const encrypted = (req.socket as { encrypted?: boolean } | null)?.encrypted === true
    headers.push('x-forwarded-proto', encrypted ? 'https' : 'http')
    if (host !== undefined) headers.push('x-forwarded-host', host)
  }
  if (config.via !== false) {
    const own = `${req.httpVersionMajor === 2 ? '2' : req.httpVersion} ${config.via}`
    const prior = req.headers.via
    headers.push('via', prior === undefined || prior === '' ? own : `${prior}, ${own}`)
  }
  return headers
}

/** Write the upstream's status and end-to-end headers, with this hop added to Via. */
function writeHead(res: ProxyResponse, upstream: UpstreamResponse, config: ProxyConfig): void {
  res.statusCode = upstream.status
  for (const [name, value] of endToEnd(upstream.headers)) {
    if (name === 'via') continue
    res.setHeader(name, value)
  }
  const prior = upstream.headers.via
  if (config.via !== false) {
    const own = `1.1 ${config.via}`
    res.setHeader('via', prior === undefined ? own : `${String(prior)}, ${own}`)
  } else if (prior !== undefined) {
    res.setHeader('via', prior)
  }
}

/** The forwarded body: the wire bytes, read as the upstream asks for them. */
function wireBody(body: BodyStream | Readable): Readable {
  if (isBodyStream(body)) body.accept()
  return body
}

async function requestWithUndici(
  req: IncomingMessage,
  url: URL,
  headers: string[],
  body: BodyStream | Readable | undefined,
  config: ProxyConfig,
  signal: AbortSignal,
): Promise<UpstreamResponse> {
  const dispatcher = config.dispatcher ?? (sharedAgent ??= new Agent())
  const response = await dispatcher.request({
    origin: url.origin,
    path: url.pathname + url.search,
    method: req.method as Dispatcher.HttpMethod,
    headers,
    body: body === undefined ? null : wireBody(body),
    signal,
    headersTimeout: config.timeout,
    bodyTimeout: config.timeout,
  })
  return { status: response.statusCode, headers: response.headers, body: response.body }
}

/**
 * `Expect: 100-continue` end to end. undici refuses an `Expect` header (it
 * cannot wait for an interim response before sending a body), so this one
 * path uses `node:http`: the upstream's `100 Continue` ('continue') is what
 * lets the client send its body (reading the body stream sends the client's
 * 100, see continue.ts), and an upstream's final answer before it (401, 413,
 * 417) is relayed while the client's body is still unsent.
 */
function requestWithContinue(
  req: IncomingMessage,
  url: URL,
  headers: string[],
  body: BodyStream,
  config: ProxyConfig,
  signal: AbortSignal,
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http
    const upstream = client.request(url, { method: req.method, headers: [...headers, 'expect', '100-continue'], signal })
    let timer: NodeJS.Timeout | undefined
    const arm = (): void => {
      clearTimeout(timer)
      if (config.timeout > 0) timer = setTimeout(() => upstream.destroy(timeoutError()), config.timeout)
    }
    const settle = (): void => {
      clearTimeout(timer)
      upstream.removeListener('finish', arm)
    }
    arm()
    upstream.once('continue', () => {
      clearTimeout(timer) // the body now flows: the wait for the answer starts when it is sent
      upstream.once('finish', arm)
      pipeline(wireBody(body), upstream).catch((err: unknown) => upstream.destroy(err as Error))
    })
    upstream.once('response', (response) => {
      settle()
      if (config.timeout > 0) response.setTimeout(config.timeout, () => response.destroy(timeoutError()))
      // Answered before the body was asked for: the client never sends it, and this request is dropped after the response.
      response.once('end', () => {
        if (!body.accepted) upstream.destroy()
      })
      resolve({ status: response.statusCode ?? 502, headers: response.headers, body: response })
    })
    upstream.once('error', (err) => {
      settle()
      reject(err)
    })
    upstream.flushHeaders()
  })
}

/** An error undici would give for a late response, so that both clients map to 504 alike. */
function timeoutError(): Error {
  return Object.assign(new Error('upstream response timed out'), { code: 'UND_ERR_HEADERS_TIMEOUT' })
}

/** Close the shared Agent's connections (tests use it; not exported from the package). */
export async function closeSharedAgent(): Promise<void> {
  const agent = sharedAgent
  sharedAgent = undefined
  await agent?.close()
}
