/**
 * What happens to a request once its route is known: the steps both adapters
 * take for a streaming route and for a buffered one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BodyStream, checkHeaders } from './body-stream.js'
import { alreadyRead, bufferRequest, selectParser } from './buffer-request.js'
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
import { bodyError, type BodyError } from './errors.js'
import { perMarker, type Marker } from './markers.js'
import type { Parser } from './parsers.js'
import { consumedError } from './read-body.js'
import { contentLength } from './options.js'
import { closeConnection, consumedBy, requestHasBody, setMode, wireComplete } from './request-state.js'

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
 * Set a request up for a streaming handler: refuse it from its headers when
 * they already rule it out (415 media type or encoding, 413 declared length,
 * 500 body already consumed), otherwise return its BodyStream. Nothing is
 * read here; reading starts when the handler first reads the stream, and a
 * `100 Continue` held back by `installContinue()` is sent then. `route` (the
 * matched path pattern) names the route in the unread-body warning.
 */
export function beginStreaming(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  config: StreamingConfig = DEFAULT_STREAMING,
  route?: string,
): BodyStream {
  const consumer = consumedBy(req)
  if (consumer !== undefined && requestHasBody(req)) throw consumedError(consumer)
  setMode(req, 'streaming')
  // body-parser 1.x (Express 4's express.json()) skips a request with _body set.
  ;(req as { _body?: boolean })._body = true
  if (config.types !== undefined && requestHasBody(req) && !config.types(req)) {
    const type = req.headers['content-type'] ?? ''
    throw refuse(req, res, config, bodyError('media.type.unsupported', `unsupported media type "${type}"`, { contentType: type }))
  }
  const refusal = checkHeaders(req, config)
  if (refusal !== undefined) throw refuse(req, res, config, refusal)
  return new BodyStream(req, res, {
    limit: config.limit,
    inflate: config.inflate,
    timeout: config.timeout,
    discard: config.discard,
    route: route === undefined ? undefined : `${req.method} ${route}`,
    onStart: () => sendContinue(req),
  })
}

/**
 * A request refused from its headers leaves its body unread. Node reads it
 * to the end after the response, whatever its size: allow that only for a
 * declared rest within the route's `discard` limit, else close the connection.
 */
function refuse(req: IncomingMessage, res: ServerResponse | undefined, config: StreamingConfig, err: BodyError): BodyError {
  if (res !== undefined && requestHasBody(req) && !wireComplete(req)) {
    const expected = contentLength(req.headers)
    if (expected === undefined || expected > config.discard) closeConnection(res)
  }
  return err
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
): Promise<void> | undefined {
  setMode(req, 'buffered')
  if (alreadyRead(req)) return undefined
  const parser = selectParser(req, parsers)
  return parser === undefined ? undefined : bufferRequest(req, res, parser)
}

/** The error thrown when code reads `body` on a streaming route. */
export function bodyNotBuffered(where: string, stream: string): BodyError {
  return bodyError(
    'body.not.buffered',
    `${where} is not available on a streaming route: the body is not buffered. ` +
      `Read it from ${stream} (for await, .json(), .text() or .buffer()), ` +
      'or mark the route buffered() to have it parsed.',
    { expose: false },
  )
}

/**
 * Make `target.body` throw `body.not.buffered` when read. Assigning to it
 * still works (the value then replaces the guard).
 */
export function guardBody(target: object, where: string, stream: string): void {
  Object.defineProperty(target, 'body', {
    configurable: true,
    enumerable: false,
    get() {
      throw bodyNotBuffered(where, stream)
    },
    set(value: unknown) {
      Object.defineProperty(target, 'body', { configurable: true, enumerable: true, writable: true, value })
    },
  })
}
