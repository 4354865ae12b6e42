// A consumer of the built package (dist/), as a user's project sees it:
// type-checked by scripts/typecheck-dist.mjs with TypeScript 5.9 and 6.0,
// under moduleResolution node10 (typesVersions) and nodenext (exports).
import express from 'express'
import Koa from 'koa'
import KoaRouter from '@koa/router'
import { Controller, Post } from '@nestjs/common'
import type { INestApplication } from '@nestjs/common'
import { BodyStream as Stream, isBodyError } from 'stream-shim'
import { streamShim, streaming, type StreamingRequest, type StreamingRouter } from 'stream-shim/express'
import { streamShim as koaShim, streaming as koaStreaming } from 'stream-shim/koa'
import { BodyStream, Streaming, installStreamShim } from 'stream-shim/nest'

const app = express()
app.use(streamShim())
app.put(
  '/files/:name',
  streaming({ limit: '5gb' }, async (req, res) => {
    const name: string = req.params.name
    let bytes = 0
    for await (const chunk of req.bodyStream) {
      const buf: Buffer = chunk
      // @ts-expect-error: a chunk is a Buffer, not any
      const wrong: number = chunk
      bytes += buf.length + (wrong && 0)
    }
    res.json({ name, bytes })
  }),
)
app.put('/notes/:id', streaming(async (req: StreamingRequest<{ id: string }>, res) => res.json({ id: req.params.id, text: await req.bodyStream.text() })))
const router: StreamingRouter = streaming(express.Router())
router.post('/:id', async (req, res) => res.json({ id: req.params.id satisfies string, size: (await req.bodyStream.buffer()).length }))
app.use('/up', router)

const koa = new Koa()
const koaRouter = new KoaRouter()
koa.use(koaShim())
koaRouter.put('/files/:name', koaStreaming(async (ctx) => {
  const stream: Stream = ctx.request.bodyStream
  // @ts-expect-error: the stream is typed, not any
  const wrong: number = ctx.request.bodyStream
  void wrong
  ctx.body = { size: (await stream.buffer()).length }
}))
koa.use(koaRouter.routes())

@Controller()
export class UploadController {
  @Post('upload')
  @Streaming({ limit: '1gb' })
  async upload(@BodyStream() body: BodyStream): Promise<number> {
    return (await body.buffer()).length
  }
}
declare const nestApp: INestApplication
installStreamShim(nestApp)
export const check: (err: unknown) => boolean = isBodyError
