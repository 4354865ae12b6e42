/**
 * `inflate: 'pass'`: a streaming route gets the body's bytes as they came,
 * whatever their Content-Encoding, with the limit counting them as sent.
 */
import { gzipSync } from 'node:zlib'
import request from 'supertest'
import Koa from 'koa'
import Router from '@koa/router'
import { streamShim, streaming } from '../../adapters/express/index.js'
import * as koa from '../../adapters/koa/index.js'
import { frameworks, sha256 } from '../helpers/http.js'

const plain = Buffer.from('{"hello":"world"}'.repeat(200))
const gzipped = gzipSync(plain)

describe.each(frameworks)('%s: inflate pass', (_name, express) => {
  function app() {
    const a = express()
    a.use(streamShim())
    a.put('/store', streaming({ inflate: 'pass', limit: 1000 }, async (req, res) => {
      const bytes = await req.bodyStream.buffer()
      res.json({ sha: sha256(bytes), length: bytes.length, encoding: req.headers['content-encoding'] ?? null })
    }))
    return a
  }

  it('hands gzip bytes over undecoded', async () => {
    const reply = await request(app()).put('/store').set('content-encoding', 'gzip').set('content-type', 'application/octet-stream').send(gzipped)
    expect(reply.body).toEqual({ sha: sha256(gzipped), length: gzipped.length, encoding: 'gzip' })
  })

  it('takes an encoding stream-shim cannot decode (no 415)', async () => {
    const bytes = Buffer.from('opaque zstd frame')
    const reply = await request(app()).put('/store').set('content-encoding', 'zstd').set('content-type', 'application/octet-stream').send(bytes)
    expect([reply.status, reply.body.sha]).toEqual([200, sha256(bytes)])
  })

  it('counts the limit in bytes as sent: a declared length over it is a 413 before the body', async () => {
    const big = Buffer.alloc(1001, 1)
    const reply = await request(app()).put('/store').set('content-encoding', 'gzip').set('content-type', 'application/octet-stream').send(big)
    expect(reply.status).toBe(413)
  })

  it('is refused as an option value other than true, false or pass', () => {
    expect(() => streaming({ inflate: 'yes' as never }, async () => {})).toThrow(TypeError)
  })
})

describe('Koa: inflate pass', () => {
  it('hands gzip bytes over undecoded', async () => {
    const app = new Koa()
    const router = new Router()
    router.put('/store', koa.streaming({ inflate: 'pass' }, async (ctx) => {
      const bytes = await ctx.request.bodyStream!.buffer()
      ctx.body = { sha: sha256(bytes), length: bytes.length }
    }))
    app.use(koa.streamShim())
    app.use(router.routes())
    const reply = await request(app.callback()).put('/store').set('content-encoding', 'gzip').set('content-type', 'application/octet-stream').send(gzipped)
    expect(reply.body).toEqual({ sha: sha256(gzipped), length: gzipped.length })
  })
})
