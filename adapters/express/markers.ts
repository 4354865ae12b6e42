/**
 * `streaming()` and `buffered()`: the markers that say how a handler (or a
 * whole router) reads its request body.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the handler generics default to Express's own (`any` bodies) */
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express'
import { beginBuffered, beginStreaming, guardBody, passOnUnread, releaseUnread } from '../../lib/dispatch.js'
import { checkBufferedOptions, streamingConfig } from '../../lib/config.js'
import type { BufferedOptions, StreamingOptions } from '../../lib/config.js'
import { setMarker } from '../../lib/markers.js'
import { stepIn } from '../../lib/step-aside.js'
import { isParsed, modeOf } from '../../lib/request-state.js'
import { warnBufferedBeforeStreaming } from '../../lib/unread-body.js'
import { onUnobservedError, type BodyStream } from '../../lib/body-stream.js'
import { detectBodyParser, initBody, routeFlavour } from './flavour.js'
import type { BufferedHandler, StreamingHandler, StreamingRouter, WrappedParams } from './types.js'
import type { UserTyped } from '../../lib/options.js'

/** An Express router: marked in place rather than wrapped, so the route lookup can see into it. */
type Mountable = ((req: UserTyped, res: UserTyped, next: UserTyped) => void) & { stack: unknown[] }

/** Express's parsed query string type, the default of `ReqQuery`. */
type Query = Request['query']

/** A route handler as Express calls it. */
type Handler = (req: Request, res: Response, next: NextFunction) => unknown

function isMountable(value: unknown, marker: string): value is Mountable {
  if (typeof value !== 'function') throw new TypeError(`${marker}() needs a handler function or a router`)
  if (Array.isArray((value as { stack?: unknown }).stack)) return true
  if (typeof (value as { handle?: unknown }).handle === 'function' && typeof (value as { set?: unknown }).set === 'function') {
    // app.use() hides a sub-app behind a closure the route lookup cannot see into.
    throw new TypeError(`${marker}() takes a handler or an express.Router(), not an express() app: mark its routes or mount a Router instead`)
  }
  return false
}

/** Call `handler`, sending a thrown error or a rejected promise to `next` (Express 4 does not). */
function invoke(handler: Handler, req: Request, res: Response, next: NextFunction): void {
  let result: unknown
  try {
    result = handler(req, res, next)
  } catch (err) {
    next(err)
    return
  }
  if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
    ;(result as Promise<unknown>).then(undefined, (err: unknown) => next(err ?? new Error('handler rejected')))
  }
}

/** Give `req` its body stream, and make `req.body` read as undefined (with a warning) on this route. */
export function attachBodyStream(req: Request, stream: BodyStream, route: string): void {
  req.bodyStream = stream
  guardBody(req, 'req.body', 'req.bodyStream', `${req.method} ${route}`)
}

/**
 * A request set up for a streaming handler reaches buffered handlers with its
 * body unread (a streaming handler passed it on with `next('route')`, or
 * middleware behind the shim sent it to another route): read and parse it
 * for them, or, when the route has a body parser of its own (`ownParser`),
 * leave the body on the wire for it. Returns a promise while reading.
 */
export function handOverUnread(req: Request, res: Response, ownParser: boolean): Promise<void> | undefined {
  const stream = req.bodyStream
  if (stream === undefined) return undefined
  let reading: Promise<void> | undefined
  if (ownParser) {
    if (!releaseUnread(req, stream)) return undefined
  } else {
    reading = passOnUnread(req, res, stream)
    if (reading === undefined && stream.accepted) return undefined
  }
  req.bodyStream = undefined as never
  req.body = undefined
  initBody(req, detectBodyParser(req)) // {} on Express 4, as its body-parser 1.x gives
  return reading
}

/**
 * Run a streaming handler: raise the body's refusal from its headers where
 * the handler would run (after the middleware in front of it), and pass a
 * body error the handler does not listen for to Express's error handling
 * while the response is still the handler's. `next` goes through once.
 */
function runStreaming(handler: Handler, req: Request & { bodyStream: BodyStream }, res: Response, next: NextFunction): void {
  let passed = false
  const once: NextFunction = (err?: unknown) => {
    if (passed) return
    passed = true
    if (err === 'route' || err === 'router') {
      // Passed on unread: the handlers after this one expect req.body.
      const reading = handOverUnread(req, res, false)
      if (reading !== undefined) {
        reading.then(() => next(err), next)
        return
      }
    }
    next(err)
  }
  const stream = req.bodyStream
  stepIn(req) // the body's owner runs: parsers before it were made to step aside
  if (stream.refusal !== undefined) {
    once(stream.refusal)
    return
  }
  onUnobservedError(stream, (err) => {
    if (!res.headersSent) once(err)
  })
  invoke(handler, req, res, once)
}

/**
 * Mark a handler, or a whole `express.Router()`, as streaming: with
 * `streamShim()` mounted it runs as soon as the headers arrive and reads the
 * body from `req.bodyStream`, incrementally and with backpressure.
 *
 * @example
 * app.put('/files/:name', streaming({ limit: '5gb' }, async (req, res) => {
 *   await pipeline(req.bodyStream, fs.createWriteStream(dest))
 *   res.status(201).end()
 * }))
 */
export function streaming(router: Router): StreamingRouter
export function streaming(options: StreamingOptions, router: Router): StreamingRouter
export function streaming<R extends Mountable>(router: R): R
export function streaming<R extends Mountable>(options: StreamingOptions, router: R): R
export function streaming<P = WrappedParams, ResBody = any, ReqBody = any, ReqQuery = Query, LocalsObj extends Record<string, any> = Record<string, any>>(
  handler: StreamingHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>,
): RequestHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>
export function streaming<P = WrappedParams, ResBody = any, ReqBody = any, ReqQuery = Query, LocalsObj extends Record<string, any> = Record<string, any>>(
  options: StreamingOptions,
  handler: StreamingHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>,
): RequestHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>
export function streaming(...args: unknown[]): unknown {
  const [options, handler] = args.length >= 2 ? args : [undefined, args[0]]
  const mountable = isMountable(handler, 'streaming')
  const config = streamingConfig(options as StreamingOptions | undefined)
  const marker = { mode: 'streaming' as const, options: options ?? {} }
  if (mountable) return setMarker(handler, marker)

  const streamingHandler = function streamingHandler(req: Request, res: Response, next: NextFunction): void {
    if (req.bodyStream === undefined) {
      // Not dispatched by streamShim() (not mounted, or it could not tell the
      // route): set the stream up here. A buffered read already re-armed req.
      const route = req.baseUrl + (req.route?.path ?? req.path)
      if (isParsed(req)) warnBufferedBeforeStreaming(`${req.method} ${route}`)
      attachBodyStream(req, beginStreaming(req, res, config, route), route)
    }
    runStreaming(handler as Handler, req as Request & { bodyStream: BodyStream }, res, next)
  }
  return setMarker(streamingHandler, marker)
}

/**
 * Mark a handler, or a whole router, as buffered with its own options (a
 * larger limit for one import route, say). Unmarked handlers are buffered
 * with the shim's options already; use this to change them for one route.
 *
 * @example
 * app.post('/import', buffered({ limit: '50mb' }, legacyImport))
 */
export function buffered<R extends Mountable>(options: BufferedOptions, router: R): R
export function buffered<P = WrappedParams, ResBody = any, ReqBody = any, ReqQuery = Query, LocalsObj extends Record<string, any> = Record<string, any>>(
  options: BufferedOptions,
  handler: BufferedHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>,
): RequestHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>
export function buffered(options: BufferedOptions, handler: Handler | Mountable): unknown {
  const mountable = isMountable(handler, 'buffered')
  checkBufferedOptions(options)
  const marker = { mode: 'buffered' as const, options }
  if (mountable) return setMarker(handler, marker)

  const flavour = routeFlavour(options) // body-parser 1.x semantics on Express 4 (flavour.ts)
  const bufferedHandler = function bufferedHandler(req: Request, res: Response, next: NextFunction): void {
    if (modeOf(req) !== undefined) {
      flavour.ownDefault(req)
      invoke(handler, req, res, next)
      return
    }
    // Not dispatched by streamShim(): buffer the body here, with this route's options.
    const reading = beginBuffered(req, res, flavour.parsers(req))
    if (reading === undefined) invoke(handler, req, res, next)
    else reading.then(() => invoke(handler, req, res, next), next)
  }
  return setMarker(bufferedHandler, marker)
}
