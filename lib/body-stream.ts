/**
 * The body of a streaming request: a Node `Readable` of Buffers that reads the
 * request incrementally, with backpressure, through the wire reader (decoding,
 * a limit counted after decoding, length checks and an idle timeout).
 *
 * Ownership: a BodyStream owns the request stream from its first read, and
 * the wire reader it starts. It ends with an error (never a clean end) when
 * the client goes away or sends fewer bytes than it declared. An error the
 * client caused is never thrown at nobody: like Node's own request, the
 * stream emits it only to listeners that exist, keeps it for a later reader
 * (`for await`, `pipeline`), and otherwise hands it to the adapter, which
 * passes it to the framework's error handling.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { ReadableStream } from 'node:stream/web'
import { abortError, aborted, isBodyError, prematureClose, type BodyError } from './errors.js'
import { contentLength } from './options.js'
import { parseJson, textCharset, decodeText } from './text.js'
import { closeConnection, requestHasBody, wireComplete } from './request-state.js'
import { DEFAULT_DISCARD, afterFailedRead, giveUpBody, guardUnreadBody, warnUnreadBody } from './unread-body.js'
import { stepIn } from './step-aside.js'
import { WireReader, type WireOptions } from './wire-reader.js'

export interface BodyStreamOptions extends WireOptions {
  /** Called once, just before the first byte is asked of the client. */
  onStart?: () => void
  /**
   * Most declared bytes of a body left unread that are thrown away to keep
   * the connection; with more left it is closed after the response. Default
   * 256 KiB. HTTP/1 only.
   */
  discard?: number
  /** The route, for the unread-body warning (`'PUT /files/:name'`). */
  route?: string
  /**
   * Why the body is refused from its headers alone (413, 415, 500): the
   * stream fails with it on the first read, without asking for the body.
   */
  refusal?: BodyError
}

/** Where each stream's unobserved errors go (see `onUnobservedError`). */
const unobservedHandlers = new WeakMap<BodyStream, (err: BodyError) => void>()

export class BodyStream extends Readable {
  /** The declared Content-Length, or undefined for a chunked body. */
  readonly expectedLength: number | undefined
  /** Fires when the client goes away before the exchange is complete. */
  readonly signal: AbortSignal
  /** Why this body is refused from its headers, if it is: reading it fails with this error at once. */
  readonly refusal: BodyError | undefined

  readonly #req: IncomingMessage
  readonly #res: ServerResponse | undefined
  readonly #options: BodyStreamOptions
  readonly #abort = new AbortController()
  #reader: WireReader | undefined
  #collected: Promise<Buffer> | undefined
  /** Where the reader's chunks go while a `for await` takes them straight from it (see the iterator). */
  #direct: ((chunk: Buffer) => boolean) | undefined

  constructor(req: IncomingMessage, res: ServerResponse | undefined, options: BodyStreamOptions) {
    // Above the 64 KiB a socket read delivers, so a reader keeping up does not
    // pause and resume the socket on every chunk.
    super({ highWaterMark: 256 * 1024 })
    this.#req = req
    this.#res = res
    this.#options = options
    this.expectedLength = contentLength(req.headers)
    this.signal = this.#abort.signal
    this.refusal = options.refusal
    // The signal follows the client from the start, read or not.
    req.once('aborted', this.#onClientGone)
    res?.once('close', this.#onResponseClose)
    if (res !== undefined && requestHasBody(req)) {
      // Refused with more than `discard` left: say so in the response's headers.
      const rest = this.expectedLength
      if (this.refusal !== undefined && !wireComplete(req) && (rest === undefined || rest > this.#discard)) closeConnection(res)
      res.once('prefinish', this.#onResponseDone)
      // Whoever drains the body without reading it (the framework's error
      // handling, Node after the response) gets it ended at once.
      guardUnreadBody(req, res, { discard: this.#discard, received: () => this.bytesReceived })
    }
  }

  /** Whether the body has been asked for: read, or `accept()`ed. */
  get accepted(): boolean {
    return this.#reader !== undefined
  }

  /** Wire bytes received so far (before decoding). */
  get bytesReceived(): number {
    return this.#reader?.received ?? 0
  }

  get #discard(): number {
    return this.#options.discard ?? DEFAULT_DISCARD
  }

  /** Ask the client for the body now (sends `100 Continue` where one is awaited). */
  accept(): this {
    this.#start()
    return this
  }

  override _read(): void {
    if (this.#reader === undefined) this.#start()
    else this.#reader.resume()
  }

  #start(): void {
    if (this.#reader !== undefined || this.destroyed) return
    stepIn(this.#req)
    if (this.refusal !== undefined) {
      this.destroy(this.refusal)
      return
    }
    const reader = new WireReader(this.#req, this.#options, {
      data: (chunk) => (this.#direct === undefined ? this.push(chunk) : this.#direct(chunk)),
      end: () => {
        this.push(null)
        // Nobody calls read() during a direct iteration: ask for the 'end' it waits for.
        if (this.#direct !== undefined) this.read()
      },
      error: (err) => this.destroy(err),
    })
    this.#reader = reader
    reader.start()
    if (!reader.done) this.#options.onStart?.()
  }

  /**
   * `for await` takes each chunk as the reader delivers it, without passing
   * it through this stream's buffer: the buffer is where a byte stream's
   * `read()` joins chunks into one new Buffer, and the hop through it costs a
   * tick per chunk. Errors, the end and destruction are those of the stream,
   * as with Node's own iterator, which serves any stream already flowing,
   * holding data, or done.
   */
  override [Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    const direct =
      this.#direct === undefined &&
      !this.destroyed &&
      this.readableLength === 0 &&
      this.readableFlowing !== true &&
      this.#reader?.done !== true
    return direct ? this.#iterateDirectly() : (super[Symbol.asyncIterator]() as AsyncGenerator<Buffer, void, undefined>)
  }

  async* #iterateDirectly(): AsyncGenerator<Buffer, void, undefined> {
    const queue: Buffer[] = []
    let queued = 0
    let ended = false
    let failure: Error | undefined
    let wake: (() => void) | undefined
    const wakeUp = (): void => {
      const resolve = wake
      wake = undefined
      resolve?.()
    }
    this.#direct = (chunk) => {
      queue.push(chunk)
      queued += chunk.length
      wakeUp()
      return queued < this.readableHighWaterMark
    }
    const onEnd = (): void => {
      ended = true
      wakeUp()
    }
    const onError = (err: Error): void => {
      failure ??= err
      wakeUp()
    }
    const onClose = (): void => {
      if (!ended) failure ??= prematureClose()
      wakeUp()
    }
    this.on('end', onEnd)
    this.on('error', onError)
    this.on('close', onClose)
    try {
      if (this.#reader === undefined) this.#start()
      else this.#reader.resume()
      for (;;) {
        // Like Node's iterator: once the stream failed, what it holds is dropped.
        if (failure !== undefined) throw failure
        const chunk = queue.shift()
        if (chunk !== undefined) {
          queued -= chunk.length
          this.#reader?.resume()
          yield chunk
        } else if (ended) {
          return
        } else {
          await new Promise<void>((resolve) => (wake = resolve))
        }
      }
    } finally {
      this.#direct = undefined
      this.removeListener('end', onEnd)
      this.removeListener('close', onClose)
      // Left early (break, return, a throw in the loop's body): destroyed as
      // by Node's iterator, whose listener takes the AbortError.
      if (!ended && !this.destroyed) this.destroy(abortError())
      else this.removeListener('error', onError)
    }
  }

  /**
   * Errors go to the listeners that exist. A client-caused error with none
   * is not thrown: it stays as `errored` for a later reader and goes to the
   * adapter's handler (the framework's error handling).
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.listenerCount('error') === 0 && isBodyError(args[0])) {
      unobservedHandlers.get(this)?.(args[0])
      return false
    }
    return super.emit(event, ...args)
  }

  #onClientGone = (): void => {
    const err = aborted(this.expectedLength, this.bytesReceived)
    if (!this.#abort.signal.aborted) this.#abort.abort(err)
    if (!this.destroyed && !this.readableEnded && this.#reader?.wireDone !== true) this.destroy(err)
  }

  /** The exchange is over, answered or cut off: nothing of the client is left to follow. */
  #onResponseClose = (): void => {
    if (this.#res !== undefined && !this.#res.writableFinished) this.#onClientGone()
    this.#req.removeListener('aborted', this.#onClientGone)
    stepIn(this.#req)
  }

  /**
   * The response is complete (its last bytes are queued) while the body may
   * not be: stop reading it for the handler and give up the rest. A body
   * nobody started to read is left to the guard, which Node's own dump after
   * the response triggers.
   */
  #onResponseDone = (): void => {
    const req = this.#req
    const res = this.#res!
    const reader = this.#reader
    // Unread by the handler and by anything else (multer on a streaming route reads `req` itself).
    const unread = !this.readableEnded && !req.readableEnded && this.expectedLength !== 0 && !this.signal.aborted
    if (unread && res.statusCode < 400 && this.#options.route !== undefined) warnUnreadBody(this.#options.route)
    if (reader === undefined || reader.wireDone || wireComplete(req) || req.destroyed || this.signal.aborted) return
    const received = reader.received
    if (!this.destroyed) this.destroy()
    giveUpBody(req, res, { discard: this.#discard, received: () => received })
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const reader = this.#reader
    reader?.stop()
    this.#req.removeListener('aborted', this.#onClientGone)
    this.#res?.removeListener('close', this.#onResponseClose)
    // A read that failed half-way gives up the rest of the body; a reader
    // that stops early (a `for await` left with break or return destroys with
    // an AbortError) leaves it to the unread-body policy after the response.
    if (reader !== undefined && !reader.wireDone && err !== null && err.name !== 'AbortError' && this.#res !== undefined) {
      const received = reader.received
      afterFailedRead(this.#req, this.#res, err, () => received, this.#discard, this.#options.timeout)
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

/**
 * Send the client-caused errors of `stream` that no listener takes to
 * `handler` (an adapter passes them to the framework). One handler per stream.
 */
export function onUnobservedError(stream: BodyStream, handler: (err: BodyError) => void): void {
  unobservedHandlers.set(stream, handler)
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
