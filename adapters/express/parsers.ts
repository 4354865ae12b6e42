/**
 * Drop-in replacements for body-parser's `json()`, `urlencoded()`, `text()`
 * and `raw()`: the same options, results and errors, as body-parser 1.x on an
 * Express 4 app (Express 4's own `express.json()` & co.) and as 2.x elsewhere.
 * They work on a plain node:http server as well, skip requests routed to a
 * streaming handler, and leave the request stream readable with the same bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { alreadyRead, bufferRequestThen } from '../../lib/buffer-request.js'
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
import { initBody, parsedForBodyParser1, parserByBodyParser, type ForMajor } from './flavour.js'
import type { Middleware } from './types.js'

function run(
  parsers: (req: IncomingMessage) => ForMajor<Parser>,
  req: IncomingMessage & { body?: unknown },
  res: ServerResponse,
  next: (err?: unknown) => void,
): void {
  if (modeOf(req) === 'streaming') {
    next()
    return
  }
  let parser: Parser
  try {
    const found = parsers(req) // body-parser 1.x semantics on Express 4 (flavour.ts)
    if (found.major === 1 ? parsedForBodyParser1(req) : alreadyRead(req)) {
      next()
      return
    }
    initBody(req, found.major)
    parser = found.value
  } catch (err) {
    next(err)
    return
  }
  if (!requestHasBody(req) || !parser.matches(req)) {
    next()
    return
  }
  bufferRequestThen(req, res, parser, true, next)
}

/**
 * Parse JSON bodies into `req.body`, like body-parser's `json()`.
 *
 * @example
 * app.use(json({ limit: '1mb', strict: true }))
 */
export function json(options?: JsonOptions): Middleware {
  const parser = parserByBodyParser(options, createJsonParser)
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
  const parser = parserByBodyParser(options, createUrlencodedParser)
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
  const parser = parserByBodyParser(options, createTextParser)
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
  const parser = parserByBodyParser(options, createRawParser)
  return function rawParser(req, res, next) {
    run(parser, req, res, next)
  }
}
