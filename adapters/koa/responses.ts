/**
 * Streaming responses and frozen headers for Koa 2 and 3 (HTTP/1.1 and
 * `node:http2`): `sendStream()`, the `streamingResponses()` middleware, and
 * `ctx.freezeHeader()` / `ctx.isHeaderFrozen()`.
 */
import type { Context, Next } from 'koa'
import type { OutgoingHttpHeader } from 'node:http'
import { Stream } from 'node:stream'
import { freezeHeader as freeze, isHeaderFrozen as frozen, liftFrozenHeaders, type HeaderTarget } from '../../lib/frozen-headers.js'
import { modeOf } from '../../lib/request-state.js'
import { responseStreaming } from '../../lib/errors.js'
import { addWrapper, composedWrapper, isStreamingResponse, markStreaming } from '../../lib/response-wrappers.js'
import {
  ResponseBody,
  isFetchResponse,
  responseHead,
  type ResponseChunk,
  type ResponseSource,
  type StreamTarget,
} from '../../lib/send-stream.js'

declare module 'koa' {
  interface DefaultContext {
    /** Freeze a response header (installed by `streamingResponses()`); see `freezeHeader()`. */
    freezeHeader(name: string, value?: OutgoingHttpHeader): void
    /** Whether a response header is frozen (installed by `streamingResponses()`). */
    isHeaderFrozen(name: string): boolean
  }
  interface Response {
    /** Freeze a header (installed by `streamingResponses()`); see `freezeHeader()`. */
    freezeHeader(name: string, value?: OutgoingHttpHeader): void
    /** Whether a header is frozen (installed by `streamingResponses()`). */
    isHeaderFrozen(name: string): boolean
    /**
     * The whole body as bytes, for a buffered response (installed by
     * `streamingResponses()`); throws `response.streaming` for a streaming one.
     */
    readonly content: Buffer | undefined
  }
}

/** Options of `sendStream()`. */
export interface KoaSendStreamOptions {
  /** Send the body exactly as the source produces it: registered wrappers are not applied. Default `false`. */
  frozen?: boolean
}

/** A wrapper registered with `streamingResponses()`: gets the body, returns the body to send instead. */
export type KoaBodyWrapper = (body: AsyncIterable<Buffer>, ctx: Context) => AsyncIterable<ResponseChunk>

/**
 * Make `source` (an async iterable, a Node `Readable`, a web
 * `ReadableStream`, or a fetch `Response`, whose status and headers are used)
 * the streaming body of `ctx`: Koa pipes it with backpressure, each chunk
 * flushed through koa-compress, through the wrappers `streamingResponses()`
 * registered. The source is closed when the client goes away; a source that
 * fails after producing bytes, or that misses the Content-Length declared
 * before it is sent, resets the connection (HTTP/1) or stream (HTTP/2), never
 * ends the response cleanly. Returns the body stream set on `ctx.body`.
 *
 * @example
 * router.get('/export.ndjson', streaming(async (ctx) => {
 *   ctx.type = 'application/x-ndjson'
 *   sendStream(ctx, rowsAsNdjson(db.query('select * from orders')))
 * }))
 */
export function sendStream(ctx: Context, source: ResponseSource, options: KoaSendStreamOptions = {}): ResponseBody {
  if (isFetchResponse(source)) {
    const head = responseHead(source)
    ctx.status = head.status
    for (const [name] of head.headers) ctx.remove(name)
    for (const [name, value] of head.headers) ctx.append(name, value)
    source = source.body ?? []
  }
  markStreaming(ctx)
  const wrap = options.frozen === true ? undefined : composedWrapper(ctx)
  const body = new ResponseBody(ctx.res as unknown as StreamTarget, source, {
    wrap,
    // Koa 2 would answer 500 from the stream's 'error'; Koa 3 pipes with
    // pipeline(), which would reset the connection instead: answer alike on both.
    onEarlyError: (err) => ctx.onerror(err),
  })
  ctx.body = body
  return body
}

/**
 * Freeze the response header `name` (setting it to `value` first if given):
 * from then on `ctx.set`, `ctx.remove`, `ctx.append` and any `setHeader`,
 * `removeHeader` or `writeHead` on it throw `header.frozen`, until the
 * response becomes an error response (Koa's error handler lifts the
 * freezes). `Content-Encoding` frozen without a value means "no compression"
 * (koa-compress is told with `ctx.compress = false`).
 *
 * @example
 * freezeHeader(ctx, 'Cache-Control', 'no-cache')
 */
export function freezeHeader(ctx: Context, name: string, value?: OutgoingHttpHeader): void {
  liftOnKoaError(ctx)
  freeze(ctx.res as unknown as HeaderTarget, name, value)
  if (String(name).toLowerCase() === 'content-encoding' && !ctx.res.hasHeader('Content-Encoding')) {
    ;(ctx as { compress?: boolean }).compress = false
  }
}

/**
 * Whether the response header `name` is frozen on `ctx`.
 *
 * @example
 * if (!isHeaderFrozen(ctx, 'ETag')) ctx.etag = tag
 */
export function isHeaderFrozen(ctx: Context, name: string): boolean {
  return frozen(ctx.res as unknown as HeaderTarget, name)
}

const kLiftInstalled = Symbol('stream-shim.lift-on-koa-error')

/** Koa's error handler removes every header before answering: an error response lifts the freezes first. */
function liftOnKoaError(ctx: Context): void {
  const holder = ctx as Context & { [kLiftInstalled]?: true }
  if (holder[kLiftInstalled] === true) return
  holder[kLiftInstalled] = true
  const onerror = ctx.onerror
  ctx.onerror = function onerror_(this: Context, err: Error | null) {
    if (err != null && !ctx.headerSent) liftFrozenHeaders(ctx.res as unknown as HeaderTarget)
    return onerror.call(this, err as Error)
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ResponseChunk> {
  return value !== null && typeof value === 'object' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream === 'function' && value instanceof ReadableStream
}

/**
 * Middleware that gives `ctx` and `ctx.response` `freezeHeader()` and
 * `isHeaderFrozen()`, and `ctx.response.content`; given a `wrapper`, registers
 * it for every streaming response below it (wrappers compose in registration
 * order). Below it, `ctx.body =` a web `ReadableStream`, a fetch `Response`,
 * or an async iterable on a `streaming()` route is sent as with
 * `sendStream()` (keeping the Content-Type set before); an async iterable on
 * any other route is read into a Buffer once the middleware below has run (a
 * buffered response that legacy middleware may read). Node streams assigned
 * to `ctx.body` keep Koa's own handling. Mount it after koa-compress,
 * koa-etag and koa-conditional-get.
 *
 * @example
 * app.use(compress())
 * app.use(streamingResponses((body, ctx) => countBytes(body, (n) => metrics.add(ctx.path, n))))
 */
export function streamingResponses(wrapper?: KoaBodyWrapper) {
  if (wrapper !== undefined && typeof wrapper !== 'function') {
    throw new TypeError('streamingResponses() takes a function (body, ctx) => body to send')
  }
  return async function streamingResponses(ctx: Context, next: Next): Promise<void> {
    installMethods(ctx)
    if (wrapper !== undefined) addWrapper(ctx, (body) => wrapper(body, ctx))
    await next()
    const body: unknown = ctx.body
    if (isAsyncIterable(body) && !(body instanceof Stream) && !isWebStream(body)) ctx.body = await readWhole(body)
  }
}

/**
 * Intercept `ctx.body = value` below the middleware: a web stream, a fetch
 * Response, or an async iterable on a `streaming()` route is sent with
 * `sendStream()` at once; an async iterable elsewhere is kept, with the
 * Content-Type the handler set (Koa would make it JSON), to be read whole
 * once the middleware below has run.
 */
function interceptBody(ctx: Context): void {
  const response = ctx.response
  let owner: object | null = response
  let descriptor: PropertyDescriptor | undefined
  while (owner !== null && descriptor?.set === undefined) {
    descriptor = Object.getOwnPropertyDescriptor(owner, 'body')
    owner = Object.getPrototypeOf(owner) as object | null
  }
  const { get, set } = descriptor ?? {}
  if (get === undefined || set === undefined) return
  Object.defineProperty(response, 'body', {
    configurable: true,
    get() {
      return get.call(this) as unknown
    },
    set(value: unknown) {
      if (value instanceof ResponseBody || value instanceof Stream || !(isFetchResponse(value) || isWebStream(value) || isAsyncIterable(value))) {
        set.call(this, value)
      } else if (isFetchResponse(value) || isWebStream(value) || modeOf(ctx.req) === 'streaming') {
        sendStream(ctx, value)
      } else {
        const type = ctx.res.hasHeader('Content-Type') ? response.get('Content-Type') : undefined
        set.call(this, value)
        if (type !== undefined) response.set('Content-Type', type)
      }
    },
  })
}

/** Read a legacy (non-streaming) iterable body into one Buffer. */
async function readWhole(body: AsyncIterable<ResponseChunk>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk))
  return Buffer.concat(chunks)
}

function contentOf(ctx: Context): Buffer | undefined {
  const body: unknown = ctx.body
  if (isStreamingResponse(ctx) || body instanceof Stream || isAsyncIterable(body) || isWebStream(body) || isFetchResponse(body)) {
    throw responseStreaming()
  }
  if (body === null || body === undefined) return undefined
  if (Buffer.isBuffer(body)) return body
  if (typeof body === 'string') return Buffer.from(body)
  return Buffer.from(JSON.stringify(body))
}

function installMethods(ctx: Context): void {
  const holder = ctx as Context & { freezeHeader?: unknown }
  if (typeof holder.freezeHeader === 'function') return
  const freezeHere = (name: string, value?: OutgoingHttpHeader): void => freezeHeader(ctx, name, value)
  const frozenHere = (name: string): boolean => isHeaderFrozen(ctx, name)
  Object.assign(ctx, { freezeHeader: freezeHere, isHeaderFrozen: frozenHere })
  Object.assign(ctx.response, { freezeHeader: freezeHere, isHeaderFrozen: frozenHere })
  Object.defineProperty(ctx.response, 'content', { configurable: true, get: () => contentOf(ctx) })
  interceptBody(ctx)
}
