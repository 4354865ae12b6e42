/**
 * `proxy()` for Koa: a streaming middleware that forwards the request to an
 * upstream and streams its response back (lib/proxy.ts).
 */
import type { Readable } from 'node:stream'
import type { Context, Next } from 'koa'
import { getMarker, setMarker } from '../../lib/markers.js'
import { modeOf } from '../../lib/request-state.js'
import { checkTarget, forward, proxyConfig, targetUrl, type ProxyOptions, type ProxyTarget } from '../../lib/proxy.js'
import { streaming } from './markers.js'
import type { KoaMiddleware } from './types.js'

/**
 * A streaming middleware that forwards each request to `target` as it
 * arrives (body included, with backpressure both ways) and streams the
 * upstream's response back, writing it to `ctx.res` itself
 * (`ctx.respond = false` once it starts). A fixed `target` is a base URL
 * the request's path (`ctx.originalUrl`, through `rewritePath`) is joined
 * to; a function gives the whole URL. Hop-by-hop headers are dropped both
 * ways; `X-Forwarded-*` and `Via` are added. Errors before the response are
 * thrown as usual: 502 (`proxy.upstream.failed`), 504
 * (`proxy.upstream.timeout`), or the body's own (413, 408, 400); after it
 * began, the client's connection is destroyed.
 *
 * @example
 * router.all('/api/(.*)', proxy('http://127.0.0.1:8080', { limit: '5gb' }))
 * router.all('/files/(.*)', proxy((ctx) => new URL(ctx.path, upstream)))
 */
export function proxy(target: ProxyTarget<Context>, options?: ProxyOptions<Context>): KoaMiddleware {
  const checked = checkTarget(target)
  const config = proxyConfig(options)
  const run = async (ctx: Context, body: Readable | undefined): Promise<void> => {
    const url = await targetUrl(checked, ctx, ctx.originalUrl, config)
    await forward({
      req: ctx.req,
      res: ctx.res,
      body,
      url,
      config,
      beforeResponse: () => {
        ctx.respond = false
      },
    })
  }
  const onStreamingRoute = streaming(config.streaming, function proxyStreaming(ctx: Context, _next: Next): Promise<void> {
    return run(ctx, ctx.request.bodyStream)
  })
  const proxyMiddleware = function proxyMiddleware(ctx: Context, next: Next): Promise<unknown> {
    // A buffered route (under buffered(), or one the shim buffered): ctx.req replays the wire bytes.
    if (ctx.request.bodyStream === undefined && modeOf(ctx.req) === 'buffered') return run(ctx, ctx.req)
    return onStreamingRoute(ctx, next)
  }
  return setMarker(proxyMiddleware, getMarker(onStreamingRoute)!)
}
