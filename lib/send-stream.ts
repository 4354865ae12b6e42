/**
 * Streaming response bodies: a source (async iterable, Node `Readable`, web
 * `ReadableStream`, fetch `Response`) written to a Node response chunk by
 * chunk, pulled only while the socket takes more, closed when the client goes
 * away, and never ended cleanly when the source fails or misses its declared
 * Content-Length. `sendStream()` writes to the response itself (Express,
 * `node:http`, `node:http2` compatibility); `responseBody()` is the same as a
 * `Readable` for frameworks that pipe the body themselves (Koa).
 *
 * Who owns what: the source belongs to the response from the moment it is
 * handed over; stream-shim closes it (`return()`, `destroy()`, `cancel()`)
 * on every path that does not read it to the end.
 */
import { constants as http2Constants } from 'node:http2'
import type { OutgoingHttpHeader } from 'node:http'
import { Readable } from 'node:stream'
import { prematureClose, responseSizeInvalid } from './errors.js'

/** One chunk of a response body: bytes, or text sent as UTF-8. */
export type ResponseChunk = Uint8Array | string

/** What a streaming response can be sent from. */
export type ResponseSource =
  | AsyncIterable<ResponseChunk>
  | Iterable<ResponseChunk>
  | Readable
  | ReadableStream<Uint8Array>
  | Response

/** A function that takes a body and returns the body to send instead (it must not read it whole). */
export type BodyWrapper = (body: AsyncIterable<Buffer>) => AsyncIterable<ResponseChunk>

/** A Node response: `http.ServerResponse` or `http2.Http2ServerResponse`, as structural as the code needs. */
export interface StreamTarget {
  statusCode: number
  readonly headersSent: boolean
  readonly destroyed?: boolean
  readonly writableEnded?: boolean
  getHeader(name: string): OutgoingHttpHeader | undefined
  setHeader(name: string, value: OutgoingHttpHeader): unknown
  write(chunk: Uint8Array): boolean
  end(): unknown
  on(event: string, listener: (...args: unknown[]) => void): unknown
  once(event: string, listener: (...args: unknown[]) => void): unknown
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown
  destroy(): unknown
  /** Added by `compression`: push what its encoder holds to the client. */
  flush?: () => void
  /** Http2ServerResponse's stream. */
  stream?: { close(code?: number): void }
}

/** Options of `sendStream()`. */
export interface SendStreamOptions {
  /** Wrap the body before it is sent (the adapters pass the wrappers `streamingResponses()` registered). */
  wrap?: BodyWrapper
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

export function isFetchResponse(value: unknown): value is Response {
  return typeof Response === 'function' && value instanceof Response
}

/**
 * The status and headers a fetch `Response` carries, to put on the response
 * before its body is sent. Hop-by-hop headers are left out; so are
 * Content-Encoding and Content-Length of a response that came from `fetch()`
 * (its `url` is set), since fetch hands over the body decoded.
 */
export function responseHead(response: Response): { status: number; headers: [string, string][] } {
  const fetched = response.url !== ''
  const headers: [string, string][] = []
  const cookies = typeof response.headers.getSetCookie === 'function' ? response.headers.getSetCookie() : []
  response.headers.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || name === 'set-cookie') return
    if (fetched && (name === 'content-encoding' || name === 'content-length')) return
    headers.push([name, value])
  })
  for (const cookie of cookies) headers.push(['set-cookie', cookie])
  return { status: response.status, headers }
}

/** A chunk as a Buffer (no copy for a Uint8Array); anything else is a TypeError. */
function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  throw new TypeError(`a response body chunk must be a Uint8Array or a string, got ${chunk === null ? 'null' : typeof chunk}`)
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream === 'function' && value instanceof ReadableStream
}

/**
 * The source's chunks as Buffers, one pull per `next()`. `return()` closes the
 * source at once, even while a pull is pending (a `Readable` is destroyed, a
 * web stream cancelled); an async iterator gets `return()`, which takes effect
 * when it next yields.
 */
export class SourceChunks implements AsyncIterableIterator<Buffer> {
  private readonly pull: () => Promise<IteratorResult<unknown>>
  private readonly stop: () => unknown
  private closed = false

  constructor(source: Exclude<ResponseSource, Response>) {
    if (source instanceof Readable) {
      this.pull = readablePull(source)
      this.stop = () => source.destroy()
    } else if (isReadableStream(source)) {
      const reader = source.getReader()
      this.pull = () => reader.read()
      this.stop = () => reader.cancel()
    } else if (typeof source === 'string' || source instanceof Uint8Array) {
      let done = false
      this.pull = async () => (done ? { done: true, value: undefined } : ((done = true), { done: false, value: source }))
      this.stop = () => undefined
    } else if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) {
      const iterator = source[Symbol.asyncIterator]()
      this.pull = () => iterator.next()
      this.stop = () => iterator.return?.()
    } else if (source !== null && typeof source === 'object' && Symbol.iterator in source) {
      const iterator = (source as Iterable<ResponseChunk>)[Symbol.iterator]()
      this.pull = async () => iterator.next()
      this.stop = () => iterator.return?.()
    } else {
      throw new TypeError('a streaming response needs an async iterable, an iterable, a Readable, a ReadableStream or a Response')
    }
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<Buffer>> {
    if (this.closed) return { done: true, value: undefined }
    const step = await this.pull()
    if (step.done === true || this.closed) return { done: true, value: undefined }
    return { done: false, value: toBuffer(step.value) }
  }

  async return(): Promise<IteratorResult<Buffer>> {
    if (!this.closed) {
      this.closed = true
      try {
        await this.stop()
      } catch {
        // closing a source that already failed: nothing more to do
      }
    }
    return { done: true, value: undefined }
  }
}

/**
 * Pull a `Readable` one chunk at a time, in flowing mode paused after each
 * chunk: `read()` would hand over everything buffered as one new Buffer (a
 * copy per pull), and its async iterator costs a third of the throughput on
 * large bodies. Destroyed before its end, it fails.
 */
function readablePull(stream: Readable): () => Promise<IteratorResult<unknown>> {
  const queue: unknown[] = []
  let error: Error | undefined
  let ended = false
  let waiter: (() => void) | undefined
  const wake = (): void => {
    const resolve = waiter
    waiter = undefined
    resolve?.()
  }
  stream.on('data', (chunk: unknown) => {
    queue.push(chunk)
    stream.pause()
    wake()
  })
  stream.once('end', () => {
    ended = true
    wake()
  })
  stream.once('error', (err: Error) => {
    error = err
    wake()
  })
  stream.once('close', () => {
    if (!ended && error === undefined) error = prematureClose()
    wake()
  })
  return async function pull() {
    for (;;) {
      if (error !== undefined) throw error
      if (queue.length > 0) {
        const chunk = queue.shift()
        if (queue.length === 0 && !ended) stream.resume()
        return { done: false, value: chunk }
      }
      if (ended) return { done: true, value: undefined }
      await new Promise<void>((resolve) => {
        waiter = resolve
      })
    }
  }
}

/** The body to send: the source's chunks, through `wrap` if given. `close()` stops both. */
function openBody(source: Exclude<ResponseSource, Response>, wrap: BodyWrapper | undefined) {
  const chunks = new SourceChunks(source)
  const body = wrap === undefined ? chunks : wrap(chunks)
  const iterator = body[Symbol.asyncIterator]()
  const close = (): void => {
    if (iterator !== chunks) iterator.return?.()?.then(undefined, noop)
    chunks.return().then(undefined, noop)
  }
  return { iterator, close }
}

/** The Content-Length `res` declares now, if any. */
export function declaredLength(res: StreamTarget): number | undefined {
  const value = res.getHeader('content-length')
  if (value === undefined) return undefined
  const length = Number(Array.isArray(value) ? value[0] : value)
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined
}

/**
 * End `res` as an error: the HTTP/1 socket is destroyed (the chunked framing
 * is never closed, a declared length never met), an HTTP/2 stream is reset
 * with INTERNAL_ERROR.
 */
export function abortResponse(res: StreamTarget): void {
  const stream = res.stream
  if (stream !== undefined && typeof stream.close === 'function') stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR)
  else res.destroy()
}

/**
 * Watch `res` for the client going away and for 'drain', with one 'close'
 * and one 'drain' listener for the whole response: `next()` and `drain()`
 * settle early once `res` has closed, and nothing accumulates per chunk.
 * (`compression` moves 'drain' listeners onto its encoder, where
 * `removeListener()` on `res` cannot reach them: a listener per wait would
 * pile up there.)
 */
function watch(res: StreamTarget, iterator: AsyncIterator<unknown>) {
  let gone = res.destroyed === true
  let onGone: (() => void) | undefined
  let onDrained: (() => void) | undefined
  const onClose = (): void => {
    gone = true
    onGone?.()
  }
  const onDrain = (): void => onDrained?.()
  res.once('close', onClose)
  res.on('drain', onDrain)
  return {
    isGone: () => gone,
    /** The iterator's next step, or `false` as soon as the client is gone. */
    next: () =>
      new Promise<IteratorResult<unknown> | false>((resolve, reject) => {
        onGone = () => resolve(false)
        iterator.next().then(resolve, reject)
      }),
    /** `true` on 'drain', `false` if the client goes away first. */
    drain: () =>
      new Promise<boolean>((resolve) => {
        onGone = () => resolve(false)
        onDrained = () => {
          onDrained = undefined
          resolve(!gone)
        }
      }),
    dispose: () => {
      onGone = undefined
      onDrained = undefined
      res.removeListener('close', onClose)
      res.removeListener('drain', onDrain)
    },
  }
}

/**
 * Send `source` as the body of `res`, chunk by chunk, with backpressure: the
 * source is not pulled while `res.write()` says the socket is saturated, and
 * `res.flush()` (from `compression`) runs after each chunk so nothing waits in
 * an encoder. Resolves when the response is complete or the client has gone
 * away (the source is then closed). Rejects when the source fails or misses
 * the Content-Length the response declares when `sendStream()` is called:
 * before the first byte is written the response is left to the caller's error
 * handling (a 500); after it, the connection (HTTP/1) or stream (HTTP/2) is
 * reset, never ended cleanly.
 *
 * @example
 * http.createServer((req, res) => {
 *   res.setHeader('Content-Type', 'application/x-ndjson')
 *   sendStream(res, rows()).catch((err) => console.error(err))
 * })
 */
export async function sendStream(res: StreamTarget, source: ResponseSource, options: SendStreamOptions = {}): Promise<void> {
  if (isFetchResponse(source)) {
    const head = responseHead(source)
    res.statusCode = head.status
    for (const [name, value] of groupHeaders(head.headers)) res.setHeader(name, value)
    source = source.body ?? []
  }
  const { iterator, close } = openBody(source, options.wrap)
  const { next, drain, dispose, isGone } = watch(res, iterator)
  const declared = declaredLength(res)
  let written = 0
  try {
    for (;;) {
      if (isGone()) return close()
      const step = await next()
      if (step === false || isGone()) return close()
      if (step.done === true) break
      const chunk = toBuffer(step.value)
      if (chunk.length === 0) continue
      if (declared !== undefined && written + chunk.length > declared) throw responseSizeInvalid(declared, written + chunk.length)
      written += chunk.length
      const more = res.write(chunk)
      if (typeof res.flush === 'function') res.flush()
      if (!more && !(await drain())) return close()
    }
    if (declared !== undefined && written !== declared) throw responseSizeInvalid(declared, written)
  } catch (err) {
    close()
    if (written > 0 || res.headersSent) abortResponse(res)
    throw err
  } finally {
    dispose()
  }
  await new Promise<void>((resolve) => {
    if (isGone()) return resolve()
    // Not end(callback): middleware that patch end() (compression) take only (chunk, encoding).
    res.once('close', () => resolve())
    res.once('finish', () => resolve())
    res.end()
  })
}

/** Headers as `setHeader()` takes them: a repeated name (Set-Cookie) as one array. */
function groupHeaders(headers: [string, string][]): Map<string, string | string[]> {
  const grouped = new Map<string, string | string[]>()
  for (const [name, value] of headers) {
    const prior = grouped.get(name)
    grouped.set(name, prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value])
  }
  return grouped
}

/** Options of a `ResponseBody`. */
export interface ResponseBodyOptions extends SendStreamOptions {
  /**
   * The source failed before producing a byte, and no header has gone out:
   * answer with the framework's error response instead (Koa's `ctx.onerror`).
   * The body then ends empty, so the pipe into `res` finishes cleanly behind
   * that response. Without it, the body fails and whoever pipes it decides.
   */
  onEarlyError?: (err: Error) => void
}

/**
 * The body as a `Readable` that a framework pipes to `res` (Koa does): it
 * pulls the source one chunk per read, so piping gives backpressure; it ends
 * the response as an error (socket or stream reset) when the source fails
 * after producing bytes or misses the declared Content-Length, and closes the
 * source when it is destroyed or `res` closes first. Piped into an encoder
 * with a `flush()` (koa-compress's zlib stream), it flushes it after each
 * chunk, so every chunk reaches the client as produced.
 */
export class ResponseBody extends Readable {
  private readonly source: AsyncIterator<ResponseChunk>
  private readonly closeSource: () => void
  private readonly res: StreamTarget
  private readonly declaredAtStart: number | undefined
  private readonly onEarlyError: ((err: Error) => void) | undefined
  private declared: number | undefined
  private started = false
  private produced = 0

  constructor(res: StreamTarget, source: Exclude<ResponseSource, Response>, options: ResponseBodyOptions = {}) {
    super({ highWaterMark: 16 * 1024 })
    const { iterator, close } = openBody(source, options.wrap)
    this.source = iterator
    this.closeSource = close
    this.res = res
    this.onEarlyError = options.onEarlyError
    this.declaredAtStart = declaredLength(res)
    res.once('close', () => {
      if (!this.readableEnded) this.destroy()
    })
  }

  /** Bytes produced so far. */
  get bytesProduced(): number {
    return this.produced
  }

  override _read(): void {
    if (!this.started) {
      this.started = true
      this.declared = declaredLength(this.res) ?? this.declaredAtStart
    }
    this.pullOne().then(undefined, (err: unknown) => this.fail(err as Error))
  }

  private async pullOne(): Promise<void> {
    for (;;) {
      const step = await this.source.next()
      if (this.destroyed) return
      if (step.done === true) {
        if (this.declared !== undefined && this.produced !== this.declared) throw responseSizeInvalid(this.declared, this.produced)
        this.push(null)
        return
      }
      const chunk = toBuffer(step.value)
      if (chunk.length === 0) continue
      if (this.declared !== undefined && this.produced + chunk.length > this.declared) {
        throw responseSizeInvalid(this.declared, this.produced + chunk.length)
      }
      this.produced += chunk.length
      this.push(chunk)
      return
    }
  }

  private fail(err: Error): void {
    if (this.destroyed) return
    if (this.produced > 0 || this.res.headersSent) abortResponse(this.res)
    else if (this.onEarlyError !== undefined) {
      this.closeSource()
      this.onEarlyError(err)
      this.push(null)
      return
    }
    this.destroy(err)
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.readableEnded) this.closeSource()
    callback(err)
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    super.pipe(destination, options)
    const encoder = destination as unknown as { flush?: () => void }
    if (typeof encoder.flush === 'function' && (destination as unknown) !== this.res) {
      // Listening after pipe() did: each chunk is written to the encoder, then flushed.
      this.on('data', () => encoder.flush?.())
    }
    return destination
  }
}

function noop(): void {}
