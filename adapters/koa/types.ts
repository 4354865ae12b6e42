/**
 * Public types of the Koa adapter, and the fields stream-shim adds to Koa's
 * Request. `body` and `rawBody` are declared exactly as @koa/bodyparser and
 * @types/koa-bodyparser declare them, so the declarations merge when both
 * packages are installed.
 */
import type { Context, Next, ParameterizedContext } from 'koa'
import type { BodyStream } from '../../lib/body-stream.js'
import type { CoBodyOptions } from '../../lib/co-body-parsers.js'
import type { StreamingOptions } from '../../lib/config.js'

declare module 'koa' {
  interface Request {
    /** The parsed body, on a buffered route (`{}` when no parser took the request). */
    body?: unknown
    /** The body text, on a buffered route whose body was parsed (as @koa/bodyparser gives it). */
    rawBody: string
    /** The decoded body bytes behind `rawBody`; the same Buffer as `ctx.req.rawBody`. */
    rawBodyBuffer?: Buffer
    /** The body as a stream, on a streaming route. */
    bodyStream?: BodyStream
  }
  interface DefaultContext {
    /** Set to `true` before `streamShim()` runs to leave this request's body unparsed (as @koa/bodyparser and koa-bodyparser 4 do). */
    disableBodyParser?: boolean
  }
}

/** Options of buffered routes: @koa/bodyparser's, checked when the middleware is created. */
export interface KoaBufferedOptions extends CoBodyOptions {
  /** Parse the body as JSON whatever its Content-Type when this returns true. */
  detectJSON?: (ctx: Context) => boolean
  /** Handle a body error yourself instead of throwing it; the request then goes on without a body. */
  onError?: (err: Error, ctx: Context) => void
  /** koa-bodyparser 4's name for `onError`. Give one of the two. */
  onerror?: (err: Error, ctx: Context) => void
  /** Also set `ctx.req.body` and `ctx.req.rawBody` (the body text), and skip a request whose `ctx.req.body` is already set. Default `false`. */
  patchNode?: boolean
  /** When `ctx.req.body` is already set (by an earlier parser), use it as `ctx.request.body` and do not read the body. Default `false`. */
  enableRawChecking?: boolean
}

/** Options of `streamShim()`: buffered defaults plus defaults for streaming routes. */
export interface KoaShimOptions extends KoaBufferedOptions {
  /** Defaults for every streaming route; a route's own options win. */
  streaming?: StreamingOptions
}

/** The context a streaming handler receives: `ctx.request.bodyStream` is always there. */
export type StreamingContext = ParameterizedContext & { request: { bodyStream: BodyStream } }

/** A Koa middleware that reads its body from `ctx.request.bodyStream`. */
export type StreamingMiddleware = (ctx: StreamingContext, next: Next) => unknown

/** A Koa middleware that reads its body from `ctx.request.body` / `ctx.request.rawBody`. */
export type KoaMiddleware = (ctx: ParameterizedContext, next: Next) => unknown
