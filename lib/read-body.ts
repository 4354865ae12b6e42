/**
 * Buffered reading: the whole body into one Buffer, with every integrity rule
 * of the streaming side, and then the request stream re-armed so that later
 * readers of `req` receive the same bytes again.
 *
 * Ownership: `readBody` owns the request stream until its promise settles and
 * the decoder it creates until then too (it destroys it on error). After a
 * successful read the request is left readable, holding the wire bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Transform } from 'node:stream'
import { aborted, bodyError, sizeInvalid, tooLarge, tooLargeWhileReading, type BodyError } from './errors.js'
import { contentEncoding, createDecoder } from './decode.js'
import { contentLength } from './options.js'
import { closeConnection, consumedBy, wireComplete } from './request-state.js'

export interface ReadBodyOptions {
  /** Most decoded bytes to accept. */
  limit: number
  /** Decode gzip, deflate and br; when false, an encoded body is a 415. */
  inflate: boolean
  /** Longest idle gap between two chunks, in ms; 0 for none. */
  timeout: number
}

export interface ReadBodyResult {
  /** The decoded body. */
  body: Buffer
  /** The bytes as they came off the wire (the same Buffer as `body` for identity). */
  wire: Buffer
}

/**
 * Read the whole body of `req`, decoded and limited, then put the wire bytes
 * back into `req` so that it can be read again as if untouched.
 *
 * When the Content-Length is known and the body is not encoded, the buffer is
 * allocated once at that size and every chunk is copied into it exactly once.
 * `res`, when given, gets `Connection: close` if the read fails before the
 * body is complete, so that a half-read body never poisons a kept-alive socket.
 */
export function readBody(
  req: IncomingMessage,
  options: ReadBodyOptions,
  res?: ServerResponse,
): Promise<ReadBodyResult> {
  return new Promise<ReadBodyResult>((resolve, reject) => {
    const consumer = consumedBy(req)
    if (consumer !== undefined) {
      reject(consumedError(consumer))
      return
    }

    const expected = contentLength(req.headers)
    const encoding = contentEncoding(req.headers)
    const { limit } = options
    let received = 0 // wire bytes
    let decodedLength = 0
    let settled = false
    let timer: NodeJS.Timeout | undefined
    let pausedHere = false
    let decoder: Transform | null = null
    try {
      decoder = createDecoder(encoding, options.inflate)
    } catch (err) {
      fail(err as BodyError)
      return
    }
    if (decoder === null && expected !== undefined && expected > limit) {
      fail(tooLarge(limit, expected))
      return
    }

    // Identity with a known length: one allocation of that length, one copy per
    // byte. The length is only the client's word, so the allocation waits until
    // an eighth of it has arrived (a client that declares 50 MB and sends
    // nothing holds no 50 MB); the bytes before that are copied twice.
    const sized = decoder === null && expected !== undefined
    let whole: Buffer | undefined
    const wireChunks: Buffer[] = []
    const decodedChunks: Buffer[] = []

    function armTimer(): void {
      if (options.timeout === 0) return
      if (timer === undefined) {
        timer = setTimeout(onTimeout, options.timeout)
        timer.unref?.()
      } else {
        timer.refresh()
      }
    }

    function onTimeout(): void {
      fail(bodyError('request.timeout', 'request body timeout', { timeout: options.timeout, received }))
    }

    function onWire(chunk: Buffer): void {
      if (sized) {
        if (received + chunk.length > expected!) {
          fail(sizeInvalid(expected!, received + chunk.length))
          return
        }
        if (whole !== undefined) {
          chunk.copy(whole, received)
          received += chunk.length
          return
        }
        received += chunk.length
        wireChunks.push(chunk)
        if (expected! <= EAGER_ALLOCATION || received * 8 >= expected!) {
          whole = Buffer.allocUnsafe(expected!)
          let offset = 0
          for (const part of wireChunks) offset += part.copy(whole, offset)
          wireChunks.length = 0
        }
        return
      }
      received += chunk.length
      wireChunks.push(chunk)
      if (decoder === null) {
        if (received > limit) fail(tooLargeWhileReading(limit, received))
      } else {
        decoder.write(chunk)
      }
    }

    function onDecoded(chunk: Buffer): void {
      decodedLength += chunk.length
      if (decodedLength > limit) {
        fail(tooLargeWhileReading(limit, decodedLength))
        return
      }
      decodedChunks.push(chunk)
    }

    function pull(): void {
      armTimer()
      while (!settled) {
        // An ended request with nothing buffered is complete: do not call read(),
        // which would schedule the 'end' event that the replay must hold back.
        if (wireComplete(req) && req.readableLength === 0) {
          onWireEnd()
          return
        }
        const chunk = req.read() as Buffer | null
        if (chunk === null) return
        onWire(chunk)
      }
    }

    /**
     * Flowing read of an identity body of known length: no socket pause and
     * resume per chunk as with 'readable'. On the last declared byte the
     * request is paused before Node can emit 'end', so the replay can still
     * put the body back in front.
     */
    function onData(chunk: Buffer): void {
      armTimer()
      onWire(chunk)
      if (!settled && received === expected) {
        req.pause()
        pausedHere = true
        finish(whole!) // allocated by now: all of it has arrived
      }
    }

    function onWireEnd(): void {
      if (expected !== undefined && received !== expected) {
        fail(sizeInvalid(expected, received))
        return
      }
      if (decoder === null) {
        finish(whole ?? concat(wireChunks, received))
      } else {
        detach() // the wire is done; the decoder finishes the job
        decoder.end()
      }
    }

    function onDecoderEnd(): void {
      if (settled) return
      finish(concat(decodedChunks, decodedLength))
    }

    function onDecoderError(err: Error): void {
      fail(bodyError('encoding.invalid', err, { encoding }))
    }

    function onAborted(): void {
      fail(aborted(expected, received))
    }

    function onClose(): void {
      if (!wireComplete(req)) onAborted()
    }

    function onError(err: Error & { code?: string }): void {
      if (err.code === 'ECONNRESET' || err.message === 'aborted') onAborted()
      else fail(bodyError('request.aborted', err, { code: 'ECONNABORTED', expected, received }))
    }

    function detach(): void {
      req.removeListener('readable', pull)
      req.removeListener('data', onData)
      req.removeListener('close', onClose)
      req.removeListener('error', onError)
      if (timer !== undefined) clearTimeout(timer)
    }

    function finish(body: Buffer): void {
      settled = true
      detach()
      const wire = whole ?? (decoder === null ? body : concat(wireChunks, received))
      // Re-arm the request: the stream has ended but has not emitted 'end'
      // (nobody read past the last chunk), so the bytes can go back in front.
      if (wire.length > 0) req.unshift(wire)
      if (pausedHere) {
        // pause() left the stream explicitly paused, and a later on('data')
        // would not start it. Hand it back as if never read: adding and
        // removing a 'readable' listener resets it to "not flowing yet".
        req.on('readable', noop)
        req.removeListener('readable', noop)
      }
      whole = undefined
      resolve({ body, wire })
    }

    function fail(err: BodyError): void {
      if (settled) return
      settled = true
      detach()
      if (decoder !== null) {
        decoder.removeAllListeners('data')
        decoder.on('error', noop)
        decoder.destroy()
      }
      if (res !== undefined && !wireComplete(req)) closeConnection(res)
      reject(err)
    }

    if (decoder !== null) {
      decoder.on('data', onDecoded)
      decoder.on('end', onDecoderEnd)
      decoder.on('error', onDecoderError)
    }
    // Take what is already buffered first: a body that is complete by now
    // settles without a 'readable' listener, whose attachment would schedule
    // a read(0) and so the 'end' event the replay must hold back.
    if (sized && expected === 0) {
      finish(EMPTY) // declared empty: nothing to read, and the stream stays untouched
      return
    }
    if (sized && req.readableFlowing !== false) {
      req.on('close', onClose)
      req.on('error', onError)
      req.on('data', onData)
      armTimer()
      return
    }
    pull()
    if (settled) return
    req.on('close', onClose)
    req.on('error', onError)
    req.on('readable', pull)
  })
}

/** Bodies declared this small are allocated at once. */
const EAGER_ALLOCATION = 64 * 1024
const EMPTY = Buffer.alloc(0)

function concat(chunks: Buffer[], length: number): Buffer {
  if (chunks.length === 1) return chunks[0]
  return Buffer.concat(chunks, length)
}

function noop(): void {}

/** The error for a body that something else already read. */
export function consumedError(consumer: string): BodyError {
  return bodyError(
    'stream.not.readable',
    `stream is not readable: the request body was already read by ${consumer} before stream-shim saw it. ` +
      'Mount streamShim() before any body parser (express.json(), urlencoded(), text(), raw(), koa-bodyparser) ' +
      'or remove those parsers: streamShim() parses bodies for buffered routes itself.',
    { expose: false },
  )
}
