/** stream-shim core: framework-free body streaming and buffering. Adapters live at `stream-shim/express` and `stream-shim/koa`. */
export { BodyStream } from './body-stream.js'
export { ERROR_STATUS, isBodyError } from './errors.js'
export type { BodyError, BodyErrorType } from './errors.js'
export type { BufferedOptions, ShimOptions, StreamingOptions } from './config.js'
export type { BaseParserOptions, BodyParserMajor, JsonOptions, RawOptions, TextOptions, UrlencodedOptions, VerifyFunction } from './parsers.js'
export type { ByteSize, TypeMatcher } from './options.js'
