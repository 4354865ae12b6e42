/**
 * `proxy()` for Express: a streaming route handler that forwards the request
 * to an upstream and streams its response back (lib/proxy.ts).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Readable } from 'node:stream'
import { getMarker, setMarker } from '../../lib/markers.js'
import { checkTarget, forward, proxyConfig, targetUrl, type ProxyOptions, type ProxyTarget } from '../../lib/proxy.js'
import { modeOf } from '../../lib/request-state.js'
import { streaming } from './markers.js'
import type { StreamingRequest } from './types.js'

/**
 * A streaming route handler that forwards each request to `target` as it
 * arrives (body included, with backpressure both ways) and streams the
 * upstream's response back. A fixed `target` is a base URL the request's
 * path (`req.originalUrl`, through `rewritePath`) is joined to; a function
 * gives the whole URL. Hop-by-hop headers are dropped both ways;
 * `X-Forwarded-*` and `Via` are added. Errors before the response reach
 * Express's error handling: 502 (`proxy.upstream.failed`), 504
 * (`proxy.upstream.timeout`), or the body's own (413, 408, 400); after it
 * began, the client's connection is destroyed. On a buffered route the
 * bytes stream-shim buffered are forwarded as they came.
 *
 * @example
 * app.all('/api/*path', proxy('http://127.0.0.1:8080', { limit: '5gb', timeout: 30_000 }))
 * app.all('/v2/*path', proxy('http://10.0.0.2', { rewritePath: (path) => path.replace(/^\/v2/, '') }))
 */
export function proxy(target: ProxyTarget<Request>, options?: ProxyOptions<Request>): RequestHandler {
  const checked = checkTarget(target)
  const config = proxyConfig(options)
  const run = (req: Request, res: Response, next: NextFunction, body: Readable | undefined): void => {
    targetUrl(checked, req, req.originalUrl, config)
      .then((url) => forward({ req, res, body, url, config }))
      .catch((err: unknown) => {
        if (res.headersSent) res.destroy()
        else next(err)
      })
  }
  const onStreamingRoute = streaming<Request['params']>(config.streaming, function proxyStreaming(req: StreamingRequest<Request['params']>, res: Response, next: NextFunction): void {
    run(req, res, next, req.bodyStream)
  })
  const proxyHandler = function proxyHandler(req: Request, res: Response, next: NextFunction): void {
    // A buffered route (under buffered(), or one the shim buffered): the request replays the wire bytes.
    if (req.bodyStream === undefined && modeOf(req) === 'buffered') run(req, res, next, req)
    else onStreamingRoute(req, res, next)
  }
  return setMarker(proxyHandler, getMarker(onStreamingRoute)!)
}
