/**
 * Content-Encoding: choosing the decoder for a request body.
 */
import zlib from 'node:zlib'
import type { Transform } from 'node:stream'
import type { IncomingHttpHeaders } from 'node:http'
import { bodyError } from './errors.js'

/** The content codings stream-shim decodes. */
export const SUPPORTED_ENCODINGS = ['gzip', 'x-gzip', 'deflate', 'br'] as const

/** The request's content coding, lower-cased; `'identity'` when there is none. */
export function contentEncoding(headers: IncomingHttpHeaders): string {
  const value = headers['content-encoding']
  return value === undefined || value === '' ? 'identity' : value.trim().toLowerCase()
}

/**
 * A decompression stream for `encoding`, or `null` for identity. Throws
 * `encoding.unsupported` (415) for anything else, and for every coding when
 * `inflate` is false.
 */
export function createDecoder(encoding: string, inflate: boolean): Transform | null {
  if (encoding === 'identity') return null
  if (!inflate) {
    throw bodyError('encoding.unsupported', 'content encoding unsupported', { encoding })
  }
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip()
    case 'deflate':
      return zlib.createInflate()
    case 'br':
      return zlib.createBrotliDecompress()
    default:
      throw bodyError('encoding.unsupported', `unsupported content encoding "${encoding}"`, { encoding })
  }
}
