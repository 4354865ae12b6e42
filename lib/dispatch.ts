/**
 * What happens to a request once its route is known: the steps both adapters
 * take for a streaming route and for a buffered one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BodyStream } from './body-stream.js'
import { bodyRecord } from './body-record.js'
import { alreadyRead, bufferRequestThen, selectParser } from './buffer-request.js'
import {
  DEFAULT_STREAMING,
  checkShimOptions,
  createParsers,
  streamingConfig,
  type BufferedOptions,
  type ShimOptions,
  type StreamingConfig,
  type StreamingOptions,
} from './config.js'
import { sendContinue } from './continue.js'
import { mediaTypeUnsupported, streamNotReadable, type BodyError } from './errors.js'
import { perMarker, type Marker } from './markers.js'
import type { Parser } from './parsers.js'
import { consumedBy, requestHasBody, setMode } from './request-state.js'
import { stepAside, stepIn } from './step-aside.js'
import { warnBodyNotBuffered } from './unread-body.js'
import { refusalFromHeaders } from './wire-reader.js'

/** A configured shim: its own parsers and streaming defaults, and the merged ones per marker. */
export interface Shim {
  readonly parsers: readonly Parser[]
  readonly streaming: StreamingConfig
  /** The streaming config for a route marked with `marker` (`undefined`: the shim's). */
  streamingFor(marker: Marker | undefined): StreamingConfig
  /** The parsers for a buffered route marked with `marker` (`undefined`: the shim's). */
  parsersFor(marker: Marker | undefined): readonly Parser[]
}

/** Normalize `streamShim()` options once. */
export function createShim(options: ShimOptions = {}): Shim {
  checkShimOptions(options)
  const { streaming: streamingOptions, ...bufferedOptions } = options
  const parsers = createParsers(bufferedOptions)
  const streaming = streamingConfig(streamingOptions)
  return {
    parsers,
    streaming,
    streamingFor: perMarker('streaming', streaming, (own) => streamingConfig(own as StreamingOptions, streaming)),
    parsersFor: perMarker('buffered', parsers, (own) => createParsers(bufferedOptions, own as BufferedOptions)),
  }
}

/**
 * Set a request up for a streaming handler and return its BodyStream. Nothing
 * is read here; reading starts when the handler first reads the stream, and a
 * `100 Continue` held back by `installContinue()` is sent then. When the
 * headers already rule the body out (415 media type or encoding, 413 declared
 * length, 500 body already consumed), the stream carries that `refusal`: the
 * adapter raises it where the route's handler would run, after the middleware
 * in front of it, and a read fails with it without asking for the body.
 * `route` (the matched path pattern) names the route in warnings.
 */
export function beginStreaming(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  config: StreamingConfig = DEFAULT_STREAMING,
  route?: string,
  parsers?: readonly Parser[],
): BodyStream {
  if (parsers !== undefined) fallbackParsers.set(req, parsers)
  const consumer = requestHasBody(req) ? consumedBy(req) : undefined
  setMode(req, 'streaming')
  // body-parser 1.x (Express 4's express.json()) skips a request with _body set.
  ;(req as { _body?: boolean })._body = true
  const refusal = consumer !== undefined ? streamNotReadable(consumer) : checkHeaders(req, config)
  // Until the route's handler runs, body parsers of the app's own leave the body alone.
  if (requestHasBody(req)) stepAside(req)
  return new BodyStream(req, res, {
    limit: config.limit,
    inflate: config.inflate,
    timeout: config.timeout,
    discard: config.discard,
    route: route === undefined ? undefined : `${req.method} ${route}`,
    onStart: () => sendContinue(req),
    refusal,
  })
}

/** The shim's buffered parsers, for a streaming request passed on to buffered handlers unread. */
const fallbackParsers = new WeakMap<object, readonly Parser[]>()
let defaultParsers: readonly Parser[] | undefined

/**
 * A streaming handler passed its request on (`next('route')`) without asking
 * for the body: read and parse it, with the shim's buffered parsers, for the
 * handlers after it, which expect `req.body`. Returns undefined when there is
 * nothing to do (the body was asked for, or no parser takes it).
 */
export function passOnUnread(req: IncomingMessage, res: ServerResponse | undefined, stream: BodyStream): Promise<void> | undefined {
  if (!releaseUnread(req, stream)) return undefined
  return beginBuffered(req, res, fallbackParsers.get(req) ?? (defaultParsers ??= createParsers()))
}

/**
 * Give an unread streaming request back, as if the shim had not set it up:
 * the stream is dropped and the body left on the wire for whoever reads it
 * next (a body parser of the route's own). A refusal from the streaming
 * route's headers (its media types, its limit) no longer applies; a body
 * someone else consumed stays refused. Returns false when the body was
 * asked for already.
 */
export function releaseUnread(req: IncomingMessage, stream: BodyStream): boolean {
  if (stream.accepted || stream.refusal?.type === 'stream.not.readable') return false
  stream.destroy()
  ;(req as { _body?: boolean })._body = undefined
  stepIn(req)
  return true
}

/**
 * The error a streaming request is refused with from its headers alone,
 * before any byte of the body is read: a media type the route does not take
 * or an unsupported Content-Encoding (415), or a declared Content-Length over
 * the limit (413).
 */
function checkHeaders(req: IncomingMessage, config: StreamingConfig): BodyError | undefined {
  if (!requestHasBody(req)) return undefined
  if (config.types !== undefined && !config.types(req)) return mediaTypeUnsupported(req.headers['content-type'] ?? '')
  return refusalFromHeaders(req, config)
}

/**
 * Buffer and parse the body of a request bound for a buffered handler, with
 * the first of `parsers` that takes its Content-Type. Requests no parser
 * takes (multipart, say) and requests already read are left untouched, and
 * then no promise is returned, so the caller can go on synchronously.
 */
export function beginBuffered(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  parsers: readonly Parser[],
  claim = true,
): Promise<void> | undefined {
  // done may be called before beginBufferedThen returns (a refusal from the headers).
  let early: { err: unknown } | undefined
  let settle: ((err: unknown) => void) | undefined
  const started = beginBufferedThen(req, res, parsers, claim, (err) => {
    if (settle !== undefined) settle(err)
    else early = { err }
  })
  if (!started) return undefined
  return new Promise<void>((resolve, reject) => {
    settle = (err) => (err === undefined ? resolve() : reject(err))
    if (early !== undefined) settle(early.err)
  })
}

/**
 * `beginBuffered` with a callback, for the hot path: returns false when there
 * is nothing to read (and `done` is not called), else true, and `done` is
 * called once the body is parsed (with the parsed body) or failed, possibly
 * before this returns. `setBody`: see `bufferRequestThen`.
 */
export function beginBufferedThen(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  parsers: readonly Parser[],
  claim: boolean,
  done: (err?: unknown, body?: unknown) => void,
  setBody = true,
): boolean {
  setMode(req, 'buffered')
  if (alreadyRead(req)) return false
  const parser = selectParser(req, parsers)
  if (parser === undefined) return false
  // The dev-time body record (lib/body-record.ts), off unless asked for.
  const recorded = bodyRecord.track?.(req)
  const finished =
    recorded === undefined
      ? done
      : (err?: unknown, body?: unknown) => {
          recorded(err)
          done(err, body)
        }
  bufferRequestThen(req, res, parser, claim, finished, setBody)
  return true
}

/**
 * On a streaming route, `target.body` reads as `undefined` (the body is not
 * buffered), and outside production the first read per route warns, naming
 * where the body is. Assigning to it still works (the value then replaces
 * the getter): error handlers, loggers and sanitizers that touch `body` keep
 * working.
 */
export function guardBody(target: object, where: string, stream: string, route: string): void {
  Object.defineProperty(target, 'body', {
    configurable: true,
    enumerable: false,
    get() {
      warnBodyNotBuffered(route, where, stream)
      return undefined
    },
    set(value: unknown) {
      Object.defineProperty(target, 'body', { configurable: true, enumerable: true, writable: true, value })
    },
  })
}
