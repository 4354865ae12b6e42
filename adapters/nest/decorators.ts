/**
 * `@Streaming()`, `@Buffered()` and `@BodyStream()`: how a Nest controller
 * method says how its request body is read.
 *
 * A decorator cannot mark the function Express runs for the route: Nest
 * registers a proxy of its own for each method. So the decorators leave
 * their marker as metadata on the method, which Nest copies onto that proxy,
 * and `installStreamShim()` puts it where the shim's route lookup reads it.
 */
import { SetMetadata, UseInterceptors, applyDecorators, createParamDecorator, type ExecutionContext } from '@nestjs/common'
import type { Request } from 'express'
import { checkBufferedOptions, streamingConfig, type BufferedOptions, type StreamingOptions } from '../../lib/config.js'
import type { Marker } from '../../lib/markers.js'
import type { BodyStream as BodyStreamClass } from '../../lib/body-stream.js'
import { StreamingInterceptor } from './interceptor.js'

/** The metadata key under which a controller method carries its marker. */
export const NEST_MARKER = 'stream-shim:marker'

/**
 * Mark a controller method as streaming: with `installStreamShim(app)` it
 * runs as soon as the headers arrive and reads the body from
 * `@BodyStream()` (or `req.bodyStream`), incrementally and with
 * backpressure. Takes the options of `streaming()` (`limit`, `types`,
 * `inflate`, `timeout`, `discard`). Body errors (413, 408, 400, 415) reach
 * exception filters as Nest's `HttpException`s, with the original as `cause`.
 *
 * @example
 * @Put('files/:name')
 * @Streaming({ limit: '5gb' })
 * async upload(@Param('name') name: string, @BodyStream() body: BodyStream) {
 *   await pipeline(body, fs.createWriteStream(path.join(dir, path.basename(name))))
 * }
 */
export function Streaming(options: StreamingOptions = {}): MethodDecorator {
  const config = streamingConfig(options) // a bad option throws here, at class definition
  const marker: Marker = Object.freeze({ mode: 'streaming' as const, options })
  return applyDecorators(SetMetadata(NEST_MARKER, marker), UseInterceptors(new StreamingInterceptor(config)))
}

/**
 * Mark a controller method as buffered with options of its own (a larger
 * limit for one import route, say). Unmarked methods are buffered with the
 * options given to `installStreamShim()` already. Takes the options of
 * `buffered()`.
 *
 * @example
 * @Post('import')
 * @Buffered({ limit: '50mb' })
 * import(@Body() rows: ImportDto) { return this.importer.run(rows) }
 */
export function Buffered(options: BufferedOptions): MethodDecorator {
  checkBufferedOptions(options)
  const marker: Marker = Object.freeze({ mode: 'buffered' as const, options })
  return SetMetadata(NEST_MARKER, marker)
}

/**
 * A parameter decorator giving a `@Streaming()` method its `BodyStream`:
 * a Node `Readable` of Buffers, also async-iterable, with `buffer()`,
 * `text()`, `json()`, `toWeb()` and `signal`. On any other route it throws
 * (a 500 through the exception filters), naming the fix.
 *
 * @example
 * @Post('events')
 * @Streaming({ types: 'application/x-ndjson' })
 * async ingest(@BodyStream() body: BodyStream) {
 *   for await (const chunk of body) this.parser.push(chunk)
 * }
 */
export const BodyStream: () => ParameterDecorator = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const req = context.switchToHttp().getRequest<Request>()
  if (req.bodyStream === undefined) {
    throw new TypeError(`@BodyStream() is only set on a @Streaming() route (${req.method} ${req.originalUrl}): mark the method @Streaming() or read @Body()`)
  }
  return req.bodyStream
})

/** The type of a `@BodyStream()` parameter: stream-shim's `BodyStream`. */
export type BodyStream = BodyStreamClass
