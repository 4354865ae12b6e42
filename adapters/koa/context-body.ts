/**
 * Putting a body on a Koa context: the stream of a streaming route, the
 * parsed body of a buffered one, and keeping `Connection: close` on an error
 * response when the body was left half-read.
 */
import type { Context } from 'koa'
import type { BodyStream } from '../../lib/body-stream.js'
import { alreadyRead } from '../../lib/buffer-request.js'
import type { CoBodyParsers } from '../../lib/co-body-parsers.js'
import { beginBuffered, guardBody } from '../../lib/dispatch.js'
import { isParsed, requestHasBody, setMode } from '../../lib/request-state.js'
import { decodeText } from '../../lib/text.js'
import type { KoaBufferedOptions } from './types.js'

/** Normalized buffered settings: the parsers and the two context callbacks. */
export interface BufferedConfig {
  readonly parsers: CoBodyParsers
  readonly detectJSON: KoaBufferedOptions['detectJSON']
  readonly onError: KoaBufferedOptions['onError']
}

/** Give the context its body stream, and make `ctx.request.body` read as undefined (with a warning) on this route. */
export function attachBodyStream(ctx: Context, stream: BodyStream, route: string): void {
  ctx.request.bodyStream = stream
  guardBody(ctx.request, 'ctx.request.body', 'ctx.request.bodyStream', `${ctx.method} ${route}`)
}

/**
 * Read and parse the body as @koa/bodyparser would, and set
 * `ctx.request.body`, `ctx.request.rawBody` (text) and
 * `ctx.request.rawBodyBuffer`. `ctx.req` is left replaying the same bytes.
 */
export async function bufferBody(ctx: Context, config: BufferedConfig): Promise<void> {
  const req = ctx.req
  const { parsers } = config
  if (!parsers.methods.has(ctx.method.toUpperCase()) || ctx.request.body !== undefined) {
    setMode(req, 'buffered')
    return
  }
  const list = config.detectJSON?.(ctx) === true && parsers.anyJson !== undefined ? [parsers.anyJson] : parsers.list
  const wasRead = alreadyRead(req)
  try {
    await beginBuffered(req, ctx.res, list)
  } catch (err) {
    if (config.onError === undefined) throw err
    config.onError(err as Error, ctx)
    return
  }
  const request = ctx.request
  const node = req as { body?: unknown; rawBody?: unknown }
  if (isParsed(req) && Buffer.isBuffer(node.rawBody)) {
    request.body = node.body
    request.rawBodyBuffer = node.rawBody
    request.rawBody ??= decodeText(node.rawBody, parsers.encoding)
    return
  }
  // Nothing was read. A matching Content-Type without a body reads as co-body
  // reads an empty stream; anything else gets `{}`, as @koa/bodyparser gives.
  const parser = wasRead || requestHasBody(req) ? undefined : list.find((p) => p.matches(req))
  if (parser === undefined) {
    request.body = {}
    return
  }
  try {
    request.body = parser.parse(Buffer.alloc(0), parsers.encoding)
    request.rawBody ??= ''
  } catch (err) {
    if (config.onError === undefined) throw err
    config.onError(err as Error, ctx)
  }
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
