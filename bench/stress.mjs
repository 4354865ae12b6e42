// Stress: 10,000 uploads aborted at random points (streaming and buffered
// routes) and 1,000 concurrent streaming uploads, on Express 5 and Koa 3, in
// one process over loopback. Reports heap before/after, handler outcomes and
// SHA-256 mismatches; exits non-zero on any integrity failure.
//
// Runs the TypeScript sources directly (not part of `npm test`):
//   node --expose-gc --import tsx bench/stress.mjs [--aborts 10000] [--concurrent 1000]
import http from 'node:http'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const require = createRequire(import.meta.url)
const root = new URL('../', import.meta.url)
const expressShim = await import(new URL('adapters/express/index.ts', root).href)
const koaShim = await import(new URL('adapters/koa/index.ts', root).href)
const express = require('express')
const Koa = require('koa')
const Router = require('@koa/router')

const { values } = parseArgs({
  options: {
    aborts: { type: 'string', default: '10000' },
    concurrent: { type: 'string', default: '1000' },
    size: { type: 'string', default: String(256 * 1024) },
  },
})
const ABORTS = Number(values.aborts)
const CONCURRENT = Number(values.concurrent)
const SIZE = Number(values.size)

const sha = (buf) => createHash('sha256').update(buf).digest('hex')
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`

function counters() {
  return { bufferedCalled: 0, streamEnded: 0, streamErrored: 0, streamErrorTypes: {} }
}

async function hashStream(stream) {
  const hash = createHash('sha256')
  let length = 0
  for await (const chunk of stream) {
    hash.update(chunk)
    length += chunk.length
  }
  return { sha: hash.digest('hex'), length }
}

function onStreamError(count, err) {
  count.streamErrored++
  count.streamErrorTypes[err.type ?? err.code ?? 'other'] = (count.streamErrorTypes[err.type ?? err.code ?? 'other'] ?? 0) + 1
}

function expressApp(count) {
  const app = express()
  app.use(expressShim.streamShim({ raw: { type: 'application/octet-stream', limit: '8mb' } }))
  app.put('/stream', expressShim.streaming({ limit: '8mb' }, async (req, res, next) => {
    try {
      const result = await hashStream(req.bodyStream)
      if (req.headers['x-abort'] === '1') count.streamEnded++
      res.json(result)
    } catch (err) {
      onStreamError(count, err)
      next(err)
    }
  }))
  app.put('/buffered', (req, res) => {
    count.bufferedCalled++
    res.json({ sha: sha(req.rawBody ?? Buffer.alloc(0)) })
  })
  app.use((err, _req, res, _next) => {
    if (res.headersSent) res.destroy()
    else res.status(err.status ?? 500).end()
  })
  return app
}

function koaApp(count) {
  const app = new Koa()
  app.silent = true
  app.use(koaShim.streamShim({ enableTypes: ['text'], textLimit: '8mb', extendTypes: { text: ['application/octet-stream'] } }))
  const router = new Router()
  router.put('/stream', koaShim.streaming({ limit: '8mb' }, async (ctx) => {
    try {
      ctx.body = await hashStream(ctx.request.bodyStream)
      if (ctx.get('x-abort') === '1') count.streamEnded++
    } catch (err) {
      onStreamError(count, err)
      throw err
    }
  }))
  router.put('/buffered', (ctx) => {
    count.bufferedCalled++
    ctx.body = { sha: sha(ctx.request.rawBodyBuffer ?? Buffer.alloc(0)) }
  })
  app.use(router.routes())
  return app.callback()
}

async function start(listener, shim) {
  const server = shim.installContinue(http.createServer(listener))
  server.maxConnections = 5000
  server.listen(0, '127.0.0.1', 2048)
  await once(server, 'listening')
  return server
}

/** Open a socket, send a head and part of a body, then go away. */
function abortedUpload(port, i, body) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunked = i % 3 === 0
    const path = i % 2 === 0 ? '/stream' : '/buffered'
    const cut = Math.floor(Math.random() * body.length)
    socket.on('error', () => {})
    socket.on('close', resolve)
    socket.on('connect', () => {
      const head = `PUT ${path} HTTP/1.1\r\nHost: x\r\nX-Abort: 1\r\nContent-Type: application/octet-stream\r\n` +
        (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' + body.length.toString(16) + '\r\n' : `Content-Length: ${body.length}\r\n\r\n`)
      socket.write(head)
      socket.write(body.subarray(0, cut), () => setImmediate(() => socket.destroy()))
    })
  })
}

function fullUpload(port, agent, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent, method: 'PUT', path: '/stream', headers: { 'content-length': body.length, 'content-type': 'application/octet-stream' } }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, ...JSON.parse(Buffer.concat(chunks).toString()) })
        } catch {
          resolve({ status: res.statusCode })
        }
      })
    })
    req.on('error', reject)
    // Written in pieces, so many uploads are in flight at once.
    let offset = 0
    const step = () => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + 16 * 1024)
        offset += piece.length
        if (!req.write(piece)) return void req.once('drain', step)
      }
      req.end()
    }
    step()
  })
}

async function pool(total, width, task) {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, total) }, async () => {
    while (next < total) await task(next++)
  }))
}

function heap() {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage()
}

const connections = (server) => new Promise((resolve) => server.getConnections((_e, n) => resolve(n)))

async function settle(server) {
  for (let i = 0; i < 500 && (await connections(server)) > 0; i++) await new Promise((r) => setTimeout(r, 10))
  await new Promise((r) => setTimeout(r, 50))
}

let failed = false
for (const [name, build, shim] of [['express 5', expressApp, expressShim], ['koa 3', koaApp, koaShim]]) {
  const count = counters()
  const server = await start(build(count), shim)
  const { port } = server.address()
  const abortBody = randomBytes(64 * 1024)
  await fullUpload(port, undefined, randomBytes(1024)) // warm-up
  await settle(server)
  const before = heap()
  const resourcesBefore = process.getActiveResourcesInfo().length

  let t = performance.now()
  await pool(ABORTS, 100, (i) => abortedUpload(port, i, abortBody))
  await settle(server)
  const abortMs = performance.now() - t
  const afterAborts = heap()

  t = performance.now()
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENT })
  const bodies = Array.from({ length: 16 }, () => randomBytes(SIZE))
  const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => fullUpload(port, agent, bodies[i % bodies.length]).then(
    (r) => ({ ok: r.status === 200 && r.sha === sha(bodies[i % bodies.length]) && r.length === SIZE, r }),
    (err) => ({ ok: false, r: { error: err.message } }),
  )))
  const concurrentMs = performance.now() - t
  agent.destroy()
  await settle(server)
  const mismatches = results.filter((x) => !x.ok).length
  const after = heap()
  const resourcesAfter = process.getActiveResourcesInfo().length
  server.close()

  const report = {
    framework: name,
    abortedUploads: ABORTS,
    abortPhase: `${(abortMs / 1000).toFixed(1)} s`,
    bufferedHandlerCalledOnAbort: count.bufferedCalled,
    streamingCleanEndOnAbort: count.streamEnded,
    streamingErrors: count.streamErrorTypes,
    concurrentUploads: CONCURRENT,
    concurrentBytes: mb(CONCURRENT * SIZE),
    concurrentPhase: `${(concurrentMs / 1000).toFixed(1)} s`,
    mismatches,
    heapBefore: mb(before.heapUsed),
    heapAfterAborts: mb(afterAborts.heapUsed),
    heapAfter: mb(after.heapUsed),
    rssBefore: mb(before.rss),
    rssAfter: mb(after.rss),
    activeResourcesBefore: resourcesBefore,
    activeResourcesAfter: resourcesAfter,
  }
  console.log(JSON.stringify(report, null, 2))
  if (mismatches > 0) console.log('first mismatch:', JSON.stringify(results.find((x) => !x.ok)))
  if (mismatches > 0 || count.bufferedCalled > 0 || count.streamEnded > 0) failed = true
}
process.exitCode = failed ? 1 : 0
