/**
 * Public types of the Express adapter, and the fields stream-shim adds to
 * Express's Request.
 */
import type { NextFunction, Request, Response, Router } from 'express'
import type { BodyStream } from '../../lib/body-stream.js'
import type { UserTyped } from '../../lib/options.js'

declare global {
  namespace Express {
    interface Request {
      /** The decoded body bytes, on a buffered route whose body stream-shim parsed. */
      rawBody?: Buffer
      /** The body as a stream, on a streaming route. */
      bodyStream?: BodyStream
    }
  }
}

/** The request a streaming handler receives: `bodyStream` is always there. */
export type StreamingRequest = Request & { bodyStream: BodyStream }

/** A route handler that reads its body from `req.bodyStream`. */
export type StreamingHandler = (req: StreamingRequest, res: Response, next: NextFunction) => unknown

/** A route handler that reads its body from `req.body` / `req.rawBody`. */
export type BufferedHandler = (req: Request, res: Response, next: NextFunction) => unknown

/** Connect-style middleware, as body-parser returns: works on Express and on plain node:http. */
export type Middleware = (req: UserTyped, res: UserTyped, next: (err?: unknown) => void) => void

export type { Router }
