// Type-level tests of the public Koa API.
import Koa from 'koa'
import Router from '@koa/router'
import { buffered, streamShim, streaming } from '../../adapters/koa/index.js'
import type { BodyStream } from '../../adapters/koa/index.js'

const app = new Koa()
const router = new Router()
router.post('/legacy', (ctx) => {
  const body: unknown = ctx.request.body
  const raw: string = ctx.request.rawBody
  ctx.body = { body, raw }
})
router.put(
  '/files/:name',
  streaming({ limit: '5gb' }, async (ctx) => {
    const stream: BodyStream = ctx.request.bodyStream
    ctx.body = { size: (await stream.buffer()).length }
  }),
)
router.post('/import', buffered({ jsonLimit: '50mb' }, (ctx) => {
  ctx.body = ctx.request.body
}))
app.use(streamShim({ enableTypes: ['json', 'form', 'text'], streaming: { timeout: 10_000 } }))
app.use(router.routes())

// @ts-expect-error: limit is a byte size
streaming({ limit: [] }, async () => {})

// @koa/bodyparser 6's and koa-bodyparser 4's option names.
app.use(streamShim({ patchNode: true, enableRawChecking: true, strict: false, onerror: (err, ctx) => ctx.throw(422, err.message) }))
app.use(async (ctx, next) => {
  ctx.disableBodyParser = true
  await next()
})
// @ts-expect-error: patchNode is a boolean
streamShim({ patchNode: 'yes' })
