/**
 * CONNECT through the app: installConnect() runs it through the app's
 * middleware and routes, tunnel() opens the tunnel. Driven by curl
 * (`-p -x`), to a TCP echo server and to an HTTPS server, on Express 4 and 5
 * and Koa 2 and 3.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import type Koa from 'koa'
import * as expressShim from '../../adapters/express/index'
import * as koaShim from '../../adapters/koa/index'
import { listen, type Running } from '../helpers/http.js'
import { RawConnection } from '../protocol/raw-client.js'

const tls = path.join(__dirname, '..', 'fixtures', 'tls')
const AUTH = `Basic ${Buffer.from('user:secret').toString('base64')}`

interface CurlResult {
  code: number
  stdout: string
  /** The status of the proxy's answer to CONNECT (`%{http_connect}`). */
  connect: number
}

/** Run curl with `args`; `input` goes to its stdin. */
function curl(args: string[], input?: string): Promise<CurlResult> {
  return new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', '5', '-w', '\n%{http_connect}', ...args], (err, stdout) => {
      const lines = stdout.split('\n')
      const connect = Number(lines.pop())
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout: lines.join('\n'), connect })
    })
    child.stdin!.end(input ?? '')
  })
}

interface Options {
  /** Ask for Proxy-Authorization (407 without it). */
  auth: boolean
  /** Ports refused with 403. */
  blocked: number[]
  /** No CONNECT route at all. */
  noRoute?: boolean
}

type App = (options: Options) => { handler: http.RequestListener; app: unknown; install: (server: http.Server) => void }

function expressApp(express: any, route: string): App {
  return (options) => {
    const app = express()
    app.use(expressShim.streamShim())
    app.get('/', (_req: unknown, res: { send(s: string): void }) => res.send('plain'))
    if (!options.noRoute) {
      app.connect(route, (req: http.IncomingMessage, res: any, next: () => void) => {
        if (options.auth && req.headers['proxy-authorization'] !== AUTH) {
          res.status(407).set('proxy-authenticate', 'Basic realm="test"').end()
          return
        }
        if (options.blocked.includes(expressShim.connectTarget(req)!.port)) {
          res.status(403).end()
          return
        }
        next()
      }, expressShim.tunnel())
    }
    return { handler: app, app, install: (server) => expressShim.installConnect(server, app) }
  }
}

function koaApp(KoaClass: typeof Koa): App {
  return (options) => {
    const app = new KoaClass()
    app.silent = true
    app.use(koaShim.streamShim())
    const router = new Router()
    router.get('/', (ctx) => (ctx.body = 'plain'))
    app.use(router.routes())
    if (!options.noRoute) {
      app.use(async (ctx, next) => {
        if (ctx.method !== 'CONNECT') return next()
        if (options.auth && ctx.get('proxy-authorization') !== AUTH) {
          ctx.status = 407
          ctx.set('proxy-authenticate', 'Basic realm="test"')
          return
        }
        if (options.blocked.includes(koaShim.connectTarget(ctx.req)!.port)) {
          ctx.status = 403
          return
        }
        return koaShim.tunnel()(ctx, next)
      })
    }
    return { handler: app.callback(), app, install: (server) => koaShim.installConnect(server, app) }
  }
}

const APPS: [string, App][] = [
  ['Express 4', expressApp(require('express4'), '*')],
  ['Express 5', expressApp(require('express'), '/')],
  ['Koa 2', koaApp(require('koa2'))],
  ['Koa 3', koaApp(require('koa'))],
]

let echo: net.Server
let echoPort: number
let secure: https.Server
let securePort: number
const openSockets = new Set<net.Socket>()

beforeAll(async () => {
  echo = net.createServer((socket) => {
    openSockets.add(socket)
    socket.on('close', () => openSockets.delete(socket))
    socket.on('error', () => {})
    // Echo; a line ends the exchange (curl's telnet client waits for the server to close).
    socket.on('data', (chunk: Buffer) => {
      socket.write(chunk)
      if (chunk.includes(0x0a)) socket.end()
    })
  })
  echo.listen(0, '127.0.0.1')
  await once(echo, 'listening')
  echoPort = (echo.address() as AddressInfo).port
  secure = https.createServer({ key: readFileSync(path.join(tls, 'key.pem')), cert: readFileSync(path.join(tls, 'cert.pem')) }, (req, res) => {
    res.end(`secret ${req.url}`)
  })
  secure.listen(0, '127.0.0.1')
  await once(secure, 'listening')
  securePort = (secure.address() as AddressInfo).port
})
afterAll(async () => {
  for (const socket of openSockets) socket.destroy()
  await new Promise((resolve) => echo.close(resolve))
  secure.closeAllConnections()
  await new Promise((resolve) => secure.close(resolve))
})

describe.each(APPS)('CONNECT on %s', (_name, build) => {
  async function start(options: Options): Promise<Running> {
    const { handler, install } = build(options)
    const server = http.createServer(handler)
    install(server)
    return listen(server)
  }

  describe('without a Proxy-Authorization check', () => {
    let proxy: Running
    beforeAll(async () => {
      proxy = await start({ auth: false, blocked: [] })
    })
    afterAll(() => proxy.close())

    it('tunnels curl to a TCP echo server', async () => {
      const result = await curl(['-p', '-x', proxy.url, `telnet://127.0.0.1:${echoPort}`], 'hello through the tunnel\n')
      expect(result.connect).toBe(200)
      expect(result.stdout).toContain('hello through the tunnel')
    })

    it('tunnels curl to an HTTPS server (self-signed, -k)', async () => {
      const result = await curl(['-k', '-p', '-x', proxy.url, `https://127.0.0.1:${securePort}/inside`])
      expect([result.code, result.connect, result.stdout]).toEqual([0, 200, 'secret /inside'])
    })

    it('still serves ordinary requests', async () => {
      const result = await curl([`${proxy.url}/`])
      expect(result.stdout).toBe('plain')
    })

    it('502s a target that cannot be reached, and closes', async () => {
      const conn = await RawConnection.open(proxy.port)
      await conn.write('CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n')
      const reply = await conn.response()
      expect(reply.status).toBe(502)
      expect(await conn.isClosed()).toBe(true)
    })

    it('carries 8 MiB there and back and closes the client when the target ends', async () => {
      const socket = net.connect(proxy.port, '127.0.0.1')
      socket.on('error', () => {})
      await once(socket, 'connect')
      socket.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: x\r\n\r\n`)
      let received = Buffer.alloc(0)
      let got = 0
      let answered = false
      const closed = once(socket, 'close')
      socket.on('data', (chunk: Buffer) => {
        if (answered) {
          got += chunk.length
          return
        }
        received = Buffer.concat([received, chunk])
        const end = received.indexOf('\r\n\r\n')
        if (end === -1) return
        answered = true
        expect(received.subarray(0, end).toString()).toBe('HTTP/1.1 200 Connection Established')
        got += received.length - end - 4
      })
      const payload = Buffer.alloc(8 * 1024 * 1024, 'e') // no newline: the echo keeps going
      socket.write(payload)
      const deadline = Date.now() + 5000
      while (got < payload.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(got).toBe(payload.length)
      for (const target of openSockets) target.destroy() // the target goes away
      await closed
    })
  })

  describe('with a Proxy-Authorization check and an allow-list in middleware', () => {
    let proxy: Running
    beforeAll(async () => {
      proxy = await start({ auth: true, blocked: [securePort] })
    })
    afterAll(() => proxy.close())

    it('407s without credentials', async () => {
      const result = await curl(['-p', '-x', proxy.url, `telnet://127.0.0.1:${echoPort}`], 'x\n')
      expect(result.connect).toBe(407)
      expect(result.code).not.toBe(0)
    })

    it('tunnels with credentials', async () => {
      const result = await curl(['-p', '-x', proxy.url, '-U', 'user:secret', `telnet://127.0.0.1:${echoPort}`], 'authorized\n')
      expect(result.connect).toBe(200)
      expect(result.stdout).toContain('authorized')
    })

    it('403s a target the allow-list refuses, even with credentials', async () => {
      const result = await curl(['-k', '-p', '-x', proxy.url, '-U', 'user:secret', `https://127.0.0.1:${securePort}/`])
      expect(result.connect).toBe(403)
    })
  })

  it('holds the target back while the client does not read (backpressure through the tunnel)', async () => {
    const FLOOD = 256 * 1024 * 1024
    let written = 0
    const flood = net.createServer((socket) => {
      socket.on('error', () => {})
      const chunk = Buffer.alloc(64 * 1024, 'f')
      const write = (): void => {
        while (written < FLOOD && !socket.destroyed) {
          written += chunk.length
          if (!socket.write(chunk)) return void socket.once('drain', write)
        }
      }
      write()
    })
    flood.listen(0, '127.0.0.1')
    await once(flood, 'listening')
    const proxy = await start({ auth: false, blocked: [] })
    const client = net.connect(proxy.port, '127.0.0.1')
    client.on('error', () => {})
    try {
      await once(client, 'connect')
      client.write(`CONNECT 127.0.0.1:${(flood.address() as AddressInfo).port} HTTP/1.1\r\nHost: x\r\n\r\n`)
      const [head] = (await once(client, 'data')) as [Buffer]
      expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n/)
      client.pause() // and never resumed
      let last = -1
      let still = 0
      while (still < 3 && written < FLOOD) {
        await new Promise((r) => setTimeout(r, 100))
        still = written === last ? still + 1 : 0
        last = written
      }
      expect(written).toBeLessThan(64 * 1024 * 1024) // socket buffers on the way, not the stream
    } finally {
      client.destroy()
      await proxy.close()
      await new Promise((resolve) => flood.close(resolve))
    }
  })

  it('405s a CONNECT no route takes, and closes the connection', async () => {
    const proxy = await start({ auth: false, blocked: [], noRoute: true })
    try {
      const conn = await RawConnection.open(proxy.port)
      await conn.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: x\r\n\r\n`)
      expect((await conn.response()).status).toBe(405)
      expect(await conn.isClosed()).toBe(true)
    } finally {
      await proxy.close()
    }
  })
})
