// Servers sending a large streamed response: stream-shim's sendStream() on
// Express and Koa, and a raw node:http handler piping the same source.
import http from 'node:http'
import { Readable } from 'node:stream'
import express from 'express'
import Koa from 'koa'
import { expressShim, koaShim } from '../lib/shim.mjs'

const CHUNK = Buffer.alloc(64 * 1024, 'x')

/**
 * The source every server sends: `bytes` bytes in 64 KiB chunks, produced as
 * fast as they are pulled (a Readable, so the raw handler can pipe it).
 */
function source(bytes) {
  let left = bytes
  return new Readable({
    highWaterMark: CHUNK.length,
    read() {
      if (left <= 0) return this.push(null)
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
      left -= chunk.length
      this.push(chunk)
    },
  })
}

const bytesOf = (req) => Number(new URL(req.url, 'http://x').searchParams.get('bytes'))

/** The floor: node:http piping the source to the response. */
export function rawPipe() {
  return http.createServer((req, res) => {
    res.setHeader('content-type', 'application/octet-stream')
    source(bytesOf(req)).pipe(res)
  })
}

/** Express + `streaming()` + `sendStream(res, source)`. */
export function expressSendStream() {
  const { sendStream, streaming } = expressShim
  const app = express()
  app.get('/down', streaming((req, res) => {
    res.type('application/octet-stream')
    return sendStream(res, source(bytesOf(req)))
  }))
  return http.createServer(app)
}

/** Koa piping the source itself (`ctx.body = readable`): Koa's own floor. */
export function koaPipe() {
  const app = new Koa()
  app.use(async (ctx) => {
    ctx.type = 'application/octet-stream'
    ctx.body = source(bytesOf(ctx.req))
  })
  return http.createServer(app.callback())
}

/** Koa + `sendStream(ctx, source)`. */
export function koaSendStream() {
  if (koaShim === undefined) throw new Error('stream-shim/koa is not built yet')
  const { sendStream } = koaShim
  const app = new Koa()
  app.use(async (ctx) => {
    ctx.type = 'application/octet-stream'
    sendStream(ctx, source(bytesOf(ctx.req)))
  })
  return http.createServer(app.callback())
}
