/**
 * Every error stream-shim creates, in one place.
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
  | 'body.not.buffered'

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
  'body.not.buffered': 500,
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
