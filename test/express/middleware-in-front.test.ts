/**
 * With `streamShim()` mounted first, a streaming route's refusal from its
 * headers (413, 415) is raised where the route runs: after the middleware in
 * front of it. CORS headers, loggers and AsyncLocalStorage stores are there
 * when the error handler answers, so a browser sees the 413, not "Failed to
 * fetch".
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import request from 'supertest'
import { streamShim, streaming } from '../../adapters/express/index.js'
import cors from 'cors'
import { frameworks } from '../helpers/http.js'

describe.each(frameworks)('%s: middleware in front of a streaming route', (_name, express) => {
  function app(withErrorHandler: boolean) {
    const store = new AsyncLocalStorage<{ id: string }>()
    const logged: string[] = []
    const app = express()
    app.use(streamShim())
    app.use(cors({ origin: 'https://app.example' }))
    app.use((req: any, res: any, next: any) => {
      res.on('finish', () => logged.push(`${req.method} ${req.url} ${res.statusCode}`))
      next()
    })
    app.use((req: any, _res: any, next: any) => store.run({ id: String(req.headers['x-request-id']) }, next))
    app.put('/upload', streaming({ limit: '1kb', types: 'application/octet-stream' }, async (req, res) => {
      res.json({ length: (await req.bodyStream.buffer()).length })
    }))
    if (withErrorHandler) {
      app.use((err: any, _req: any, res: any, _next: any) => {
        res.status(err.status).json({ type: err.type, requestId: store.getStore()?.id })
      })
    }
    return { app, logged }
  }

  it('413 from a declared length carries the CORS header, reaches the logger and the AsyncLocalStorage store', async () => {
    const { app: server, logged } = app(true)
    const reply = await request(server)
      .put('/upload')
      .set('origin', 'https://app.example')
      .set('x-request-id', 'req-42')
      .set('content-type', 'application/octet-stream')
      .send(Buffer.alloc(5000))
    expect(reply.status).toBe(413)
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(reply.body).toEqual({ type: 'entity.too.large', requestId: 'req-42' })
    expect(logged).toEqual(['PUT /upload 413'])
  })

  it('415 for a media type the route does not take carries the CORS header, with default error handling', async () => {
    const { app: server, logged } = app(false)
    const reply = await request(server)
      .put('/upload')
      .set('origin', 'https://app.example')
      .set('content-type', 'application/json')
      .send('{}')
    expect(reply.status).toBe(415)
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(logged).toEqual(['PUT /upload 415'])
  })
})
