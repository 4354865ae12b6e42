// Type-level tests for the streaming-response exports (checked by `npm run typecheck`).
import express from 'express'
import Koa from 'koa'
import { Readable } from 'node:stream'
import * as ex from '../../adapters/express/index.js'
import * as ko from '../../adapters/koa/index.js'

const app = express()
app.use(ex.streamingResponses())
app.use(ex.streamingResponses(async function* (body, req, res) {
  const path: string = req.path
  void path
  const streaming: boolean = res.streaming
  void streaming
  for await (const chunk of body) yield chunk
}))
app.get('/x', async (req, res) => {
  res.freezeHeader('Cache-Control', 'no-cache').type('text/plain')
  const frozen: boolean = res.isHeaderFrozen('cache-control')
  void frozen
  await ex.sendStream(res, Readable.from(['a']))
  await ex.sendStream(res, new Response('x'), { frozen: true })
  await res.sendStream(new ReadableStream<Uint8Array>())
  // @ts-expect-error a number is not a source
  await ex.sendStream(res, 42)
})

const koa = new Koa()
koa.use(ko.streamingResponses((body, ctx) => {
  void ctx.path
  return body
}))
koa.use(async (ctx) => {
  ctx.freezeHeader('ETag', '"v1"')
  ctx.response.freezeHeader('Last-Modified', new Date().toUTCString())
  const content: Buffer | undefined = ctx.response.content
  void content
  const body: Readable = ko.sendStream(ctx, ['a', new Uint8Array(1)])
  void body
  ko.freezeHeader(ctx, 'Content-Encoding')
  const frozen: boolean = ko.isHeaderFrozen(ctx, 'etag')
  void frozen
})
