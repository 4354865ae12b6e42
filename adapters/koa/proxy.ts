/**
 * `proxy()` for Koa: a streaming middleware that forwards the request to an
 * upstream and streams its response back (lib/proxy.ts).
 */
import type { Context } from 'koa'
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
  return streaming(config.streaming, async function proxyMiddleware(ctx: Context): Promise<void> {
    const url = await targetUrl(checked, ctx, ctx.originalUrl, config)
    await forward({
      req: ctx.req,
      res: ctx.res,
      body: ctx.request.bodyStream,
      url,
      config,
      beforeResponse: () => {
        ctx.respond = false
      },
    })
  })
}
