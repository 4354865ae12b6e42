/**
 * `streamShim()`: the Koa middleware mounted before the routers. For each
 * request it finds the route from method, path and host alone, then either
 * gives a streaming route its `ctx.request.bodyStream` at once or reads and
 * parses the body, as @koa/bodyparser would, for a buffered one.
 */
import type { Context, Next } from 'koa'
import { beginStreaming, createShim } from '../../lib/dispatch.js'
import { perMarker } from '../../lib/markers.js'
import { isParsed, modeOf } from '../../lib/request-state.js'
import { CLIENT_CLOSED, attachBodyStream, bufferBodyThen, keepConnectionClose, rememberFallback } from './context-body.js'
import { bufferedConfig } from './markers.js'
import { markedRoute } from './route-lookup.js'
import { describedShim } from '../../lib/shim-options.js'
import type { KoaBufferedOptions, KoaShimOptions } from './types.js'

/**
 * Mount before the routers: `app.use(streamShim())`. Replaces
 * @koa/bodyparser (or koa-bodyparser) for every route not marked
 * `streaming`, and sets up `ctx.request.bodyStream` for those that are.
 *
 * @example
 * const app = new Koa()
 * app.use(streamShim({ jsonLimit: '2mb', enableTypes: ['json', 'form', 'text'] }))
 * app.use(router.routes())
 */
export function streamShim(options: KoaShimOptions = {}) {
  if (typeof options !== 'object' || options === null) throw new TypeError('streamShim options must be an object')
  const { streaming, ...bufferedOptions } = options
  const shim = createShim({ streaming })
  const buffered = bufferedConfig(bufferedOptions)
  const bufferedFor = perMarker('buffered', buffered, (own) => bufferedConfig(bufferedOptions, own as KoaBufferedOptions))

  return describedShim(options, function streamShim(ctx: Context, next: Next): Promise<void> {
    if (modeOf(ctx.req) !== undefined) return next() // mounted twice: the first one did the work
    const decision = markedRoute(ctx)
    const marker = decision?.marker
    if (marker?.mode === 'streaming') {
      // A refusal from the headers is raised by the route, after the middleware in front of it.
      const route = decision!.path
      attachBodyStream(ctx, beginStreaming(ctx.req, ctx.res, shim.streamingFor(marker), route), route)
      rememberFallback(ctx.req, buffered)
      return next().then(undefined, (err: unknown) => rethrowKeepingClose(ctx, err))
    }
    return new Promise<void>((resolve, reject) => {
      bufferBodyThen(ctx, bufferedFor(marker), (err, outcome) => {
        if (err !== undefined) {
          keepConnectionClose(ctx, err)
          reject(err)
        } else if (outcome !== CLIENT_CLOSED) {
          // A body left unread (a type no parser takes) may be given up later, and its error answered.
          resolve(isParsed(ctx.req) ? next() : next().then(undefined, (error: unknown) => rethrowKeepingClose(ctx, error)))
        } else {
          resolve()
        }
      })
    })
  })
}

function rethrowKeepingClose(ctx: Context, err: unknown): never {
  keepConnectionClose(ctx, err)
  throw err
}
