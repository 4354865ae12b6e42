/**
 * Streaming responses and frozen headers for Express 4 and 5 (and plain
 * `node:http`): `sendStream()`, the `streamingResponses()` middleware, and the
 * `res.freezeHeader()` / `res.isHeaderFrozen()` methods it installs.
 */
import type { NextFunction, Request, Response } from 'express'
import type { OutgoingHttpHeader } from 'node:http'
import { freezeHeader as freeze, isHeaderFrozen as frozen, type HeaderTarget } from '../../lib/frozen-headers.js'
import { addWrapper, assertNotStreaming, composedWrapper, isStreamingResponse, markStreaming } from '../../lib/response-wrappers.js'
import { sendStream as send, type ResponseChunk, type ResponseSource, type StreamTarget } from '../../lib/send-stream.js'

declare global {
  namespace Express {
    interface Response {
      /** Freeze a header (installed by `streamingResponses()`); see `freezeHeader()`. */
      freezeHeader(name: string, value?: OutgoingHttpHeader): this
      /** Whether a header is frozen (installed by `streamingResponses()`). */
      isHeaderFrozen(name: string): boolean
      /** Send a streaming body (installed by `streamingResponses()`); see `sendStream()`. */
      sendStream(source: ResponseSource, options?: ExpressSendStreamOptions): Promise<void>
      /** True once the response is streaming (installed by `streamingResponses()`). */
      readonly streaming: boolean
      /** The whole content: throws `response.streaming` on a streaming response (installed by `streamingResponses()`). */
      readonly content: undefined
    }
  }
}

/** Options of `sendStream()`. */
export interface ExpressSendStreamOptions {
  /**
   * Send the body exactly as the source produces it: the wrappers registered
   * with `streamingResponses()` are not applied. Default `false`.
   */
  frozen?: boolean
}

/** A wrapper registered with `streamingResponses()`: gets the body, returns the body to send instead. */
export type ExpressBodyWrapper = (body: AsyncIterable<Buffer>, req: Request, res: Response) => AsyncIterable<ResponseChunk>

/**
 * Send `source` (an async iterable, a Node `Readable`, a web `ReadableStream`,
 * or a fetch `Response`, whose status and headers are used) as a streaming
 * response: chunk by chunk as produced, with backpressure, through the
 * wrappers `streamingResponses()` registered, flushed through `compression`.
 * Resolves when the response is complete or the client has gone away (the
 * source is then closed); rejects when the source fails or misses the
 * declared Content-Length, after resetting the connection once bytes went
 * out. Works on a plain `node:http` or `node:http2` response too.
 *
 * @example
 * app.get('/export.ndjson', streaming(async (req, res) => {
 *   res.type('application/x-ndjson')
 *   await sendStream(res, rowsAsNdjson(db.query('select * from orders')))
 * }))
 */
export function sendStream(res: Response | StreamTarget, source: ResponseSource, options: ExpressSendStreamOptions = {}): Promise<void> {
  markStreaming(res)
  const wrap = options.frozen === true ? undefined : composedWrapper(res)
  return send(res as StreamTarget, source, { wrap })
}

/**
 * Freeze the header `name` on `res` (setting it to `value` first if given):
 * from then on setting or removing it throws `header.frozen`, whoever tries
 * (`res.set`, `res.append`, `setHeader`, `writeHead`, middleware), until the
 * response becomes an error response. `Content-Encoding` frozen without a
 * value means "no compression".
 *
 * @example
 * freezeHeader(res, 'Cache-Control', 'no-cache')
 */
export function freezeHeader(res: Response | HeaderTarget, name: string, value?: OutgoingHttpHeader): void {
  freeze(res as HeaderTarget, name, value)
  if (String(name).toLowerCase() === 'cache-control') keepOutOfApicache(res)
}

/**
 * apicache stores a response in `res.end()`, before its headers are
 * written, whatever its Cache-Control says, and replays it with a max-age of
 * its own: a response whose Cache-Control was frozen to forbid that is
 * marked not cacheable through apicache's own per-response flag.
 */
function keepOutOfApicache(res: object): void {
  const state = (res as { _apicache?: { cacheable?: boolean } })._apicache
  const value = String((res as HeaderTarget).getHeader('cache-control') ?? '')
  if (state !== undefined && /(?:^|,)\s*(?:no-cache|no-store|private)\b/i.test(value)) state.cacheable = false
}

/**
 * Whether the header `name` is frozen on `res`.
 *
 * @example
 * if (!isHeaderFrozen(res, 'ETag')) res.set('ETag', tag)
 */
export function isHeaderFrozen(res: Response | HeaderTarget, name: string): boolean {
  return frozen(res as HeaderTarget, name)
}

/**
 * Middleware that gives `res` `freezeHeader()`, `isHeaderFrozen()`,
 * `sendStream()`, `streaming` and `content`, and, given a `wrapper`,
 * registers it for every streaming response sent after it: the wrapper gets
 * the body as an async iterable of Buffers and returns the body to send.
 * Wrappers compose in registration order (the first mounted wraps the
 * source). Reading `res.content` of a streaming response throws
 * `response.streaming`: wrap the iterator instead.
 *
 * @example
 * app.use(streamingResponses((body, req, res) => countBytes(body, (n) => metrics.add(req.path, n))))
 */
export function streamingResponses(wrapper?: ExpressBodyWrapper) {
  if (wrapper !== undefined && typeof wrapper !== 'function') {
    throw new TypeError('streamingResponses() takes a function (body, req, res) => body to send')
  }
  return function streamingResponses(req: Request, res: Response, next: NextFunction): void {
    installMethods(res)
    if (wrapper !== undefined) addWrapper(res, (body) => wrapper(body, req, res))
    next()
  }
}

const methods = {
  freezeHeader(this: Response, name: string, value?: OutgoingHttpHeader): Response {
    freezeHeader(this, name, value)
    return this
  },
  isHeaderFrozen(this: Response, name: string): boolean {
    return frozen(this as HeaderTarget, name)
  },
  sendStream(this: Response, source: ResponseSource, options?: ExpressSendStreamOptions): Promise<void> {
    return sendStream(this, source, options)
  },
}

const accessors: PropertyDescriptorMap = {
  streaming: {
    configurable: true,
    get(this: Response) {
      return isStreamingResponse(this)
    },
  },
  content: {
    configurable: true,
    get(this: Response) {
      assertNotStreaming(this)
      return undefined
    },
  },
}

function installMethods(res: Response): void {
  if ((res as { sendStream?: unknown }).sendStream === methods.sendStream) return
  Object.assign(res, methods)
  Object.defineProperties(res, accessors)
}
