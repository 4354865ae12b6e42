/**
 * Content-Encoding: choosing the decoder for a request body.
 */
import zlib from 'node:zlib'
import type { Transform } from 'node:stream'
import type { IncomingHttpHeaders } from 'node:http'
import { encodingUnsupported, type BodyError } from './errors.js'

/** The content codings stream-shim decodes. */
export const SUPPORTED_ENCODINGS = ['gzip', 'x-gzip', 'deflate', 'br'] as const

/** The request's content coding, lower-cased; `'identity'` when there is none. */
export function contentEncoding(headers: IncomingHttpHeaders): string {
  const value = headers['content-encoding']
  return value === undefined || value === '' ? 'identity' : value.trim().toLowerCase()
}

/**
 * What to do with an encoded body: decode it (`true`), refuse it with 415
 * (`false`), or hand its bytes over as they came (`'pass'`, streaming only).
 */
export type Inflate = boolean | 'pass'

/**
 * Why a body with this content coding cannot be decoded: `encoding.unsupported`
 * (415) for a coding stream-shim does not know, and for every coding when
 * `inflate` is false; undefined when it can be.
 */
export function encodingRefusal(encoding: string, inflate: Inflate): BodyError | undefined {
  if (encoding === 'identity' || inflate === 'pass') return undefined
  if (!inflate) return encodingUnsupported(encoding, true)
  return (SUPPORTED_ENCODINGS as readonly string[]).includes(encoding) ? undefined : encodingUnsupported(encoding, false)
}

/**
 * A decompression stream for `encoding`, or `null` for identity. Throws
 * the `encodingRefusal()` error for a coding it cannot decode.
 */
export function createDecoder(encoding: string, inflate: Inflate): Transform | null {
  const refusal = encodingRefusal(encoding, inflate)
  if (refusal !== undefined) throw refusal
  if (inflate === 'pass') return null
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip()
    case 'deflate':
      return zlib.createInflate()
    case 'br':
      return zlib.createBrotliDecompress()
    default:
      return null
  }
}
