// Type-level tests of the public Express API: `tsc -p test/types` must pass,
// and every @ts-expect-error line must really be an error.
import express from 'express'
import { buffered, json, raw, streamShim, streaming, text, urlencoded } from '../../adapters/express/index.js'
import type { BodyErrorType, BodyParserMajor, BodyStream, StreamingHandler, StreamingRequest, StreamingRouter } from '../../adapters/express/index.js'

const app = express()
app.use(streamShim())
app.use(streamShim({ json: { limit: '1mb', strict: false }, urlencoded: false, raw: { type: 'application/octet-stream' } }))
app.use(json(), urlencoded({ extended: true }), text({ defaultCharset: 'latin1' }), raw())

// A streaming handler gets a bodyStream that is always there.
app.put(
  '/files/:name',
  streaming({ limit: '5gb', types: ['application/octet-stream'] }, async (req, res) => {
    const stream: BodyStream = req.bodyStream
    for await (const chunk of stream) {
      const n: number = (chunk as Buffer).length
      void n
    }
    const size: number = stream.bytesReceived
    const expected: number | undefined = stream.expectedLength
    const signal: AbortSignal = stream.signal
    void [size, expected, signal, req.params.name]
    res.status(201).end()
  }),
)
app.post('/json', streaming(async (req, res) => res.json(await req.bodyStream.json<{ a: number }>())))

// Routers are marked in place and keep their type.
const router: express.Router = streaming(express.Router())
app.use('/up', router)
app.post('/import', buffered({ limit: '50mb' }, (req, res) => res.json({ size: req.rawBody?.length })))

const handler: StreamingHandler = async (req) => {
  const text: string = await req.bodyStream.text()
  void text
}
app.post('/t', streaming(handler))

const type: BodyErrorType = 'entity.too.large'
void type

// body-parser 1.x or 2.x semantics, on the shim, a route and a drop-in.
app.use(streamShim({ bodyParser: 1 }), json({ bodyParser: 2 }))
app.post('/v1', buffered({ bodyParser: 1, limit: '1mb', json: { limit: '2mb' } }, (req, res) => res.json(req.body)))
const major: BodyParserMajor = 2
void major
// @ts-expect-error: body-parser has majors 1 and 2 only
streamShim({ bodyParser: 3 })

// @ts-expect-error: limit is a byte size, not a boolean
streaming({ limit: true }, handler)
// @ts-expect-error: unknown option
streamShim({ jsonn: {} })
// @ts-expect-error: buffered() needs its options
buffered(handler)
// @ts-expect-error: not an error type stream-shim creates
const wrong: BodyErrorType = 'entity.too.big'
void wrong

// Route params are strings through streaming(), as in a plain handler.
app.put(
  '/files/:name',
  streaming(async (req, res) => {
    const name: string = req.params.name
    for await (const chunk of req.bodyStream) {
      const buf: Buffer = chunk
      // @ts-expect-error: chunks are Buffers, not any
      const wrong: string = chunk
      void [buf, wrong]
    }
    res.status(201).json({ name })
  }),
)
// An annotated request, as Express's RequestHandler<P> takes, is accepted.
app.put(
  '/notes/:id',
  streaming({ limit: '1mb' }, async (req: StreamingRequest<{ id: string }>, res: express.Response) => {
    const id: string = req.params.id
    res.json({ id, text: await req.bodyStream.text() })
  }),
)
app.put('/plain/:id', streaming(async (req: express.Request<{ id: string }>, res) => res.json({ id: req.params.id })))
app.post('/legacy/:id', buffered({ limit: '1mb' }, (req, res) => res.json({ id: req.params.id satisfies string })))

// Inside streaming(express.Router()), route handlers get bodyStream without `!`.
const uploads: StreamingRouter = streaming(express.Router())
uploads.put('/:name', async (req, res) => {
  const stream: BodyStream = req.bodyStream
  const name: string = req.params.name
  res.json({ name, size: (await stream.buffer()).length })
})
uploads.post(['/a', '/b'], (req, _res, next) => {
  void req.bodyStream.signal
  next()
})
app.use('/uploads', uploads, streaming({ limit: '5gb' }, express.Router()))
const plainRouter: express.Router = uploads
void plainRouter
