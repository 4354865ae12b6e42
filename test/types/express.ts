// Type-level tests of the public Express API: `tsc -p test/types` must pass,
// and every @ts-expect-error line must really be an error.
import express from 'express'
import { buffered, json, raw, streamShim, streaming, text, urlencoded } from '../../adapters/express/index.js'
import type { BodyErrorType, BodyParserMajor, BodyStream, StreamingHandler } from '../../adapters/express/index.js'

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
