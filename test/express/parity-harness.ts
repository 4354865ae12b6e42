/**
 * Shared by the body-parser parity tests: the same middleware mounted on
 * Express 4, Express 5 or a plain node:http server, answering through one
 * `respond` function so that two servers can be compared response for response.
 */
import http from 'node:http'
import express5 from 'express'

// Express 4 is installed under an npm alias; its types are those of Express 5's
// package, close enough for `app.use`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const express4 = require('express4') as typeof express5

export type Middleware = (req: any, res: any, next: (err?: unknown) => void) => void
export type Flavor = 'express4' | 'express5' | 'node:http'
export type Respond = (req: any, res: http.ServerResponse, err?: any) => void

/** The name of a value's prototype, for comparing results without comparing identities. */
export function prototypeName(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null
  const proto = Object.getPrototypeOf(value)
  if (proto === null) return 'null'
  if (proto === Object.prototype) return 'Object'
  if (proto === Array.prototype) return 'Array'
  if (proto === Buffer.prototype) return 'Buffer'
  return 'other'
}

/** A server running `mw`, then answering with `respond` (with the error, if `mw` passed one on). */
export function createServer(flavor: Flavor, mw: Middleware, respond: Respond): http.Server {
  if (flavor === 'node:http') {
    return http.createServer((req, res) => mw(req, res, (err) => respond(req, res, err)))
  }
  const app = (flavor === 'express4' ? express4 : express5)()
  app.use(mw)
  app.use((req: any, res: any) => respond(req, res))
  app.use((err: any, req: any, res: any, _next: any) => respond(req, res, err))
  return http.createServer(app)
}
