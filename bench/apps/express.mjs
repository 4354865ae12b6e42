// Express apps, with stream-shim and with the peers it replaces.
import http from 'node:http'
import express from 'express'
import { expressShim } from '../lib/shim.mjs'
import { LARGE_LIMIT, SMALL_OBJECT, pace } from './common.mjs'

const { streamShim, streaming, json } = expressShim

function countStream(req, res) {
  return (async () => {
    let n = 0
    for await (const chunk of req.bodyStream) n += chunk.length
    res.end(String(n))
  })()
}

/** Streaming route: the handler counts `req.bodyStream` as it arrives. */
export function streamingUpload() {
  const app = express()
  app.use(streamShim())
  app.put('/up', streaming({ limit: Infinity }, countStream))
  return http.createServer(app)
}

/** No shim: the handler counts `req` itself with `for await`, as Express users stream today. */
export function iterateRequest() {
  const app = express()
  app.put('/up', async (req, res) => {
    let n = 0
    for await (const chunk of req) n += chunk.length
    res.end(String(n))
  })
  return http.createServer(app)
}

/** The buffering reference: `express.raw()` reads the whole body, the handler answers its length. */
export function expressRaw() {
  const app = express()
  app.use(express.raw({ limit: LARGE_LIMIT, type: () => true }))
  app.all('/up', (req, res) => res.end(String(req.body.length)))
  return http.createServer(app)
}

/** stream-shim buffering the same body for an unmarked route (its raw parser turned on). */
export function shimRaw() {
  const app = express()
  app.use(streamShim({ raw: { limit: LARGE_LIMIT, type: () => true } }))
  app.all('/up', (req, res) => res.end(String(req.body.length)))
  return http.createServer(app)
}

/** A streaming handler that consumes at `rate` bytes per second. */
export function slowStreaming({ rate }) {
  const app = express()
  app.use(streamShim())
  app.put(
    '/up',
    streaming({ limit: Infinity, timeout: false }, async (req, res) => {
      let n = 0
      for await (const chunk of req.bodyStream) {
        n += chunk.length
        await pace(chunk.length, rate)
      }
      res.end(String(n))
    }),
  )
  return http.createServer(app)
}

function echoApp(...middleware) {
  const app = express()
  app.use(...middleware)
  app.post('/json', (req, res) => res.json(req.body ?? SMALL_OBJECT))
  return http.createServer(app)
}

/** No body parser: the handler answers the same document without reading the body. */
export function jsonNone() {
  const app = express()
  app.post('/json', (req, res) => res.json(SMALL_OBJECT))
  return http.createServer(app)
}

export const jsonExpress = () => echoApp(express.json())
export const jsonShim = () => echoApp(streamShim())
export const jsonOurs = () => echoApp(json())
