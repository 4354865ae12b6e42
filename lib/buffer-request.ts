/**
 * The buffering adapter: read a whole body with a parser's limits, verify and
 * parse it exactly as body-parser would, and leave behind a fully populated
 * request (`body`, `rawBody`, and a request stream that replays the bytes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isBodyError, parseFailed, verifyFailed } from './errors.js'
import type { Parser } from './parsers.js'
import { readBodyThen } from './read-body.js'
import { isParsed, markParsed, requestHasBody } from './request-state.js'

/** What a buffered request carries once stream-shim has read it. */
export interface BufferedFields {
  body?: unknown
  rawBody?: Buffer
}

/** The first parser that takes this request, or undefined when none does. */
export function selectParser(req: IncomingMessage, parsers: readonly Parser[]): Parser | undefined {
  if (!requestHasBody(req)) return undefined
  for (const parser of parsers) if (parser.matches(req)) return parser
  return undefined
}

/**
 * Whether a parser should look at this request at all: not when stream-shim
 * (or another body parser) already read it.
 */
export function alreadyRead(req: IncomingMessage): boolean {
  return isParsed(req) || (req as { _body?: boolean })._body === true || req.readableEnded
}

/**
 * Read, verify and parse the body of `req` with `parser`, then set
 * `req.body` and `req.rawBody` (the decoded bytes) and re-arm the stream.
 * With `claim`, the body is marked parsed, so that later parsers skip it;
 * without, they read the replayed bytes again.
 * Rejects with body-parser's error for the situation; the request's `body`
 * is left as it was then.
 */
export function bufferRequest(
  req: IncomingMessage & BufferedFields,
  res: ServerResponse | undefined,
  parser: Parser,
  claim = true,
): Promise<void> {
  return new Promise((resolve, reject) => {
    bufferRequestThen(req, res, parser, claim, (err) => (err === undefined ? resolve() : reject(err)))
  })
}

/**
 * `bufferRequest` with a callback, for the hot path: `done` is called once,
 * with the error, or with nothing and the parsed body, possibly before this
 * function returns. With `setBody` false the parsed body is only handed to
 * `done`, and `req.body` is left alone (Koa keeps it on `ctx.request`, and
 * removing a property from `req` again would slow every later access to it).
 */
export function bufferRequestThen(
  req: IncomingMessage & BufferedFields,
  res: ServerResponse | undefined,
  parser: Parser,
  claim: boolean,
  done: (err?: unknown, body?: unknown) => void,
  setBody = true,
): void {
  let charset: string | null
  try {
    // Charset problems are known from the headers: refuse before reading.
    charset = parser.charset(req)
  } catch (err) {
    return done(err)
  }
  readBodyThen(req, parser, res, (err, result) => {
    if (err !== undefined) return done(err)
    let parsed: unknown
    try {
      parsed = applyBody(req, res, parser, result!.body, charset, claim, setBody)
    } catch (error) {
      return done(error)
    }
    done(undefined, parsed)
  })
}

/** Verify and parse a body that has been read, populate the request, and return the parsed body. */
function applyBody(
  req: IncomingMessage & BufferedFields,
  res: ServerResponse | undefined,
  parser: Parser,
  body: Buffer,
  charset: string | null,
  claim: boolean,
  setBody: boolean,
): unknown {
  if (parser.verify !== undefined) {
    try {
      parser.verify(req, res, body, charset)
    } catch (err) {
      throw verifyFailed(err as Error, body)
    }
  }

  let parsed: unknown
  try {
    parsed = parser.parse(body, charset)
  } catch (err) {
    if (isBodyError(err)) throw err
    throw parseFailed(err as Error, body)
  }
  if (setBody) req.body = parsed
  if (claim) markParsed(req, body)
  else req.rawBody = body
  return parsed
}
