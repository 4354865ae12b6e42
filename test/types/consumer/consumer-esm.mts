// The ES module side of the built package: the `import` condition's types.
import express from 'express'
import { streamShim, streaming } from 'stream-shim/express'
import { installStreamShim, Streaming } from 'stream-shim/nest'
import { streamShim as koaShim } from 'stream-shim/koa'

const app = express()
app.use(streamShim())
app.post('/ingest', streaming(async (req, res) => {
  for await (const chunk of req.bodyStream) void (chunk satisfies Buffer)
  res.end()
}))
export const used = [installStreamShim, Streaming, koaShim] as const
