/**
 * Buffered reading: the whole body into one Buffer through the wire reader
 * (so every integrity rule of the streaming side applies), and then the
 * request stream re-armed so that later readers of `req` receive the same
 * bytes again.
 *
 * Ownership: `readBody` owns the request stream until its promise settles.
 * After a successful read the request is left readable, holding the wire
 * bytes. After a failed one, the rest of the body is given up: whoever drains
 * the request next (the framework's error handling) sees it end at once,
 * and the connection is closed after the response.
 */
import { constants as bufferConstants } from 'node:buffer'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tooLargeWhileReading, type BodyError } from './errors.js'
import { contentEncoding } from './decode.js'
import { contentLength } from './options.js'
import { closeConnection } from './request-state.js'
import { DEFAULT_DISCARD, afterFailedRead, cutOffHalfWay, finishSending, guardUnreadBody } from './unread-body.js'
import { WireReader, type WireOptions } from './wire-reader.js'

export type ReadBodyOptions = WireOptions

export interface ReadBodyResult {
  /** The decoded body. */
  body: Buffer
  /** The bytes as they came off the wire (the same Buffer as `body` for identity). */
  wire: Buffer
}

/**
 * The most bytes one Buffer can hold: a buffered body's limit never goes
 * beyond it, so a larger declared length is a 413, never a RangeError.
 */
export const MAX_BUFFERED = bufferConstants.MAX_LENGTH

/**
 * Read the whole body of `req`, decoded and limited, then put the wire bytes
 * back into `req` so that it can be read again as if untouched.
 *
 * When the Content-Length is known and the body is not encoded, each chunk
 * is copied once into one Buffer, which never holds much more than the bytes
 * actually received (the length is the client's word): see `Collector`.
 */
export function readBody(
  req: IncomingMessage,
  options: ReadBodyOptions,
  res?: ServerResponse,
): Promise<ReadBodyResult> {
  return new Promise<ReadBodyResult>((resolve, reject) => {
    readBodyThen(req, options, res, (err, result) => (err === undefined ? resolve(result!) : reject(err)))
  })
}

/**
 * `readBody` with a callback instead of a promise, for the hot path: `done`
 * is called once, with the error or with the result (possibly before this
 * function returns, when the body is refused from its headers).
 */
export function readBodyThen(
  req: IncomingMessage,
  options: ReadBodyOptions,
  res: ServerResponse | undefined,
  done: (err: BodyError | undefined, result?: ReadBodyResult) => void,
): void {
  const resolve = (result: ReadBodyResult) => done(undefined, result)
  const reject = (err: BodyError) => done(err)
  {
    const identity = contentEncoding(req.headers) === 'identity'
    const collector = new Collector(identity ? contentLength(req.headers) : undefined)
    const wireChunks: Buffer[] = []
    let wireLength = 0
    const limit = Math.min(options.limit, MAX_BUFFERED)
    const reader: WireReader = new WireReader(
      req,
      limit === options.limit ? options : { ...options, limit },
      {
        data: (chunk) => collector.add(chunk),
        wire: identity
          ? undefined
          : (chunk) => {
              wireChunks.push(chunk)
              wireLength += chunk.length
            },
        end() {
          let body: Buffer
          try {
            body = collector.take()
          } catch {
            // More than the process can hold in one Buffer right now.
            reject(tooLargeWhileReading(limit, reader.decoded))
            return
          }
          const wire = identity ? body : concat(wireChunks, wireLength)
          reader.handBack(wire)
          resolve({ body, wire })
        },
        error(err: BodyError) {
          collector.take()
          if (res === undefined || reader.wireDone) {
            reject(err)
          } else if (cutOffHalfWay(err, reader.received)) {
            // As body-parser does, the error is passed on once the client has
            // finished sending (within `discard`): many clients only read the
            // response once they have sent the whole body.
            closeConnection(res)
            finishSending(req, res, DEFAULT_DISCARD, options.timeout, (finished) => {
              // Not finished: the body ends when the framework drains it to answer.
              if (!finished) guardUnreadBody(req, res, { discard: 0 })
              reject(err)
            })
          } else {
            afterFailedRead(req, res, err, () => reader.received, DEFAULT_DISCARD, options.timeout)
            reject(err)
          }
        },
      },
      true,
    )
    reader.start()
  }
}

/** Bodies declared this small are allocated at once. */
const EAGER_ALLOCATION = 64 * 1024

/** Bodies declared this large are collected in a growable buffer. */
const GROWN_ALLOCATION = 4 * 1024 * 1024

/**
 * Collects chunks into one Buffer, copying each chunk once, with memory held
 * for a body never far beyond the bytes received (a declared length is only
 * the client's word):
 * - up to 64 KiB declared, the Buffer is allocated at once;
 * - from 4 MiB declared, the body is copied into a resizable ArrayBuffer that
 *   reserves the declared length as address space only and doubles as bytes
 *   arrive (never more than twice what was received), so the chunks are
 *   garbage as soon as they are copied and no byte is copied twice;
 * - in between (or where a resizable buffer cannot be had), the Buffer of
 *   the declared length is allocated once a quarter of it has arrived: the
 *   chunks before that are copied twice.
 */
class Collector {
  readonly #expected: number | undefined
  #chunks: Buffer[] = []
  #length = 0
  #whole: Buffer | undefined
  #growable: Growable | undefined

  constructor(expected: number | undefined) {
    this.#expected = expected
    if (expected !== undefined && expected >= GROWN_ALLOCATION) this.#growable = reserve(expected)
  }

  add(chunk: Buffer): boolean {
    const expected = this.#expected
    if (this.#whole !== undefined) {
      chunk.copy(this.#whole, this.#length)
      this.#length += chunk.length
      return true
    }
    const growable = this.#growable
    if (growable !== undefined) {
      const end = this.#length + chunk.length
      if (end > growable.byteLength && !grow(growable, end)) return this.#ungrowable().add(chunk)
      new Uint8Array(growable, this.#length, chunk.length).set(chunk)
      this.#length = end
      return true
    }
    if (this.#length === 0 && chunk.length === expected) {
      // The whole body in one chunk (a small body usually is): keep it as it is.
      this.#whole = chunk
      this.#length = chunk.length
      return true
    }
    this.#chunks.push(chunk)
    this.#length += chunk.length
    if (expected !== undefined && (expected <= EAGER_ALLOCATION || this.#length * 4 >= expected)) {
      const whole = allocate(expected)
      if (whole === undefined) return true // no room for one piece: keep the chunks, and try once at the end
      let offset = 0
      for (const part of this.#chunks) offset += part.copy(whole, offset)
      this.#whole = whole
      this.#chunks = []
    }
    return true
  }

  /** No more room to grow (more than declared arrived, or the process is out of memory): go on as chunks. */
  #ungrowable(): this {
    if (this.#growable !== undefined && this.#length > 0) this.#chunks = [Buffer.from(this.#growable, 0, this.#length)]
    this.#growable = undefined
    return this
  }

  /** The bytes collected (the whole Buffer when it was allocated), and forget them. */
  take(): Buffer {
    let body: Buffer
    if (this.#growable !== undefined) body = this.#length === 0 ? EMPTY : Buffer.from(this.#growable, 0, this.#length)
    else body = this.#whole !== undefined ? this.#whole.subarray(0, this.#length) : concat(this.#chunks, this.#length)
    this.#whole = undefined
    this.#growable = undefined
    this.#chunks = []
    return body
  }
}

/** A Buffer of `size` bytes, or undefined when the process cannot have one that large now. */
function allocate(size: number): Buffer | undefined {
  try {
    return Buffer.allocUnsafe(size)
  } catch {
    return undefined
  }
}

/** A resizable ArrayBuffer (ES2024), typed here so that the sources compile against an older `lib`. */
interface Growable extends ArrayBuffer {
  readonly maxByteLength: number
  readonly resizable: boolean
  resize(byteLength: number): void
}

const GrowableBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => Growable

/** An empty resizable ArrayBuffer that can grow to `size` bytes, or undefined where there is none. */
function reserve(size: number): Growable | undefined {
  try {
    const buffer = new GrowableBuffer(0, { maxByteLength: size })
    return buffer.resizable ? buffer : undefined
  } catch {
    return undefined
  }
}

/**
 * Grow `buffer` to hold `end` bytes, doubling it (at least 64 KiB), never past
 * its maximum. False when it cannot: `end` is past the maximum, or the
 * process cannot have the memory now.
 */
function grow(buffer: Growable, end: number): boolean {
  if (end > buffer.maxByteLength) return false
  try {
    buffer.resize(Math.min(buffer.maxByteLength, Math.max(end, 2 * buffer.byteLength, EAGER_ALLOCATION)))
    return true
  } catch {
    return false
  }
}

const EMPTY = Buffer.alloc(0)

function concat(chunks: Buffer[], length: number): Buffer {
  if (chunks.length === 0) return EMPTY
  if (chunks.length === 1) return chunks[0]
  return Buffer.concat(chunks, length)
}
