/**
 * Drop-in replacements for body-parser 2.x's `json()`, `urlencoded()`,
 * `text()` and `raw()`: the same options, results and errors. They work on a
 * plain node:http server as well, skip requests routed to a streaming handler,
 * and leave the request stream readable with the same bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { alreadyRead, bufferRequest } from '../../lib/buffer-request.js'
import {
  createJsonParser,
  createRawParser,
  createTextParser,
  createUrlencodedParser,
  type JsonOptions,
  type Parser,
  type RawOptions,
  type TextOptions,
  type UrlencodedOptions,
} from '../../lib/parsers.js'
import { modeOf, requestHasBody } from '../../lib/request-state.js'
import type { Middleware } from './types.js'

function run(parser: Parser, req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: (err?: unknown) => void): void {
  if (modeOf(req) === 'streaming' || alreadyRead(req)) {
    next()
    return
  }
  if (!('body' in req)) req.body = undefined
  if (!requestHasBody(req) || !parser.matches(req)) {
    next()
    return
  }
  bufferRequest(req, res, parser).then(() => next(), next)
}

/**
 * Parse JSON bodies into `req.body`, like body-parser's `json()`.
 *
 * @example
 * app.use(json({ limit: '1mb', strict: true }))
 */
export function json(options?: JsonOptions): Middleware {
  const parser = createJsonParser(options)
  return function jsonParser(req, res, next) {
    run(parser, req, res, next)
  }
}

/**
 * Parse urlencoded form bodies into `req.body`, like body-parser's `urlencoded()`.
 *
 * @example
 * app.use(urlencoded({ extended: true }))
 */
export function urlencoded(options?: UrlencodedOptions): Middleware {
  const parser = createUrlencodedParser(options)
  return function urlencodedParser(req, res, next) {
    run(parser, req, res, next)
  }
}

/**
 * Read text bodies into `req.body` as a string, like body-parser's `text()`.
 *
 * @example
 * app.use(text({ type: 'text/*' }))
 */
export function text(options?: TextOptions): Middleware {
  const parser = createTextParser(options)
  return function textParser(req, res, next) {
    run(parser, req, res, next)
  }
}

/**
 * Read bodies into `req.body` as a Buffer, like body-parser's `raw()`.
 *
 * @example
 * app.use(raw({ type: 'application/octet-stream', limit: '10mb' }))
 */
export function raw(options?: RawOptions): Middleware {
  const parser = createRawParser(options)
  return function rawParser(req, res, next) {
    run(parser, req, res, next)
  }
}
