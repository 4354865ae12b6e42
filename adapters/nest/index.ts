/** stream-shim for NestJS on Express (Nest 10, 11 and 12): `installStreamShim(app)`, `@Streaming()`, `@Buffered()`, `@BodyStream()`. */
export { installStreamShim, type NestShimOptions } from './install.js'
export { Streaming, Buffered, BodyStream } from './decorators.js'
export { toHttpException } from './exceptions.js'
export type { StreamingRequest } from '../express/types.js'
export { ERROR_STATUS, isBodyError } from '../../lib/errors.js'
export type { BodyError, BodyErrorType } from '../../lib/errors.js'
export type { BufferedOptions, ShimOptions, StreamingOptions } from '../../lib/config.js'
