/**
 * Public types of the Express adapter, and the fields stream-shim adds to
 * Express's Request.
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response, Router } from 'express'
import type { ParamsDictionary, PathParams, RouteParameters } from 'express-serve-static-core'
import type { BodyStream } from '../../lib/body-stream.js'
import type { UserTyped } from '../../lib/options.js'

declare global {
  namespace Express {
    interface Request {
      /** The decoded body bytes, on a buffered route whose body stream-shim parsed. */
      rawBody?: Buffer
      /** The body as a stream, on a streaming route. */
      bodyStream?: BodyStream
    }
  }
}

/**
 * The route params a wrapped handler sees unless it says otherwise: every
 * name a `string`, as in Express 4's types. TypeScript cannot carry the
 * route's own param names (`RouteParameters<'/files/:name'>`) through a
 * wrapper call such as `streaming(handler)`, so `req.params.name` is a
 * `string` without a check of the name; annotate `req: StreamingRequest<{ name: string }>`
 * for the exact names.
 */
export type WrappedParams = Record<string, string>

/** Express's parsed query string type (qs's `ParsedQs`), the default of `ReqQuery`. */
type Query = Request['query']
/** The default of `Locals`, as Express's. */
type Locals = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The request a streaming handler receives: `bodyStream` is always there.
 * Generic as Express's `Request<P, ResBody, ReqBody, ReqQuery, Locals>`:
 * `StreamingRequest<{ name: string }>` has `req.params.name: string`.
 */
export type StreamingRequest<
  P = WrappedParams,
  ResBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ReqBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ReqQuery = Query,
  LocalsObj extends Record<string, any> = Locals, // eslint-disable-line @typescript-eslint/no-explicit-any
> = Request<P, ResBody, ReqBody, ReqQuery, LocalsObj> & { bodyStream: BodyStream }

/** A route handler that reads its body from `req.bodyStream`; generic as Express's `RequestHandler`. */
export type StreamingHandler<
  P = WrappedParams,
  ResBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ReqBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ReqQuery = Query,
  LocalsObj extends Record<string, any> = Locals, // eslint-disable-line @typescript-eslint/no-explicit-any
> = (req: StreamingRequest<P, ResBody, ReqBody, ReqQuery, LocalsObj>, res: Response<ResBody, LocalsObj>, next: NextFunction) => unknown

/** A route handler that reads its body from `req.body` / `req.rawBody`; generic as Express's `RequestHandler`. */
export type BufferedHandler<
  P = WrappedParams,
  ResBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ReqBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ReqQuery = Query,
  LocalsObj extends Record<string, any> = Locals, // eslint-disable-line @typescript-eslint/no-explicit-any
> = (req: Request<P, ResBody, ReqBody, ReqQuery, LocalsObj>, res: Response<ResBody, LocalsObj>, next: NextFunction) => unknown

/** One of a streaming router's route methods: handlers get a `StreamingRequest`, params inferred from the path. */
export interface StreamingRouterMatcher<T> {
  <
    Route extends string,
    P = RouteParameters<Route>,
    ResBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
    ReqBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
    ReqQuery = Query,
    LocalsObj extends Record<string, any> = Locals, // eslint-disable-line @typescript-eslint/no-explicit-any
  >(
    path: Route,
    ...handlers: Array<StreamingHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>>
  ): T
  <
    P = ParamsDictionary,
    ResBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
    ReqBody = any, // eslint-disable-line @typescript-eslint/no-explicit-any
    ReqQuery = Query,
    LocalsObj extends Record<string, any> = Locals, // eslint-disable-line @typescript-eslint/no-explicit-any
  >(
    path: PathParams,
    ...handlers: Array<StreamingHandler<P, ResBody, ReqBody, ReqQuery, LocalsObj>>
  ): T
  /** Error handlers and arrays of handlers, as Express's own matchers take. */
  (path: PathParams, ...handlers: Array<StreamingHandlerParams>): T
}

/** What a route method takes besides plain handlers: error handlers and (nested) arrays. */
type StreamingHandlerParams = StreamingHandler | ErrorRequestHandler | Array<StreamingHandler | ErrorRequestHandler>

type RouteMethod = 'all' | 'get' | 'post' | 'put' | 'delete' | 'patch' | 'options' | 'head'

/**
 * What `streaming(express.Router())` returns: the same router, typed so that
 * handlers added with its route methods (`router.put(path, handler)`) get a
 * `StreamingRequest`, with `req.bodyStream` always there. It is still an
 * `express.Router` (mount it with `app.use()`).
 */
export interface StreamingRouter extends Omit<Router, RouteMethod>, RequestHandler {
  all: StreamingRouterMatcher<this>
  get: StreamingRouterMatcher<this>
  post: StreamingRouterMatcher<this>
  put: StreamingRouterMatcher<this>
  delete: StreamingRouterMatcher<this>
  patch: StreamingRouterMatcher<this>
  options: StreamingRouterMatcher<this>
  head: StreamingRouterMatcher<this>
}

/** Connect-style middleware, as body-parser returns: works on Express and on plain node:http. */
export type Middleware = (req: UserTyped, res: UserTyped, next: (err?: unknown) => void) => void

export type { Router }
