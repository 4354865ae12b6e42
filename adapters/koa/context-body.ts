/**
 * Putting a body on a Koa context: the stream of a streaming route, the
 * parsed body of a buffered one, and keeping `Connection: close` on an error
 * response when the body was left half-read.
 */
import type { IncomingMessage } from 'node:http'
import type { Context } from 'koa'
import type { BodyStream } from '../../lib/body-stream.js'
import { alreadyRead } from '../../lib/buffer-request.js'
import type { CoBodyParsers } from '../../lib/co-body-parsers.js'
import type { Parser } from '../../lib/parsers.js'
import { beginBufferedThen, guardBody, releaseUnread } from '../../lib/dispatch.js'
import { isParsed, requestHasBody, setMode } from '../../lib/request-state.js'
import { decodeText } from '../../lib/text.js'
import type { KoaBufferedOptions } from './types.js'

/** Normalized buffered settings: the parsers, the context callbacks and the @koa/bodyparser switches. */
export interface BufferedConfig {
  readonly parsers: CoBodyParsers
  readonly detectJSON: KoaBufferedOptions['detectJSON']
  readonly onError: KoaBufferedOptions['onError']
  /** Also set `ctx.req.body` and `ctx.req.rawBody`; skip when `ctx.req.body` is already set. */
  readonly patchNode: boolean
  /** Take an already set `ctx.req.body` as the body instead of reading it. */
  readonly enableRawChecking: boolean
}

/** Give the context its body stream, and make `ctx.request.body` read as undefined (with a warning) on this route. */
export function attachBodyStream(ctx: Context, stream: BodyStream, route: string): void {
  ctx.request.bodyStream = stream
  guardBody(ctx.request, 'ctx.request.body', 'ctx.request.bodyStream', `${ctx.method} ${route}`)
}

/** The shim's buffered settings for a request it set up for streaming, in case a buffered route runs instead. */
const fallbackConfig = new WeakMap<IncomingMessage, BufferedConfig>()

export function rememberFallback(req: IncomingMessage, config: BufferedConfig): void {
  fallbackConfig.set(req, config)
}

/**
 * A request set up for a streaming route reaches a buffered route with its
 * body unread (middleware behind the shim rewrote the path, say): read and
 * parse it there, with the shim's buffered settings, as @koa/bodyparser would
 * have.
 */
export async function handOverUnread(ctx: Context, fallback: () => BufferedConfig): Promise<void | typeof CLIENT_CLOSED> {
  const stream = ctx.request.bodyStream
  if (stream === undefined || !releaseUnread(ctx.req, stream)) return
  ctx.request.bodyStream = undefined
  ctx.request.body = undefined
  return bufferBody(ctx, fallbackConfig.get(ctx.req) ?? fallback())
}

/** What `bufferBody` returns when the client was gone and it answered 499: stop there. */
export const CLIENT_CLOSED = Symbol('client closed')

/**
 * Read and parse the body as @koa/bodyparser would, and set
 * `ctx.request.body`, `ctx.request.rawBody` (text) and
 * `ctx.request.rawBodyBuffer`. `ctx.req` is left replaying the same bytes.
 *
 * Nothing is read, as in @koa/bodyparser, for a method not in
 * `parsedMethods`, a body already parsed (`ctx.request.body` set, or
 * `ctx.req.body` with `patchNode`) or `ctx.disableBodyParser`; with
 * `enableRawChecking`, a `ctx.req.body` set earlier becomes the body. A
 * request whose client is already gone gets 499, as there, and
 * `CLIENT_CLOSED` is returned: the caller runs nothing after it.
 */
export function bufferBody(ctx: Context, config: BufferedConfig): Promise<void | typeof CLIENT_CLOSED> {
  return new Promise((resolve, reject) => {
    bufferBodyThen(ctx, config, (err, outcome) => (err === undefined ? resolve(outcome) : reject(err)))
  })
}

/**
 * `bufferBody` with a callback, for the hot path: `done` is called once, with
 * the error, or with `CLIENT_CLOSED` or nothing, possibly before this returns.
 */
export function bufferBodyThen(
  ctx: Context,
  config: BufferedConfig,
  done: (err: unknown, outcome?: typeof CLIENT_CLOSED) => void,
): void {
  const req = ctx.req as IncomingMessage & { body?: unknown; rawBody?: unknown }
  const { parsers } = config
  if (
    !parsers.methods.has(ctx.method.toUpperCase()) ||
    (config.patchNode && req.body !== undefined) ||
    ctx.request.body !== undefined ||
    ctx.disableBodyParser
  ) {
    setMode(req, 'buffered')
    return done(undefined)
  }
  if (config.enableRawChecking && req.body !== undefined) {
    setMode(req, 'buffered')
    ctx.request.body = req.body
    return done(undefined)
  }
  if (req.closed) {
    // As @koa/bodyparser: the client is gone before its body was read; answer
    // 499 and run nothing after (the caller does not call next()).
    setMode(req, 'buffered')
    ctx.status = 499
    ctx.body = 'Request already closed'
    return done(undefined, CLIENT_CLOSED)
  }
  const list = config.detectJSON?.(ctx) === true && parsers.anyJson !== undefined ? [parsers.anyJson] : parsers.list
  const wasRead = alreadyRead(req)
  const afterRead = (err?: unknown, body?: unknown): void => {
    try {
      if (err !== undefined) {
        if (config.onError === undefined) return done(err)
        config.onError(err as Error, ctx)
        return done(undefined)
      }
      if (!takeBody(ctx, config, list, wasRead, body) && config.onError !== undefined) return done(undefined)
      if (config.patchNode) patchNode(req, ctx.request)
    } catch (error) {
      return done(error)
    }
    done(undefined)
  }
  // The parsed body goes to ctx.request only: @koa/bodyparser puts it on ctx.req only with patchNode.
  if (!beginBufferedThen(req, ctx.res, list, true, afterRead, false)) afterRead()
}

/**
 * Put what was read on `ctx.request`. Returns false when a parse error went
 * to `onError` (nothing more to do); without `onError` it is thrown.
 */
function takeBody(ctx: Context, config: BufferedConfig, list: readonly Parser[], wasRead: boolean, body: unknown): boolean {
  const req = ctx.req as IncomingMessage & { body?: unknown; rawBody?: unknown }
  const { parsers } = config
  const request = ctx.request
  if (isParsed(req) && Buffer.isBuffer(req.rawBody)) {
    // Read now (`body`), or by an earlier run that left it on ctx.req.
    request.body = wasRead ? req.body : body
    request.rawBodyBuffer = req.rawBody
    request.rawBody ??= decodeText(req.rawBody, parsers.encoding)
    return true
  }
  // Nothing was read. A matching Content-Type without a body reads as co-body
  // reads an empty stream; anything else gets `{}`, as @koa/bodyparser gives.
  const parser = wasRead || requestHasBody(req) ? undefined : list.find((p) => p.matches(req))
  if (parser === undefined) {
    request.body = {}
    return true
  }
  try {
    request.body = parser.parse(Buffer.alloc(0), parsers.encoding)
    request.rawBody ??= ''
  } catch (err) {
    if (config.onError === undefined) throw err
    config.onError(err as Error, ctx)
    return false
  }
  return true
}

/**
 * `patchNode`: the body on `ctx.req` too, as @koa/bodyparser puts it there:
 * `ctx.req.rawBody` is the body text (it replaces the Buffer the core keeps
 * there; `ctx.request.rawBodyBuffer` still holds that).
 */
function patchNode(req: { body?: unknown; rawBody?: unknown }, request: Context['request']): void {
  req.body = request.body
  if (req.rawBody === undefined || req.rawBody === request.rawBodyBuffer) req.rawBody = request.rawBody
}

/**
 * Koa's error handler removes every response header before it answers, and
 * with them the `Connection: close` the core sets when it gave up on a body
 * half-way. Carry that header over on the error so the connection is still
 * closed (HTTP/1 only; HTTP/2 has no such header).
 */
export function keepConnectionClose(ctx: Context, err: unknown): void {
  if (err === null || typeof err !== 'object' || 'stream' in ctx.res) return
  if (ctx.res.headersSent || String(ctx.res.getHeader('connection')).toLowerCase() !== 'close') return
  const holder = err as { headers?: Record<string, string> }
  holder.headers = { ...holder.headers, connection: 'close' }
}
