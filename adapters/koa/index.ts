/** stream-shim for Koa 2 and 3 with @koa/router: headers-first dispatch, `streaming()` routes, @koa/bodyparser-compatible buffering. */
export { streamShim } from './stream-shim.js'
export { streaming, buffered } from './markers.js'
export { resolveRoute } from './route-lookup.js'
export { installContinue } from '../../lib/continue.js'
export { sendStream, streamingResponses, freezeHeader, isHeaderFrozen } from './responses.js'
export type { KoaSendStreamOptions, KoaBodyWrapper } from './responses.js'
export type { ResponseChunk, ResponseSource } from '../../lib/send-stream.js'
export type { RouteDecision } from './route-lookup.js'
export type {
  KoaBufferedOptions,
  KoaShimOptions,
  KoaMiddleware,
  StreamingContext,
  StreamingMiddleware,
} from './types.js'
export { BodyStream } from '../../lib/body-stream.js'
export { ERROR_STATUS, isBodyError } from '../../lib/errors.js'
export type { BodyError, BodyErrorType } from '../../lib/errors.js'
export type { StreamingOptions } from '../../lib/config.js'
export type { CoBodyOptions, CoBodyType } from '../../lib/co-body-parsers.js'
export { describeRoutes, recordBodies } from './describe-routes.js'
export { formatRoutes, type RouteReport, type RouteOptions, type RouteMode, type ParserReport } from '../../lib/route-report.js'
export type { BodyStats } from '../../lib/body-record.js'
export { proxy } from './proxy.js'
export { installConnect, tunnel } from './connect.js'
export { connectTarget, type ConnectTarget, type TunnelTarget } from '../../lib/connect.js'
export type { ProxyOptions, ProxyTarget } from '../../lib/proxy.js'
