/**
 * Every error stream-shim creates, in one place: the rest of the code calls
 * the named factories below and never builds an error itself.
 *
 * Errors are `http-errors` objects with `status`, `statusCode`, `expose` and a
 * dotted `type`. The types and messages are those of body-parser and raw-body
 * wherever the situation is the same, so error handlers written for
 * body-parser keep working. The README's "Errors" section documents each one;
 * `test/errors.test.ts` checks that the two lists agree.
 */
import createHttpError, { type HttpError } from 'http-errors'

/** The `type` of every error stream-shim creates. */
export type BodyErrorType =
  | 'entity.too.large'
  | 'request.aborted'
  | 'request.size.invalid'
  | 'request.timeout'
  | 'encoding.unsupported'
  | 'encoding.invalid'
  | 'charset.unsupported'
  | 'media.type.unsupported'
  | 'entity.parse.failed'
  | 'entity.verify.failed'
  | 'parameters.too.many'
  | 'querystring.parse.rangeError'
  | 'stream.not.readable'
  | 'proxy.upstream.failed'
  | 'proxy.upstream.timeout'
  | 'response.size.invalid'
  | 'response.streaming'
  | 'header.frozen'

/** HTTP status for each error type. */
export const ERROR_STATUS: Readonly<Record<BodyErrorType, number>> = Object.freeze({
  'entity.too.large': 413,
  'request.aborted': 400,
  'request.size.invalid': 400,
  'request.timeout': 408,
  'encoding.unsupported': 415,
  'encoding.invalid': 400,
  'charset.unsupported': 415,
  'media.type.unsupported': 415,
  'entity.parse.failed': 400,
  'entity.verify.failed': 403,
  'parameters.too.many': 413,
  'querystring.parse.rangeError': 400,
  'stream.not.readable': 500,
  'proxy.upstream.failed': 502,
  'proxy.upstream.timeout': 504,
  'response.size.invalid': 500,
  'response.streaming': 500,
  'header.frozen': 500,
})

/** An error created by stream-shim: an `http-errors` object with a known `type`. */
export interface BodyError extends HttpError {
  type: BodyErrorType
  [key: string]: unknown
}

/**
 * Create the error for `type` with `message`; extra `props` (expected, received,
 * limit, charset, …) are copied onto it. When `cause` is an Error it becomes the
 * error itself, as body-parser does with parse errors, so its message and stack
 * are kept.
 */
export function bodyError(
  type: BodyErrorType,
  message: string | Error,
  props?: Record<string, unknown>,
): BodyError {
  return createHttpError(ERROR_STATUS[type], message, { ...props, type }) as BodyError
}

/** `entity.too.large`: the body, counted after decoding, is larger than `limit`. */
export function tooLarge(limit: number, length: number | undefined, expected?: number): BodyError {
  return bodyError('entity.too.large', 'request entity too large', {
    expected: expected ?? length,
    length: length ?? expected,
    limit,
  })
}

/** `entity.too.large` found while reading: `received` bytes (after decoding) went past `limit`. */
export function tooLargeWhileReading(limit: number, received: number): BodyError {
  return bodyError('entity.too.large', 'request entity too large', { limit, received })
}

/** `request.aborted`: the client went away before the whole body arrived. */
export function aborted(expected: number | undefined, received: number): BodyError {
  return bodyError('request.aborted', 'request aborted', {
    code: 'ECONNABORTED',
    expected,
    length: expected,
    received,
  })
}

/** `request.size.invalid`: the body ended at a length other than its Content-Length. */
export function sizeInvalid(expected: number, received: number): BodyError {
  return bodyError('request.size.invalid', 'request size did not match content length', {
    expected,
    length: expected,
    received,
  })
}

/** `request.aborted` for a socket error other than a reset: the read ends with `cause`. */
export function abortedBy(cause: Error, expected: number | undefined, received: number): BodyError {
  return bodyError('request.aborted', cause, { code: 'ECONNABORTED', expected, length: expected, received })
}

/** `request.timeout`: no byte of the body arrived for `timeout` ms. */
export function timedOut(timeout: number, received: number): BodyError {
  return bodyError('request.timeout', 'request body timeout', { timeout, received })
}

/**
 * `encoding.unsupported`: a Content-Encoding stream-shim does not decode, or
 * any encoding when inflating is turned off (body-parser's two messages).
 */
export function encodingUnsupported(encoding: string, inflateOff: boolean): BodyError {
  const message = inflateOff ? 'content encoding unsupported' : `unsupported content encoding "${encoding}"`
  return bodyError('encoding.unsupported', message, { encoding })
}

/** `encoding.invalid`: the body does not decode as its Content-Encoding says (`cause` is zlib's error). */
export function encodingInvalid(cause: Error, encoding: string): BodyError {
  return bodyError('encoding.invalid', cause, { encoding })
}

/** `charset.unsupported`: the body's charset cannot be decoded. */
export function unsupportedCharset(charset: string): BodyError {
  return bodyError('charset.unsupported', `unsupported charset "${charset.toUpperCase()}"`, { charset })
}

/** `media.type.unsupported`: a streaming route's `types` option does not take this Content-Type. */
export function mediaTypeUnsupported(contentType: string): BodyError {
  return bodyError('media.type.unsupported', `unsupported media type "${contentType}"`, { contentType })
}

/**
 * `entity.parse.failed`: `cause` (a SyntaxError, say) becomes the error, so
 * its message and stack are kept; `body` is the text or bytes that failed.
 * `props` can override `expose` (co-body's parse errors are not exposed).
 */
export function parseFailed(cause: Error, body: unknown, props?: { expose?: boolean }): BodyError {
  return bodyError('entity.parse.failed', cause, { ...props, body })
}

/**
 * `entity.verify.failed`: a `verify` option threw `cause`. As in body-parser,
 * a `type` the thrower set on its error is kept.
 */
export function verifyFailed(cause: Error, body: Buffer): BodyError {
  const own = (cause as { type?: unknown }).type
  const type = typeof own === 'string' ? own : 'entity.verify.failed'
  return createHttpError(ERROR_STATUS['entity.verify.failed'], cause, { body, type }) as BodyError
}

/** `parameters.too.many`: a form body with more fields than `parameterLimit`. */
export function tooManyParameters(body: string): BodyError {
  return bodyError('parameters.too.many', 'too many parameters', { body })
}

/** `querystring.parse.rangeError`: a form body nested deeper than `depth`. */
export function depthExceeded(body: string): BodyError {
  return bodyError('querystring.parse.rangeError', 'The input exceeded the depth', { body })
}

/**
 * `stream.not.readable`: something else read the body before stream-shim
 * could. Without `consumer`, raw-body's message (what body-parser gives);
 * with it, a message that names the cause and the fix (a streaming route).
 */
export function streamNotReadable(consumer?: string): BodyError {
  if (consumer === undefined) return bodyError('stream.not.readable', 'stream is not readable', { expose: false })
  return bodyError(
    'stream.not.readable',
    `stream is not readable: the request body was already read by ${consumer} before stream-shim could read it. ` +
      'A body parser that runs before streamShim(), or one that runs after it on a route stream-shim reads, ' +
      'takes the body away: mount streamShim() first and let it parse, or mark the route so the parser steps aside.',
    { expose: false },
  )
}

/**
 * `proxy.upstream.failed`: `proxy()` or `tunnel()` could not reach the
 * upstream, or it failed before its response began (502). `cause` is the
 * client's error; its message is not exposed.
 */
export function upstreamFailed(cause: Error): BodyError {
  return bodyError('proxy.upstream.failed', 'bad gateway', { expose: false, cause, code: (cause as { code?: unknown }).code })
}

/** `proxy.upstream.timeout`: the upstream sent no response within `timeout` ms (504). */
export function upstreamTimedOut(timeout: number): BodyError {
  return bodyError('proxy.upstream.timeout', 'gateway timeout', { expose: false, timeout })
}

/**
 * `response.size.invalid`: a streamed response body did not match the
 * Content-Length the response declared (`sent` bytes, or more, for `expected`).
 */
export function responseSizeInvalid(expected: number, sent: number): BodyError {
  return bodyError('response.size.invalid', 'response body did not match its Content-Length', { expected, sent, expose: false })
}

/**
 * `response.streaming`: something asked for the whole content of a streaming
 * response, whose body is read once, by the client.
 */
export function responseStreaming(): BodyError {
  return bodyError(
    'response.streaming',
    'the content of a streaming response is read once, by the client, and cannot be read whole: ' +
      'to observe or transform it, wrap its iterator with streamingResponses((body) => wrapped) instead',
    { expose: false },
  )
}

/** `header.frozen`: a header frozen with `freezeHeader()` was about to be changed (`action`: set, removed). */
export function headerFrozen(header: string, action: string): BodyError {
  return bodyError('header.frozen', `header "${header}" is frozen: it cannot be ${action} after freezeHeader()`, {
    header,
    expose: false,
  })
}

/**
 * Node's own stream errors, for code that takes over from Node's stream
 * iterator and must fail as it does: `ERR_STREAM_PREMATURE_CLOSE` for a
 * stream destroyed before its end. Not body errors (no status).
 */
export function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}

/** What Node destroys a stream with when its reader leaves a `for await` early. Not a body error. */
export function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' })
}

/** True when `err` is an error stream-shim created (matched by shape, not `instanceof`). */
export function isBodyError(err: unknown): err is BodyError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as BodyError).type === 'string' &&
    (err as BodyError).type in ERROR_STATUS &&
    typeof (err as BodyError).status === 'number'
  )
}
