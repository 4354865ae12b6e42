// Type-level tests of proxy(), installConnect(), tunnel() and connectTarget()
// on both adapters: `tsc -p test/types` must pass, and every line marked
// with ts-expect-error must really be an error.
import http from 'node:http'
import express from 'express'
import Koa from 'koa'
import Router from '@koa/router'
import { Agent } from 'undici'
import * as ex from '../../adapters/express/index.js'
import * as ko from '../../adapters/koa/index.js'
import type { ConnectTarget, ProxyOptions } from '../../adapters/express/index.js'

const app = express()
app.use(ex.streamShim())
app.all('/api/*path', ex.proxy('http://127.0.0.1:8080', { limit: '5gb', timeout: 30_000, xForwarded: false, via: 'edge' }))
app.all('/v2/*path', ex.proxy(new URL('http://127.0.0.1:8080/base'), { rewritePath: (path, req) => path.replace(/^\/v2/, req.baseUrl) }))
app.post('/to/:where', ex.proxy(async (req) => `http://127.0.0.1:8080/${String(req.params.where)}`, { dispatcher: new Agent() }))
app.post('/legacy', ex.buffered({ limit: '1mb' }, ex.proxy('http://127.0.0.1:8080')))
// @ts-expect-error: via is a string or false
ex.proxy('http://x', { via: true })
// @ts-expect-error: timeout is a number or false
ex.proxy('http://x', { timeout: '1s' })

app.connect('/', (req, res, next) => {
  const target: ConnectTarget | undefined = ex.connectTarget(req)
  if (target?.port !== 443) return res.status(403).end()
  next()
}, ex.tunnel())
app.connect('/', ex.tunnel('127.0.0.1:8443'), ex.tunnel({ host: '::1', port: 443 }), ex.tunnel((req, { port }) => `127.0.0.1:${port + Number(req.headers['x-shift'] ?? 0)}`))
const server: http.Server = ex.installConnect(ex.installContinue(http.createServer(app)), app)
void server

const options: ProxyOptions = { clientTimeout: false, preserveHost: true }
void options

const koa = new Koa()
const router = new Router()
router.all('/api/{*rest}', ko.proxy('http://127.0.0.1:8080', { limit: Infinity }))
router.all('/files/{*rest}', ko.proxy((ctx) => new URL(ctx.path, 'http://127.0.0.1:8080')))
router.post('/legacy/{*rest}', ko.buffered({ jsonLimit: '1mb' }, ko.proxy('http://127.0.0.1:8080')))
koa.use(ko.streamShim())
koa.use(router.routes())
koa.use(async (ctx, next) => {
  if (ctx.method !== 'CONNECT') return next()
  if (ko.connectTarget(ctx.req)?.host !== 'example.com') {
    ctx.status = 403
    return
  }
  return ko.tunnel()(ctx, next)
})
const koaServer: http.Server = ko.installConnect(http.createServer(koa.callback()), koa)
void koaServer
