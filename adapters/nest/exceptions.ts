/**
 * Body errors as Nest exceptions: a stream-shim error (an http-errors object
 * with `status` and `type`) becomes the built-in `HttpException` subclass for
 * its status, so exception filters (`@Catch(PayloadTooLargeException)`,
 * `@Catch(HttpException)`) see it and Nest answers with its status, not 500.
 */
import { STATUS_CODES } from 'node:http'
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  InternalServerErrorException,
  PayloadTooLargeException,
  RequestTimeoutException,
  UnsupportedMediaTypeException,
} from '@nestjs/common'
import { isBodyError } from '../../lib/errors.js'

type ExceptionClass = new (message?: string, options?: { cause?: unknown; description?: string }) => HttpException

const BY_STATUS: Readonly<Record<number, ExceptionClass>> = {
  400: BadRequestException,
  403: ForbiddenException,
  408: RequestTimeoutException,
  413: PayloadTooLargeException,
  415: UnsupportedMediaTypeException,
  500: InternalServerErrorException,
}

/**
 * The Nest exception for a stream-shim body error, with the original as
 * `cause` (its `type` says what went wrong: `exception.cause.type`); any
 * other value is returned unchanged. The message is the error's own when it
 * is meant for the client (`expose`), else the status's standard one.
 *
 * @example
 * catch (err) { throw toHttpException(err) } // 413 entity.too.large → PayloadTooLargeException
 */
export function toHttpException(err: unknown): unknown {
  if (!isBodyError(err)) return err
  const message = err.expose ? err.message : undefined
  // The standard phrase as `error` in the response body, as Nest's own exceptions give it.
  const description = STATUS_CODES[err.status]
  const Exception = BY_STATUS[err.status]
  if (Exception !== undefined) return new Exception(message, { cause: err, description })
  const phrase = description ?? 'Request Body Error'
  return new HttpException(HttpException.createBody(message ?? phrase, phrase, err.status), err.status, { cause: err })
}
