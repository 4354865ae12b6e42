// Proxies in front of one upstream: stream-shim's proxy() on Express and
// Koa, a bare node:http pipe proxy (the floor), and http-proxy-middleware.
import http from 'node:http'
import express from 'express'
import Koa from 'koa'
import { createProxyMiddleware } from 'http-proxy-middleware'
import { expressShim, koaShim } from '../lib/shim.mjs'

const CHUNK = Buffer.alloc(64 * 1024, 'stream-shim proxy bench ')

/** The upstream: PUT counts the body and answers the count; GET /down?bytes=N streams N bytes. */
export function upstream() {
  return http.createServer((req, res) => {
    if (req.method === 'GET') {
      const total = Number(new URL(req.url, 'http://x').searchParams.get('bytes'))
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total })
      let sent = 0
      const write = () => {
        while (sent < total) {
          const n = Math.min(CHUNK.length, total - sent)
          sent += n
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', write)
        }
        res.end()
      }
      write()
      return
    }
    let n = 0
    req.on('data', (chunk) => (n += chunk.length))
    req.on('end', () => res.end(String(n)))
  })
}

/** node:http both ways with pipe(): what a proxy costs with nothing but Node. */
export function barePipe({ upstream: port }) {
  const agent = new http.Agent({ keepAlive: true })
  return http.createServer((req, res) => {
    const out = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
      res.writeHead(up.statusCode, up.headers)
      up.pipe(res)
    })
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
}

/** Express + streamShim() + proxy(). */
export function expressProxy({ upstream: port }) {
  const app = express()
  app.use(expressShim.streamShim())
  app.use(expressShim.proxy(`http://127.0.0.1:${port}`, { limit: Infinity }))
  return http.createServer(app)
}

/** Koa + streamShim() + proxy(). */
export function koaProxy({ upstream: port }) {
  const app = new Koa()
  app.use(koaShim.streamShim())
  app.use(koaShim.proxy(`http://127.0.0.1:${port}`, { limit: Infinity }))
  return http.createServer(app.callback())
}

/** Express + http-proxy-middleware (node-http-proxy underneath), for reference. */
export function httpProxyMiddleware({ upstream: port }) {
  const app = express()
  app.use(createProxyMiddleware({ target: `http://127.0.0.1:${port}` }))
  return http.createServer(app)
}
