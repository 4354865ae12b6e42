/**
 * The one reader of a request body off the wire. The streaming `BodyStream`
 * and the buffered `readBody` are both built on it, so each rule is written
 * once: the declared length is checked, the limit is counted after decoding,
 * an idle client is timed out, a client that goes away fails the read, and
 * the decoder is torn down on every failure.
 *
 * Ownership: from `start()` until it ends or fails, the reader owns the
 * request stream's flow and the decoder it creates, and it removes every
 * listener and timer it added when it ends, fails or is stopped. It never
 * answers the request: a failure goes to its sink, and what is left of a
 * body nobody reads is the unread-body policy's (`unread-body.ts`).
 */
import type { IncomingMessage } from 'node:http'
import type { Transform } from 'node:stream'
import {
  aborted,
  abortedBy,
  encodingInvalid,
  sizeInvalid,
  streamNotReadable,
  timedOut,
  tooLarge,
  tooLargeWhileReading,
  type BodyError,
} from './errors.js'
import { contentEncoding, createDecoder, encodingRefusal, type Inflate } from './decode.js'
import { contentLength, type HeadersLike } from './options.js'
import { clientGone, consumedBy, requestHasBody, wireComplete } from './request-state.js'

export interface WireOptions {
  /** Most decoded bytes to accept. */
  readonly limit: number
  /** Decode gzip, deflate and br; when false, an encoded body is a 415; `'pass'`: never decoded, never refused. */
  readonly inflate: Inflate
  /** Longest idle gap between two chunks from the client, in ms; 0 for none. */
  readonly timeout: number
}

/** Where the reader delivers a body. */
export interface WireSink {
  /** A decoded chunk. Return false to stop the flow until `resume()`. */
  data(chunk: Buffer): boolean
  /** A chunk as it came off the wire, before decoding (for a sink that replays it). */
  wire?(chunk: Buffer): void
  /** The whole body arrived, with its declared length, and decoded. */
  end(): void
  /** The read failed. Called at most once, and never after `end()`. */
  error(err: BodyError): void
}

/**
 * Why a body is refused from its headers alone, before any byte is read: a
 * Content-Encoding it cannot decode (415), or a declared Content-Length over
 * the limit for an identity body (413). The reader's own first check, and the
 * one a streaming route raises before its handler runs.
 */
export function refusalFromHeaders(req: HeadersLike, options: Pick<WireOptions, 'limit' | 'inflate'>): BodyError | undefined {
  const encoding = contentEncoding(req.headers)
  const refusal = encodingRefusal(encoding, options.inflate)
  if (refusal !== undefined) return refusal
  const expected = contentLength(req.headers)
  const undecoded = encoding === 'identity' || options.inflate === 'pass'
  return undecoded && expected !== undefined && expected > options.limit ? tooLarge(options.limit, expected) : undefined
}

export class WireReader {
  /** The declared Content-Length, or undefined for a chunked (or HTTP/2) body. */
  readonly expected: number | undefined
  /** Wire bytes received so far (before decoding). */
  received = 0
  /** Decoded bytes delivered so far. */
  decoded = 0

  readonly #req: IncomingMessage
  readonly #options: WireOptions
  readonly #sink: WireSink
  readonly #holdEnd: boolean
  #state: 'idle' | 'reading' | 'done' = 'idle'
  #decoder: Transform | null = null
  #wireDone = false
  /** The sink asked to stop: the reader, not the client, holds the body back. */
  #paused = false
  /** Reading with 'readable' and read() rather than 'data'. */
  #pulling = false
  #timer: NodeJS.Timeout | undefined
  /** Where the reader waits in `toArm` (see `armSoon`), or -1. */
  #armSlot = -1
  /** Listeners are on the request. */
  #attached = false
  /** Made when needed: the 'readable' listener of a pulling read, and the decoder's listeners. */
  #pull: (() => void) | undefined
  #onDecoded: ((chunk: Buffer) => void) | undefined
  #onDecoderEnd: (() => void) | undefined
  #onDecoderError: ((err: Error) => void) | undefined
  #onDecoderDrain: (() => void) | undefined

  /**
   * `holdEnd`: the sink will put the bytes back into the request (`handBack`),
   * so the reader must finish before Node emits the request's 'end'.
   */
  constructor(req: IncomingMessage, options: WireOptions, sink: WireSink, holdEnd = false) {
    this.#req = req
    this.#options = options
    this.#sink = sink
    this.#holdEnd = holdEnd
    this.expected = contentLength(req.headers)
  }

  /** True once the body was delivered whole, the read failed, or it was stopped. */
  get done(): boolean {
    return this.#state === 'done'
  }

  /** Whether every byte of the body has come off the wire. */
  get wireDone(): boolean {
    return this.#wireDone
  }

  /** Start reading. A body that is refused from what is known already fails here, synchronously. */
  start(): void {
    if (this.#state !== 'idle') return
    this.#state = 'reading'
    const req = this.#req
    const consumer = consumedBy(req)
    // A buffered read fails as body-parser's would; a streaming one says why and what to do.
    if (consumer !== undefined) return this.#fail(streamNotReadable(this.#holdEnd ? undefined : consumer))
    if (clientGone(req)) return this.#fail(aborted(this.expected, 0))
    const refusal = refusalFromHeaders(req, this.#options)
    if (refusal !== undefined) return this.#fail(refusal)
    const decoder = createDecoder(contentEncoding(req.headers), this.#options.inflate)
    const { expected } = this
    if (!requestHasBody(req) || (decoder === null && expected === 0)) {
      // Nothing to read; the stream is left untouched.
      this.#wireDone = true
      return this.#finish()
    }
    if (decoder !== null) {
      this.#decoder = decoder
      // Listeners made here, not per reader: most bodies are not encoded.
      this.#onDecoded = (chunk: Buffer) => this.#deliver(chunk, decoder)
      this.#onDecoderEnd = () => {
        if (this.#state === 'reading') this.#finish()
      }
      this.#onDecoderError = (err: Error) => this.#fail(encodingInvalid(err, contentEncoding(this.#req.headers)))
      this.#onDecoderDrain = () => {
        if (!this.#wireDone && !this.#paused && !this.#pulling) this.#req.resume()
      }
      decoder.on('data', this.#onDecoded)
      decoder.on('end', this.#onDecoderEnd)
      decoder.on('error', this.#onDecoderError)
      decoder.on('drain', this.#onDecoderDrain)
    }
    this.#attached = true
    req.on('close', this.#onClose)
    req.on('error', this.#onError)
    this.#armSlot = armSoon(this)
    // A reader that will put the bytes back must see the last one before Node
    // emits 'end'. With a known length and no decoder, 'data' tells (the last
    // declared byte); otherwise read() is asked while the stream says there is more.
    this.#pulling = this.#holdEnd && (decoder !== null || expected === undefined)
    if (this.#pulling) {
      this.#pull = () => this.#pullNow()
      this.#pull()
      if (this.#state === 'reading') req.on('readable', this.#pull)
      return
    }
    req.on('data', this.#onWire)
    req.on('end', this.#onWireEnd)
    if (req.readableFlowing !== true) req.resume() // a stream paused before keeps waiting for 'data' otherwise
  }

  /** The sink can take more. */
  resume(): void {
    if (this.#state !== 'reading' || !this.#paused) return
    this.#paused = false
    this.#armTimer()
    if (this.#decoder !== null) this.#decoder.resume()
    if (!this.#wireDone && !this.#pulling) this.#req.resume()
  }

  /** Stop reading for good, without telling the sink (its owner is going away). */
  stop(): void {
    if (this.#state === 'done') return
    this.#state = 'done'
    this.#teardown(true)
  }

  /**
   * Put `bytes` back at the front of the request after a `holdEnd` read, and
   * leave the stream as if nobody had read it: a later `on('data')` or
   * `pipe()` gets the same bytes, then 'end'.
   */
  handBack(bytes: Buffer): void {
    const req = this.#req
    if (bytes.length > 0) req.unshift(bytes)
    // The last-byte pause left the stream explicitly paused, and a later
    // on('data') would not start it: put it back to "not flowing yet".
    if (req.readableFlowing === false) (req as { readableFlowing: boolean | null }).readableFlowing = null
    // Node's server drains a request nobody read when its response finishes,
    // and only then lets go of it: until the request's 'end', the
    // connection's parser holds it (and its response and body) for as long
    // as the connection stays open. Reading set the flag that says someone
    // reads; a request whose whole body arrived before anyone read it does
    // not have it set, so clear it, and a replay nobody reads is drained too.
    const consuming = req as { _consuming?: boolean }
    if (consuming._consuming === true) consuming._consuming = false
  }

  #pullNow(): void {
    const req = this.#req
    while (this.#state === 'reading' && !this.#wireDone) {
      // An ended request with nothing buffered is complete: do not call read(),
      // which would schedule the 'end' event that a replay must hold back.
      if (wireComplete(req) && req.readableLength === 0) {
        this.#onWireEnd()
        return
      }
      const chunk = req.read() as Buffer | null
      if (chunk === null) return
      this.#onWire(chunk)
    }
  }

  #onWire = (chunk: Buffer): void => {
    if (this.#state !== 'reading') return
    this.received += chunk.length
    const { expected } = this
    if (expected !== undefined && this.received > expected) {
      this.#fail(sizeInvalid(expected, this.received))
      return
    }
    this.#timer?.refresh()
    this.#sink.wire?.(chunk)
    if (this.#decoder === null) {
      this.#deliver(chunk, this.#req)
      if (this.#holdEnd && this.received === expected && this.#state === 'reading') {
        // The last declared byte: pause before Node can emit 'end'.
        this.#req.pause()
        this.#onWireEnd()
      }
    } else if (!this.#decoder.write(chunk)) {
      this.#req.pause()
    }
  }

  #deliver(chunk: Buffer, source: { pause(): unknown }): void {
    if (this.#state !== 'reading') return
    this.decoded += chunk.length
    if (this.decoded > this.#options.limit) {
      this.#fail(tooLargeWhileReading(this.#options.limit, this.decoded))
      return
    }
    if (!this.#sink.data(chunk) && this.#state === 'reading') {
      source.pause()
      this.#paused = true
    }
  }

  #onWireEnd = (): void => {
    if (this.#state !== 'reading' || this.#wireDone) return
    this.#wireDone = true
    this.#clearTimer()
    const { expected } = this
    if (expected !== undefined && this.received !== expected) {
      this.#fail(sizeInvalid(expected, this.received))
      return
    }
    this.#detachRequest()
    if (this.#decoder === null) this.#finish()
    else this.#decoder.end() // the decoder finishes the job
  }

  #onClose = (): void => {
    if (!this.#wireDone && !wireComplete(this.#req)) this.#fail(aborted(this.expected, this.received))
  }

  #onError = (err: Error & { code?: string }): void => {
    if (err.code === 'ECONNRESET' || err.message === 'aborted') this.#fail(aborted(this.expected, this.received))
    else this.#fail(abortedBy(err, this.expected, this.received))
  }

  /** Arm the idle timer if the body is still being read (see `armSoon`). */
  armIfReading(): void {
    this.#armSlot = -1
    if (this.#state === 'reading' && this.#timer === undefined) this.#armTimer()
  }

  #armTimer(): void {
    const { timeout } = this.#options
    if (timeout === 0 || this.#wireDone) return
    if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTimeout, timeout)
      this.#timer.unref()
    } else {
      this.#timer.refresh()
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  #onTimeout = (): void => {
    if (this.#paused) {
      this.#timer?.refresh() // the reader is slow, not the client: one timer for the whole body
      return
    }
    this.#timer = undefined
    this.#fail(timedOut(this.#options.timeout, this.received))
  }

  #finish(): void {
    this.#state = 'done'
    this.#teardown(false)
    this.#sink.end()
  }

  #fail(err: BodyError): void {
    if (this.#state === 'done') return
    this.#state = 'done'
    this.#teardown(true)
    this.#sink.error(err)
  }

  #detachRequest(): void {
    if (!this.#attached) return
    this.#attached = false
    const req = this.#req
    req.removeListener('data', this.#onWire)
    req.removeListener('end', this.#onWireEnd)
    if (this.#pull !== undefined) req.removeListener('readable', this.#pull)
    req.removeListener('close', this.#onClose)
    req.removeListener('error', this.#onError)
  }

  /** Remove every listener and timer; on a failure, destroy the decoder and stop the flow. */
  #teardown(failed: boolean): void {
    this.#clearTimer()
    if (this.#armSlot !== -1) {
      unarm(this, this.#armSlot)
      this.#armSlot = -1
    }
    this.#detachRequest()
    const decoder = this.#decoder
    if (decoder !== null) {
      decoder.removeListener('data', this.#onDecoded!)
      decoder.removeListener('end', this.#onDecoderEnd!)
      decoder.removeListener('drain', this.#onDecoderDrain!)
      if (failed) {
        decoder.removeListener('error', this.#onDecoderError!)
        decoder.on('error', noop)
        decoder.destroy()
      }
    }
    if (failed && !this.#wireDone) this.#req.pause()
  }
}

function noop(): void {}

/**
 * Readers whose idle timer is armed at the end of this turn of the event
 * loop rather than when they start: a small body usually arrives in the same
 * turn as its headers and is read whole before then, and it never needs a
 * timer. One `setImmediate` serves every reader started in the turn.
 *
 * A reader that finishes first leaves its slot: otherwise every request
 * served in the turn (its reader, request, response and body) would be kept
 * until the turn ends, and with many connections a turn serves dozens. Kept
 * alive that long, they outlive the young generation's collections, which
 * then copy them and grow.
 */
let toArm: (WireReader | undefined)[] = []

/** Wait for the end of the turn; returns the reader's slot. */
function armSoon(reader: WireReader): number {
  if (toArm.length === 0) setImmediate(armPending)
  return toArm.push(reader) - 1
}

function unarm(reader: WireReader, slot: number): void {
  // The slot may belong to a later turn's list by now: then it is someone else's.
  if (toArm[slot] === reader) toArm[slot] = undefined
}

function armPending(): void {
  const readers = toArm
  toArm = []
  for (const reader of readers) reader?.armIfReading()
}
