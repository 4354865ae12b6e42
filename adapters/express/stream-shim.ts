/**
 * `streamShim()`: the middleware mounted first in an Express app. For each
 * request it finds the handler from method and path alone, then either gives
 * a streaming handler its `req.bodyStream` at once or buffers and parses the
 * body for a buffered one, before any later middleware runs.
 */
import type { NextFunction, Request, Response } from 'express'
import type { ShimOptions } from '../../lib/config.js'
import { beginBufferedThen, beginStreaming } from '../../lib/dispatch.js'
import { modeOf, requestHasBody, setMode } from '../../lib/request-state.js'
import { shimByBodyParser } from './flavour.js'
import { attachBodyStream } from './markers.js'
import { createRouteResolver } from './route-lookup.js'
import { describedShim } from '../../lib/shim-options.js'

/**
 * Mount first: `app.use(streamShim())`. Replaces `express.json()`,
 * `express.urlencoded()` and `express.text()` for every route that is not
 * marked `streaming`, and sets up `req.bodyStream` for those that are.
 *
 * @example
 * const app = express()
 * app.use(streamShim({ json: { limit: '1mb' }, urlencoded: { extended: true } }))
 */
export function streamShim(options?: ShimOptions) {
  const shimFor = shimByBodyParser(options) // body-parser 1.x semantics on Express 4 (flavour.ts)
  const resolve = createRouteResolver()

  return describedShim(options, function streamShim(req: Request, res: Response, next: NextFunction): void {
    const flavoured = shimFor(req)
    const shim = flavoured.shim
    if (modeOf(req) !== undefined || !requestHasBody(req)) {
      // Mounted twice, or re-entered through a sub-app; or nothing to read (a
      // streaming handler still gets its bodyStream from its own wrapper).
      if (modeOf(req) === undefined) flavoured.defaultBody(req)
      next()
      return
    }
    const decision = resolve.markedRoute(req)
    const marker = decision?.marker
    if (marker?.mode === 'streaming') {
      // A refusal from the headers is raised by the route, after the middleware in front of it.
      const stream = beginStreaming(req, res, shim.streamingFor(marker), decision!.path, shim.parsers)
      attachBodyStream(req, stream, decision!.path)
      next()
      return
    }
    if (decision?.appParses === true && marker === undefined) {
      // The app keeps its own parser on this route: it reads the body, with its
      // own options, at its own place in the chain, exactly as without the shim.
      setMode(req, 'buffered')
      next()
      return
    }
    flavoured.defaultBody(req)
    // Where the route cannot be seen (a sub-app), parse without claiming the
    // body: parsers further in read it again with their own options.
    if (!beginBufferedThen(req, res, shim.parsersFor(marker), decision?.unseen !== true, next)) next()
  })
}
