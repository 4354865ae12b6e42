/**
 * Bytes to text: charsets from Content-Type, decoding with iconv-lite, and
 * JSON parsing with body-parser's strict mode and error messages.
 */
import contentType from 'content-type'
import iconv from 'iconv-lite'
import { parseFailed, unsupportedCharset, type BodyError } from './errors.js'
import type { HeadersLike } from './options.js'

/** The charset named by the Content-Type header, lower-cased. */
export function requestCharset(req: HeadersLike): string | undefined {
  const header = req.headers['content-type']
  if (header === undefined) return undefined
  if (header !== lastHeader) {
    lastCharset = charsetOf(header)
    lastHeader = header
  }
  return lastCharset
}

// Most requests repeat one Content-Type: remember the last one parsed.
let lastHeader: string | undefined
let lastCharset: string | undefined

function charsetOf(header: string): string | undefined {
  try {
    return contentType.parse(header).parameters.charset?.toLowerCase()
  } catch {
    return undefined
  }
}

export { unsupportedCharset }

/** Whether iconv-lite can decode `charset`. */
export function charsetExists(charset: string): boolean {
  return charset === 'utf-8' || iconv.encodingExists(charset)
}

/** Decode bytes to a string, as body-parser does with iconv-lite. */
export function decodeText(buf: Buffer, charset: string): string {
  if (charset === 'utf-8' || charset === 'utf8') {
    const text = buf.toString('utf8')
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  }
  if (!iconv.encodingExists(charset)) throw unsupportedCharset(charset)
  return iconv.decode(buf, charset)
}

/** The charset to decode a text body with; 415 `charset.unsupported` when iconv-lite lacks it. */
export function textCharset(req: HeadersLike, fallback: string): string {
  const charset = requestCharset(req) ?? fallback
  if (!charsetExists(charset)) throw unsupportedCharset(charset)
  return charset
}

/** The index of the first character that is not JSON whitespace. */
function skipWhitespace(text: string): number {
  let i = 0
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) break
  }
  return i
}

/** `JSON.parse` with body-parser's strict mode and its error messages. */
/** A `JSON.parse` reviver. */
export type JsonReviver = NonNullable<Parameters<typeof JSON.parse>[1]>

export function parseJson(text: string, strict: boolean, reviver?: JsonReviver): unknown {
  if (text.length === 0) return {} // body-parser's special case for an empty body
  if (strict) {
    const start = skipWhitespace(text)
    const first = text.charCodeAt(start)
    if (start < text.length && first !== 0x7b /* { */ && first !== 0x5b /* [ */) throw strictViolation(text, start)
  }
  try {
    return JSON.parse(text, reviver)
  } catch (err) {
    throw withParseFailed(err as Error, text)
  }
}

/**
 * The SyntaxError for a strict-mode violation at `index`: the one JSON.parse
 * gives for an unexpected character there, reported with the real characters.
 */
function strictViolation(text: string, index: number): Error {
  const masked = text.slice(0, index) + '#'.repeat(text.length - index)
  let message = 'strict violation'
  try {
    JSON.parse(masked)
  } catch (err) {
    message = (err as Error).message.replace(/#+/g, (run) => text.slice(index, index + run.length))
  }
  return withParseFailed(new SyntaxError(message), text)
}

export function withParseFailed(err: Error, body: string): BodyError {
  return parseFailed(err, body)
}
