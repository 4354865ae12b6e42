/**
 * `streaming()` and `buffered()` for Koa: the markers that say how a
 * middleware (or the routes of a router) reads its request body.
 */
import type { Context, Next } from 'koa'
import { createCoBodyParsers, type CoBodyOptions } from '../../lib/co-body-parsers.js'
import { streamingConfig, type StreamingOptions } from '../../lib/config.js'
import { onUnobservedError } from '../../lib/body-stream.js'
import { beginStreaming } from '../../lib/dispatch.js'
import { setMarker, type Marker } from '../../lib/markers.js'
import { parseBoolean } from '../../lib/options.js'
import { stepIn } from '../../lib/step-aside.js'
import { isParsed, modeOf } from '../../lib/request-state.js'
import { warnBufferedBeforeStreaming } from '../../lib/unread-body.js'
import { CLIENT_CLOSED, attachBodyStream, bufferBody, keepConnectionClose, type BufferedConfig } from './context-body.js'
import type { KoaBufferedOptions, KoaMiddleware, StreamingMiddleware } from './types.js'

/** An @koa/router Router (or koa-router's), or the middleware its `routes()` returns. */
// `Function`, not a call signature: a signature in this union would take the
// contextual type away from the parameters of a middleware passed to streaming().
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type RouterLike = { stack: object[]; routes(): unknown } | (Function & { router: { stack: object[] } })

function isRouterLike(value: unknown): value is RouterLike {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false
  const router = typeof value === 'function' ? (value as { router?: unknown }).router : value
  return (
    typeof router === 'object' && router !== null && Array.isArray((router as { stack?: unknown }).stack)
  )
}

/**
 * Mark a router: the router object and its `routes()` middleware (seen when
 * the router is mounted on the app), and each route it holds now, with an
 * enumerable key, because @koa/router copies routes (and their own
 * enumerable keys) into the parent when it is nested with `router.use()`.
 */
function markRouter<R extends RouterLike>(target: R, marker: Marker): R {
  setMarker(target, marker)
  const router: { stack: object[] } = typeof target === 'function' ? target.router : target
  setMarker(router, marker)
  for (const layer of router.stack) setMarker(layer, marker, true)
  return target
}

/**
 * Mark a Koa middleware as streaming: with `streamShim()` mounted it runs as
 * soon as the headers arrive and reads the body from
 * `ctx.request.bodyStream`, incrementally and with backpressure. A router
 * can be marked too (`streaming(router)`): mark it after its routes are
 * declared, since routes added later are marked only while the router is
 * mounted on the app itself.
 *
 * @example
 * router.put('/files/:name', streaming({ limit: '5gb' }, async (ctx) => {
 *   await pipeline(ctx.request.bodyStream, fs.createWriteStream(dest))
 *   ctx.status = 201
 * }))
 */
export function streaming<H extends StreamingMiddleware | RouterLike>(handler: H): H
export function streaming<H extends StreamingMiddleware | RouterLike>(options: StreamingOptions, handler: H): H
export function streaming(...args: unknown[]): unknown {
  const [options, handler] = args.length >= 2 ? args : [undefined, args[0]]
  const config = streamingConfig(options as StreamingOptions | undefined)
  const marker = { mode: 'streaming' as const, options: options ?? {} }
  if (isRouterLike(handler)) return markRouter(handler, marker)
  if (typeof handler !== 'function') throw new TypeError('streaming() needs a middleware function or a router')

  const streamingHandler = async function streamingHandler(ctx: Context, next: Next): Promise<unknown> {
    try {
      let stream = ctx.request.bodyStream
      if (stream === undefined) {
        // Not dispatched by streamShim() (not mounted, or it could not tell
        // the route): set the stream up here. A buffered read re-armed ctx.req.
        const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute
        const route = typeof matched === 'string' ? matched : ctx.path
        if (isParsed(ctx.req)) warnBufferedBeforeStreaming(`${ctx.method} ${route}`)
        stream = beginStreaming(ctx.req, ctx.res, config, route)
        attachBodyStream(ctx, stream, route)
      }
      stepIn(ctx.req) // the body's owner runs: parsers before it were made to step aside
      // Refused from its headers: raised here, after the middleware in front of the route.
      if (stream.refusal !== undefined) throw stream.refusal
      // A body error the handler does not listen for fails the route while the response is still its own.
      const unobserved = new Promise<never>((_, reject) => {
        onUnobservedError(stream, (err) => {
          if (!ctx.res.headersSent) reject(err)
        })
      })
      unobserved.catch(noop)
      return await Promise.race([handler(ctx, next), unobserved])
    } catch (err) {
      keepConnectionClose(ctx, err)
      throw err
    }
  }
  return setMarker(streamingHandler, marker)
}

/**
 * Mark a Koa middleware, or a router, as buffered with its own options (a
 * larger `jsonLimit` for one import route, say). Unmarked routes are
 * buffered with the shim's options already; use this to change them.
 *
 * @example
 * router.post('/import', buffered({ jsonLimit: '50mb' }, legacyImport))
 */
export function buffered<H extends KoaMiddleware | RouterLike>(options: KoaBufferedOptions, handler: H): H {
  const config = bufferedConfig({}, options)
  const marker = { mode: 'buffered' as const, options }
  if (isRouterLike(handler)) return markRouter(handler, marker)
  if (typeof handler !== 'function') throw new TypeError('buffered() needs a middleware function or a router')

  const bufferedHandler = async function bufferedHandler(ctx: Context, next: Next): Promise<unknown> {
    try {
      // Not dispatched by streamShim(): read the body here, with this route's options.
      if (modeOf(ctx.req) === undefined && (await bufferBody(ctx, config)) === CLIENT_CLOSED) return
      return await handler(ctx, next)
    } catch (err) {
      keepConnectionClose(ctx, err)
      throw err
    }
  }
  return setMarker(bufferedHandler, marker) as H
}

/** Check buffered options and build their config; `override` (a route's) wins over `base` (the shim's), option by option. */
export function bufferedConfig(base: KoaBufferedOptions, override: KoaBufferedOptions = {}): BufferedConfig {
  const parsers = createCoBodyParsers(withoutContextOptions(base), withoutContextOptions(override))
  const own = contextOptions(override)
  const shared = contextOptions(base)
  return Object.freeze({
    parsers,
    detectJSON: own.detectJSON ?? shared.detectJSON,
    onError: own.onError ?? shared.onError,
    patchNode: own.patchNode ?? shared.patchNode ?? false,
    enableRawChecking: own.enableRawChecking ?? shared.enableRawChecking ?? false,
  })
}

type ContextOptions = Pick<KoaBufferedOptions, 'detectJSON' | 'onError' | 'patchNode' | 'enableRawChecking'>

/** The options that act on the context, checked; koa-bodyparser 4's `onerror` read as `onError`. */
function contextOptions(options: KoaBufferedOptions): ContextOptions {
  const { detectJSON, onError, onerror, patchNode, enableRawChecking } = options
  if (onError !== undefined && onerror !== undefined && onError !== onerror) {
    throw new TypeError('options onError and onerror (its koa-bodyparser 4 name) disagree: give one of them')
  }
  const handler = onError ?? onerror
  if (detectJSON !== undefined && typeof detectJSON !== 'function') throw new TypeError('option detectJSON must be a function')
  if (handler !== undefined && typeof handler !== 'function') {
    throw new TypeError(`option ${onError !== undefined ? 'onError' : 'onerror'} must be a function`)
  }
  return {
    detectJSON,
    onError: handler,
    patchNode: patchNode === undefined ? undefined : parseBoolean(patchNode, false, 'patchNode'),
    enableRawChecking: enableRawChecking === undefined ? undefined : parseBoolean(enableRawChecking, false, 'enableRawChecking'),
  }
}

/** The co-body options alone: what `createCoBodyParsers()` checks. */
function withoutContextOptions(options: KoaBufferedOptions): CoBodyOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('buffered options must be an object')
  const {
    detectJSON: _detectJSON,
    onError: _onError,
    onerror: _onerror,
    patchNode: _patchNode,
    enableRawChecking: _enableRawChecking,
    ...rest
  } = options
  return rest
}

function noop(): void {}
