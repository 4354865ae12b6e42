/**
 * The body of a streaming request: a Node `Readable` of Buffers that reads the
 * request incrementally, with backpressure, decoding, a limit counted after
 * decoding, length checks and an idle timeout.
 *
 * Ownership: a BodyStream owns the request stream from its first read and
 * the decoder it creates. It ends with an error (never a clean end) when the
 * client goes away or sends fewer bytes than it declared, and it removes every
 * listener and timer it added when it ends, fails or is destroyed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable, type Transform } from 'node:stream'
import type { ReadableStream } from 'node:stream/web'
import { aborted, bodyError, sizeInvalid, tooLarge, tooLargeWhileReading, type BodyError } from './errors.js'
import { contentEncoding, createDecoder } from './decode.js'
import { contentLength, type HeadersLike } from './options.js'
import { parseJson, textCharset, decodeText } from './text.js'
import { closeConnection, consumedBy, requestHasBody, wireComplete } from './request-state.js'
import { consumedError } from './read-body.js'
import { DEFAULT_DISCARD, discardBody, warnUnreadBody } from './unread-body.js'

export interface BodyStreamOptions {
  /** Most decoded bytes to accept. */
  limit: number
  /** Decode gzip, deflate and br; when false an encoded body fails with 415. */
  inflate: boolean
  /** Longest idle gap between chunks while the reader waits, in ms; 0 for none. */
  timeout: number
  /** Called once, just before the first byte is asked of the client. */
  onStart?: () => void
  /**
   * Most bytes of a body left unread when the response finishes that are read
   * and thrown away to keep the connection; beyond that it is closed. Default
   * 256 KiB. HTTP/1 only.
   */
  discard?: number
  /** The route, for the unread-body warning (`'PUT /files/:name'`). */
  route?: string
}

/**
 * The errors a streaming request can be refused with from its headers alone,
 * before any byte of the body is read: an unsupported Content-Encoding (415)
 * or a declared Content-Length over the limit (413).
 */
export function checkHeaders(req: HeadersLike, options: Pick<BodyStreamOptions, 'limit' | 'inflate'>): BodyError | undefined {
  const encoding = contentEncoding(req.headers)
  try {
    createDecoder(encoding, options.inflate)?.destroy()
  } catch (err) {
    return err as BodyError
  }
  const expected = contentLength(req.headers)
  if (encoding === 'identity' && expected !== undefined && expected > options.limit) {
    return tooLarge(options.limit, expected)
  }
  return undefined
}

export class BodyStream extends Readable {
  /** The declared Content-Length, or undefined for a chunked body. */
  readonly expectedLength: number | undefined
  /** Fires when the client goes away before the exchange is complete. */
  readonly signal: AbortSignal

  readonly #req: IncomingMessage
  readonly #res: ServerResponse | undefined
  readonly #options: BodyStreamOptions
  readonly #abort = new AbortController()
  #decoder: Transform | null = null
  #started = false
  #wireDone = false
  #received = 0
  #decoded = 0
  #timer: NodeJS.Timeout | undefined
  /** The reader, not the client, is holding the body back (push() said stop). */
  #readerBehind = false
  #unreadTimer: NodeJS.Timeout | undefined
  #collected: Promise<Buffer> | undefined

  constructor(req: IncomingMessage, res: ServerResponse | undefined, options: BodyStreamOptions) {
    // Above the 64 KiB a socket read delivers, so a reader keeping up does not
    // pause and resume the socket on every chunk.
    super({ highWaterMark: 256 * 1024 })
    this.#req = req
    this.#res = res
    this.#options = options
    this.expectedLength = contentLength(req.headers)
    this.signal = this.#abort.signal
    // The signal follows the client from the start, read or not.
    req.once('aborted', this.#onClientGone)
    res?.once('close', this.#onResponseClose)
    if (res !== undefined && !('stream' in res) && requestHasBody(req)) {
      res.once('prefinish', this.#onResponseDone)
      // A handler that neither reads nor answers gets the idle timeout too.
      if (options.timeout > 0 && !wireComplete(req)) {
        this.#unreadTimer = setTimeout(this.#onUnreadTimeout, options.timeout)
        this.#unreadTimer.unref()
      }
    }
  }

  /** Wire bytes received so far (before decoding). */
  get bytesReceived(): number {
    return this.#received
  }

  /** Ask the client for the body now (sends `100 Continue` where one is awaited). */
  accept(): this {
    this.#start()
    return this
  }

  override _read(): void {
    if (!this.#started) {
      this.#start()
      return
    }
    this.#readerBehind = false
    this.#armTimer()
    if (this.#decoder !== null) this.#decoder.resume()
    else this.#req.resume()
  }

  #start(): void {
    if (this.#started || this.destroyed) return
    this.#started = true
    this.#clearUnreadTimer()
    const req = this.#req
    const consumer = consumedBy(req)
    if (consumer !== undefined) {
      this.destroy(consumedError(consumer))
      return
    }
    try {
      this.#decoder = createDecoder(contentEncoding(req.headers), this.#options.inflate)
    } catch (err) {
      this.destroy(err as Error)
      return
    }
    this.#options.onStart?.()
    if (!requestHasBody(req) || (wireComplete(req) && req.readableLength === 0)) {
      this.#wireDone = true
      this.push(null)
      return
    }
    const decoder = this.#decoder
    if (decoder !== null) {
      decoder.on('data', this.#onDecoded)
      decoder.on('end', this.#onDecoderEnd)
      decoder.on('error', this.#onDecoderError)
      decoder.on('drain', this.#onDecoderDrain)
    }
    req.on('data', this.#onWire)
    req.on('end', this.#onWireEnd)
    req.on('close', this.#onClose)
    req.on('error', this.#onError)
    this.#armTimer()
  }

  #onWire = (chunk: Buffer): void => {
    this.#received += chunk.length
    this.#armTimer()
    if (this.expectedLength !== undefined && this.#received > this.expectedLength) {
      this.destroy(sizeInvalid(this.expectedLength, this.#received))
      return
    }
    if (this.#decoder === null) {
      this.#emitDecoded(chunk, this.#req)
    } else if (!this.#decoder.write(chunk)) {
      this.#req.pause()
    }
  }

  #onDecoded = (chunk: Buffer): void => {
    this.#emitDecoded(chunk, this.#decoder!)
  }

  #emitDecoded(chunk: Buffer, source: { pause(): unknown }): void {
    this.#decoded += chunk.length
    if (this.#decoded > this.#options.limit) {
      this.destroy(tooLargeWhileReading(this.#options.limit, this.#decoded))
      return
    }
    if (!this.push(chunk)) {
      source.pause()
      this.#readerBehind = true // the reader is slow, not the client: the idle clock waits
    }
  }

  #onDecoderDrain = (): void => {
    if (!this.#wireDone) this.#req.resume()
  }

  #onWireEnd = (): void => {
    this.#wireDone = true
    this.#clearTimer()
    if (this.expectedLength !== undefined && this.#received !== this.expectedLength) {
      this.destroy(sizeInvalid(this.expectedLength, this.#received))
      return
    }
    if (this.#decoder === null) this.push(null)
    else this.#decoder.end()
  }

  #onDecoderEnd = (): void => {
    this.push(null)
  }

  #onDecoderError = (err: Error): void => {
    this.destroy(bodyError('encoding.invalid', err, { encoding: contentEncoding(this.#req.headers) }))
  }

  #onClose = (): void => {
    if (!this.#wireDone) this.#onClientGone()
  }

  #onError = (err: Error & { code?: string }): void => {
    if (err.code === 'ECONNRESET' || err.message === 'aborted') this.#onClientGone()
    else this.destroy(bodyError('request.aborted', err, { code: 'ECONNABORTED', received: this.#received }))
  }

  #onClientGone = (): void => {
    if (!this.#abort.signal.aborted) this.#abort.abort(aborted(this.expectedLength, this.#received))
    if (!this.#wireDone && !this.destroyed) this.#failQuietly(aborted(this.expectedLength, this.#received))
  }

  /**
   * Destroy with `err` even when nobody listens for errors (a handler that
   * never read): a client going away must not crash the process. The error
   * stays as `errored`, so a late reader still gets it.
   */
  #failQuietly(err: Error): void {
    if (this.listenerCount('error') === 0) this.once('error', noop)
    this.destroy(err)
  }

  #onResponseClose = (): void => {
    if (this.#res !== undefined && !this.#res.writableFinished) this.#onClientGone()
  }

  /**
   * The response is complete (its last bytes are queued) while the body may
   * not be: stop reading it for the handler, then discard the rest up to the
   * `discard` limit or close the connection after the response.
   */
  #onResponseDone = (): void => {
    this.#clearUnreadTimer()
    const req = this.#req
    const res = this.#res!
    // Unread by the handler and by anything else (multer on a streaming route reads `req` itself).
    const unread = !this.readableEnded && !req.readableEnded && this.expectedLength !== 0 && !this.signal.aborted
    if (unread && res.statusCode < 400 && this.#options.route !== undefined) warnUnreadBody(this.#options.route)
    if (this.#wireDone || wireComplete(req) || req.destroyed || this.signal.aborted) return
    if (!this.destroyed) this.destroy()
    // Node closes the connection after this response already (Connection:
    // close, or a 100 Continue never sent so the client sends no body).
    if ((res as { _last?: boolean })._last === true) return
    discardBody(req, res, {
      discard: this.#options.discard ?? DEFAULT_DISCARD,
      timeout: this.#options.timeout,
      received: this.#received,
    })
  }

  /** Nobody read the body and nobody answered within the idle timeout: answer 408 and close. */
  #onUnreadTimeout = (): void => {
    this.#unreadTimer = undefined
    const res = this.#res!
    if (this.#started || this.destroyed || res.headersSent || wireComplete(this.#req)) return
    const err = bodyError('request.timeout', 'request body timeout: the handler neither read the body nor answered', {
      timeout: this.#options.timeout,
      received: this.#received,
    })
    res.writeHead(err.status, {
      connection: 'close',
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(err.message),
    })
    res.end(err.message)
    this.#failQuietly(err)
  }

  #clearUnreadTimer(): void {
    if (this.#unreadTimer !== undefined) {
      clearTimeout(this.#unreadTimer)
      this.#unreadTimer = undefined
    }
  }

  #armTimer(): void {
    const timeout = this.#options.timeout
    if (timeout === 0 || this.#wireDone || !this.#started) return
    if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTimeout, timeout)
      this.#timer.unref?.()
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
    if (this.#readerBehind) {
      this.#timer?.refresh() // one timer for the whole body, not one per chunk
      return
    }
    this.#timer = undefined
    this.destroy(
      bodyError('request.timeout', 'request body timeout', { timeout: this.#options.timeout, received: this.#received }),
    )
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer()
    this.#clearUnreadTimer()
    const req = this.#req
    req.removeListener('data', this.#onWire)
    req.removeListener('end', this.#onWireEnd)
    req.removeListener('close', this.#onClose)
    req.removeListener('error', this.#onError)
    req.removeListener('aborted', this.#onClientGone)
    this.#res?.removeListener('close', this.#onResponseClose)
    const decoder = this.#decoder
    if (decoder !== null) {
      decoder.removeAllListeners('data')
      decoder.removeListener('end', this.#onDecoderEnd)
      decoder.removeListener('drain', this.#onDecoderDrain)
      decoder.on('error', noop)
      decoder.destroy()
    }
    if (!this.#wireDone) {
      req.pause()
      // A reader that stops early (a `for await` left with break or return
      // destroys with an AbortError) leaves the rest to the unread-body policy.
      if (err !== null && err.name !== 'AbortError' && this.#res !== undefined) closeConnection(this.#res)
    }
    callback(err)
  }

  /** The whole body as one Buffer, under the route's limit. Reads once; later calls share the result. */
  buffer(): Promise<Buffer> {
    this.#collected ??= collect(this)
    return this.#collected
  }

  /** The whole body decoded with the charset of its Content-Type (UTF-8 by default). */
  async text(): Promise<string> {
    const charset = textCharset(this.#req, 'utf-8')
    return decodeText(await this.buffer(), charset)
  }

  /** The whole body parsed as JSON; a syntax error is a 400 `entity.parse.failed`. */
  async json<T = unknown>(): Promise<T> {
    return parseJson(await this.text(), false) as T
  }

  /** This body as a web `ReadableStream` of Uint8Array chunks. */
  toWeb(): ReadableStream<Uint8Array> {
    return Readable.toWeb(this) as ReadableStream<Uint8Array>
  }
}

async function collect(stream: BodyStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer)
    length += (chunk as Buffer).length
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)
}

function noop(): void {}
