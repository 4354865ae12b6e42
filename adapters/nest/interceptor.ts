/**
 * The interceptor `@Streaming()` puts on its route: it does for a Nest
 * handler what `streaming()` does for an Express one. It raises the body's
 * refusal from its headers (413, 415) where the handler would run, after
 * guards and the interceptors in front of it; turns body errors into Nest
 * exceptions so exception filters see them with their status; and passes on
 * a body error nobody listens for while the response is still the handler's.
 */
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common'
import type { Request, Response } from 'express'
import { Observable, catchError, throwError } from 'rxjs'
import { onUnobservedError, type BodyStream } from '../../lib/body-stream.js'
import type { StreamingConfig } from '../../lib/config.js'
import { beginStreaming } from '../../lib/dispatch.js'
import { stepIn } from '../../lib/step-aside.js'
import { attachBodyStream } from '../express/markers.js'
import { toHttpException } from './exceptions.js'

export class StreamingInterceptor implements NestInterceptor {
  constructor(private readonly config: StreamingConfig) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp()
    const req = http.getRequest<Request>()
    const res = http.getResponse<Response>()
    if (req.bodyStream === undefined) {
      // Not dispatched by the shim (installStreamShim() not called, or a
      // request with no body): set the stream up here.
      const route = req.baseUrl + ((req.route as { path?: string } | undefined)?.path ?? req.path)
      attachBodyStream(req, beginStreaming(req, res, this.config, route), route)
    }
    const stream = req.bodyStream as BodyStream
    stepIn(req) // the body's owner runs: parsers before it were made to step aside
    if (stream.refusal !== undefined) return throwError(() => toHttpException(stream.refusal))
    return new Observable((subscriber) => {
      onUnobservedError(stream, (err) => {
        if (!res.headersSent) subscriber.error(toHttpException(err))
      })
      const subscription = next.handle()
        .pipe(catchError((err: unknown) => throwError(() => toHttpException(err))))
        .subscribe(subscriber)
      return () => subscription.unsubscribe()
    })
  }
}
