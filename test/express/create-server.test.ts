/**
 * createServer(app) and createSecureServer(app, tls): Express apps served by
 * a server whose requests and responses are born with the app's prototypes.
 * Everything an app reaches through those prototypes must work as with
 * `http.createServer(app)`: Express's own fields and methods, views, the
 * app's own extensions, passport, mounted sub-apps, and stream-shim's routes.
 */
import http from 'node:http'
import https from 'node:https'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { createSecureServer, createServer, installContinue, streamShim, streaming } from '../../adapters/express/index.js'
import { bytes, frameworks, listen, request, send, sha256, type Reply, type Running } from '../helpers/http.js'

const passport = require('passport')
const { Strategy: LocalStrategy } = require('passport-local')

const FIXTURES = path.join(__dirname, '..', 'fixtures')
const TLS = { key: readFileSync(path.join(FIXTURES, 'tls', 'key.pem')), cert: readFileSync(path.join(FIXTURES, 'tls', 'cert.pem')) }

function get(port: number, urlPath: string, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return request(port, { method: 'GET', path: urlPath, headers }, (req) => {
    req.end()
  })
}

function json(reply: Reply): any {
  expect(reply.headers['content-type']).toMatch(/^application\/json/)
  return JSON.parse(reply.text)
}

/** A template engine in five lines: `{{name}}` is replaced with the local of that name. */
function tplEngine(file: string, locals: Record<string, unknown>, done: (err: Error | null, html?: string) => void) {
  done(null, readFileSync(file, 'utf8').replace(/\{\{(\w+)\}\}/g, (_, name) => String(locals[name])))
}

function errorHandler(err: any, _req: any, res: any, _next: any) {
  res.status(err.status ?? 500).json({ type: err.type, message: err.message })
}

describe.each(frameworks)('%s: createServer(app)', (_name, express) => {
  let running: Running
  let app: any
  const bornWithApp = new WeakMap<object, boolean>()

  beforeAll(async () => {
    app = express()
    app.request.addedBefore = function addedBefore(this: any) {
      return `before createServer, ${this.method} ${this.path}`
    }
    app.engine('tpl', tplEngine)
    app.set('views', path.join(FIXTURES, 'views'))
    app.set('view engine', 'tpl')
    app.locals.site = 'stream-shim'

    const auth = new passport.Passport()
    auth.use(
      new LocalStrategy((username: string, password: string, done: (err: unknown, user?: unknown) => void) =>
        done(null, password === 'secret' ? { name: username } : false),
      ),
    )

    app.use(streamShim())
    app.use(auth.initialize())
    app.get('/prototypes', (req: any, res: any) => {
      res.json({
        bornWithApp: bornWithApp.get(req),
        reqApp: req.app === app,
        resApp: res.app === app,
        reqIsMessage: req instanceof http.IncomingMessage,
        resIsResponse: res instanceof http.ServerResponse,
        reqProto: Object.getPrototypeOf(req) === app.request,
        resProto: Object.getPrototypeOf(res) === app.response,
        path: req.path,
        query: req.query,
        accepts: req.accepts(['text/html', 'application/json']),
      })
    })
    app.get('/users/:user/posts/:post', (req: any, res: any) => res.json(req.params))
    app.use('/locals', (req: any, res: any, next: any) => {
      res.locals.seenBy = 'middleware'
      next()
    })
    app.get('/locals', (req: any, res: any) => res.json({ seenBy: res.locals.seenBy }))
    app.get('/render/:name', (req: any, res: any) => {
      res.locals.greeting = 'Hello'
      res.render('hello', { name: req.params.name })
    })
    app.post('/login', auth.authenticate('local', { session: false }), (req: any, res: any) => {
      res.json({ user: req.user, authenticated: req.isAuthenticated() })
    })
    app.get('/login-as/:name', (req: any, res: any, next: any) => {
      req.login({ name: req.params.name }, { session: false }, (err: unknown) => {
        if (err) return next(err)
        res.json({ user: req.user, authenticated: req.isAuthenticated() })
      })
    })
    app.get('/extensions', (req: any, res: any) => res.shout(`${req.addedBefore()}; ${req.addedAfter()}`))
    app.put(
      '/upload',
      streaming(async (req, res) => {
        const body = await req.bodyStream.buffer()
        res.json({ sha: sha256(body), length: body.length, app: req.app === app })
      }),
    )
    app.post('/buffered', (req: any, res: any) => res.json({ body: req.body, rawLength: req.rawBody.length, app: req.app === app }))
    app.use(errorHandler)

    const server = createServer(app)
    server.prependListener('request', (req) => bornWithApp.set(req, Object.getPrototypeOf(req) === app.request))
    running = await listen(server)

    // Extensions added once the server exists are seen by every request too.
    app.request.addedAfter = function addedAfter(this: any) {
      return `after createServer, ${this.get('x-who')}`
    }
    app.response.shout = function shout(this: any, text: string) {
      return this.type('text').send(text.toUpperCase())
    }
  })
  afterAll(() => running.close())

  it('builds requests and responses with the app’s prototypes before Express sees them', async () => {
    const reply = await get(running.port, '/prototypes?page=2', { accept: 'application/json' })
    expect(reply.status).toBe(200)
    expect(json(reply)).toEqual({
      bornWithApp: true,
      reqApp: true,
      resApp: true,
      reqIsMessage: true,
      resIsResponse: true,
      reqProto: true,
      resProto: true,
      path: '/prototypes',
      query: { page: '2' },
      accepts: 'application/json',
    })
  })

  it('gives req.params', async () => {
    expect(json(await get(running.port, '/users/ada/posts/42'))).toEqual({ user: 'ada', post: '42' })
  })

  it('gives res.locals set by middleware before the route', async () => {
    expect(json(await get(running.port, '/locals'))).toEqual({ seenBy: 'middleware' })
  })

  it('renders a view with res.render, app.locals and res.locals', async () => {
    const reply = await get(running.port, '/render/Ada')
    expect(reply.status).toBe(200)
    expect(reply.headers['content-type']).toMatch(/^text\/html/)
    expect(reply.text).toBe('Hello Ada, from stream-shim\n')
  })

  it('logs in with passport-local, reading the form stream-shim parsed', async () => {
    const reply = await send(running.port, 'POST', '/login', 'username=ada&password=secret', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(reply.status).toBe(200)
    expect(json(reply)).toEqual({ user: { name: 'ada' }, authenticated: true })
  })

  it('refuses a wrong password through passport with 401', async () => {
    const reply = await send(running.port, 'POST', '/login', 'username=ada&password=nope', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(reply.status).toBe(401)
  })

  it('logs in with req.login', async () => {
    expect(json(await get(running.port, '/login-as/grace'))).toEqual({ user: { name: 'grace' }, authenticated: true })
  })

  it('sees app.request and app.response methods added before and after createServer', async () => {
    const reply = await get(running.port, '/extensions', { 'x-who': 'ada' })
    expect(reply.status).toBe(200)
    expect(reply.text).toBe('BEFORE CREATESERVER, GET /EXTENSIONS; AFTER CREATESERVER, ADA')
  })

  it('serves a stream-shim streaming route', async () => {
    const body = bytes(300_000, 11)
    const reply = await send(running.port, 'PUT', '/upload', body, { 'content-type': 'application/octet-stream' }, { chunked: true })
    expect(json(reply)).toEqual({ sha: sha256(body), length: body.length, app: true })
  })

  it('serves a stream-shim buffered route', async () => {
    const reply = await send(running.port, 'POST', '/buffered', '{"a":[1,2]}', { 'content-type': 'application/json' })
    expect(json(reply)).toEqual({ body: { a: [1, 2] }, rawLength: 11, app: true })
  })

  it('keeps a connection alive across requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const ports = new Set<number>()
      for (const name of ['a', 'b', 'c']) {
        const reply = await new Promise<Reply>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: running.port, path: `/users/${name}/posts/1`, agent }, (res) => {
              ports.add(res.socket.localPort!)
              const chunks: Buffer[] = []
              res.on('data', (c) => chunks.push(c))
              res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), text: Buffer.concat(chunks).toString() }))
            })
            .on('error', reject)
        })
        expect(JSON.parse(reply.text)).toEqual({ user: name, post: '1' })
      }
      expect(ports.size).toBe(1)
    } finally {
      agent.destroy()
    }
  })
})

describe.each(frameworks)('%s: createServer(app) with mounted sub-apps', (_name, express) => {
  let running: Running
  let app: any
  let admin: any
  let late: any

  function who(sub: () => any) {
    return (req: any, res: any) =>
      res.json({
        reqApp: req.app === sub(),
        resApp: res.app === sub(),
        reqProto: Object.getPrototypeOf(req) === sub().request,
        baseUrl: req.baseUrl,
        own: req.own(),
        fromParent: req.fromParent(),
        render: typeof res.render,
      })
  }

  beforeAll(async () => {
    app = express()
    admin = express()
    admin.request.own = () => 'admin'
    admin.get('/who', who(() => admin))
    app.use('/admin', admin) // mounted before createServer
    app.use('/admin', (req: any, res: any) => {
      // After a request falls through the sub-app, Express gives it the app's prototypes again.
      res.json({ reqApp: req.app === app, reqProto: Object.getPrototypeOf(req) === app.request, own: typeof req.own })
    })

    running = await listen(createServer(app))

    app.request.fromParent = function fromParent(this: any) {
      return `parent method, app ${this.app === app ? 'parent' : 'sub'}`
    }
    late = express()
    late.request.own = () => 'late'
    late.get('/who', who(() => late))
    app.use('/late', late) // mounted after createServer
  })
  afterAll(() => running.close())

  it('gives a request inside a sub-app the sub-app’s prototypes, with the parent’s methods inherited', async () => {
    expect(json(await get(running.port, '/admin/who'))).toEqual({
      reqApp: true,
      resApp: true,
      reqProto: true,
      baseUrl: '/admin',
      own: 'admin',
      fromParent: 'parent method, app sub',
      render: 'function',
    })
  })

  it('gives the app’s prototypes back when a request leaves the sub-app', async () => {
    expect(json(await get(running.port, '/admin/elsewhere'))).toEqual({ reqApp: true, reqProto: true, own: 'undefined' })
  })

  it('serves a sub-app mounted after createServer the same way', async () => {
    expect(json(await get(running.port, '/late/who'))).toEqual({
      reqApp: true,
      resApp: true,
      reqProto: true,
      baseUrl: '/late',
      own: 'late',
      fromParent: 'parent method, app sub',
      render: 'function',
    })
  })

  it('serves a sub-app on its own through createServer', async () => {
    const alone = await listen(createServer(admin))
    try {
      const body = json(await get(alone.port, '/who'))
      expect(body).toMatchObject({ reqApp: true, reqProto: true, own: 'admin', baseUrl: '' })
    } finally {
      await alone.close()
    }
  })
})

describe.each(frameworks)('%s: createSecureServer(app, tls)', (_name, express) => {
  let server: https.Server
  let port: number
  let app: any

  beforeAll(async () => {
    app = express()
    app.use(streamShim())
    app.get('/who', (req: any, res: any) => res.json({ secure: req.secure, protocol: req.protocol, app: req.app === app, proto: Object.getPrototypeOf(req) === app.request }))
    app.post('/buffered', (req: any, res: any) => res.json(req.body))
    app.put(
      '/upload',
      streaming(async (req, res) => res.json({ sha: sha256(await req.bodyStream.buffer()) })),
    )
    server = createSecureServer(app, TLS)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  function tlsRequest(method: string, urlPath: string, body?: Buffer | string, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, method, path: urlPath, headers, ca: TLS.cert, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const all = Buffer.concat(chunks)
          resolve({ status: res.statusCode!, headers: res.headers, body: all, text: all.toString() })
        })
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  it('is an https.Server that a client verifying the certificate reaches', async () => {
    expect(server).toBeInstanceOf(https.Server)
    expect(json(await tlsRequest('GET', '/who'))).toEqual({ secure: true, protocol: 'https', app: true, proto: true })
  })

  it('serves a stream-shim buffered route over TLS', async () => {
    expect(json(await tlsRequest('POST', '/buffered', '{"over":"tls"}', { 'content-type': 'application/json' }))).toEqual({ over: 'tls' })
  })

  it('serves a stream-shim streaming route over TLS', async () => {
    const body = bytes(200_000, 12)
    expect(json(await tlsRequest('PUT', '/upload', body, { 'content-type': 'application/octet-stream' }))).toEqual({ sha: sha256(body) })
  })
})

describe('createServer() options', () => {
  const express = require('express')

  it('passes node:http options through (maxHeaderSize: 431 for a larger header)', async () => {
    const app = express()
    app.get('/', (_req: any, res: any) => res.send('ok'))
    const running = await listen(createServer(app, { maxHeaderSize: 1024 }))
    try {
      expect((await get(running.port, '/')).status).toBe(200)
      expect((await get(running.port, '/', { 'x-big': 'x'.repeat(2048) })).status).toBe(431)
    } finally {
      await running.close()
    }
  })

  it('works with installContinue(): 100 Continue when the streaming route reads', async () => {
    const app = express()
    app.use(streamShim())
    app.put('/upload', streaming(async (req, res) => res.json({ sha: sha256(await req.bodyStream.buffer()) })))
    const running = await listen(installContinue(createServer(app)))
    try {
      const body = bytes(50_000, 13)
      const result = await new Promise<{ continued: boolean; text: string }>((resolve, reject) => {
        let continued = false
        const req = http.request({ host: '127.0.0.1', port: running.port, method: 'PUT', path: '/upload', agent: false, headers: { expect: '100-continue', 'content-length': body.length } })
        req.on('continue', () => {
          continued = true
          req.end(body)
        })
        req.on('response', (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () => resolve({ continued, text: Buffer.concat(chunks).toString() }))
        })
        req.on('error', reject)
        req.flushHeaders()
      })
      expect(result).toEqual({ continued: true, text: JSON.stringify({ sha: sha256(body) }) })
    } finally {
      await running.close()
    }
  })

  it('still serves an app whose app.request is replaced after createServer, through Express’s own swap', async () => {
    const app = express()
    app.get('/', (req: any, res: any) => res.json({ replaced: req.replaced(), app: req.app === app }))
    const running = await listen(createServer(app))
    try {
      app.request = Object.create(express.request, {
        app: { configurable: true, enumerable: true, writable: true, value: app },
        replaced: { value: () => 'yes' },
      })
      expect(json(await get(running.port, '/'))).toEqual({ replaced: 'yes', app: true })
    } finally {
      await running.close()
    }
  })

  it.each([
    ['a plain request listener', (_req: unknown, res: http.ServerResponse) => res.end()],
    ['an object', { request: {}, response: {} }],
    ['undefined', undefined],
  ])('throws a TypeError naming app for %s', (_what, notAnApp) => {
    expect(() => createServer(notAnApp as any)).toThrow(TypeError)
    expect(() => createServer(notAnApp as any)).toThrow(/^createServer: app must be an Express application/)
    expect(() => createSecureServer(notAnApp as any, TLS)).toThrow(/^createSecureServer: app must be/)
  })

  it.each(['IncomingMessage', 'ServerResponse'])('throws a TypeError naming the %s option', (option) => {
    const app = express()
    expect(() => createServer(app, { [option]: http[option as 'IncomingMessage'] } as any)).toThrow(TypeError)
    expect(() => createServer(app, { [option]: http[option as 'IncomingMessage'] } as any)).toThrow(`option ${option}`)
  })

  it('throws a TypeError for options that are not an object', () => {
    expect(() => createServer(express(), 'fast' as any)).toThrow(new TypeError('createServer: options must be an object, got string'))
  })
})
