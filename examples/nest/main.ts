// A Nest app with stream-shim: a streaming upload route, a buffered JSON
// route and a webhook checked over req.rawBody.
// Run from the repository root: npm run demo:nest (builds, then runs this file with tsx).
import 'reflect-metadata'
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Body, Controller, Headers, HttpCode, Module, Param, Post, Put, Req, UnauthorizedException } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { Request } from 'express'
import { BodyStream, Buffered, Streaming, installStreamShim } from 'stream-shim/nest'

const SECRET = process.env.WEBHOOK_SECRET ?? 'whsec_demo'
let uploads = ''

@Controller()
class DemoController {
  /** Streams the body to disk as it arrives (5 GB at most), hashing it on the way. */
  @Put('files/:name')
  @Streaming({ limit: '5gb' })
  async upload(@Param('name') name: string, @BodyStream() body: BodyStream) {
    const dest = path.join(uploads, path.basename(name))
    const hash = createHash('sha256')
    const tap = new PassThrough()
    tap.on('data', (chunk: Buffer) => hash.update(chunk))
    await pipeline(body, tap, createWriteStream(dest))
    return { saved: dest, bytes: body.bytesReceived, sha256: hash.digest('hex') }
  }

  /** A buffered route, as without the shim: `@Body()` is parsed, up to 1 MB here. */
  @Post('notes')
  @Buffered({ limit: '1mb' })
  note(@Body() note: { text?: string }) {
    return { received: note }
  }

  /** A webhook: the signature is computed over the exact bytes received. */
  @Post('webhook')
  @HttpCode(200)
  webhook(@Req() req: Request, @Headers('x-signature') signature = '') {
    const expected = createHmac('sha256', SECRET).update(req.rawBody ?? '').digest()
    const given = Buffer.from(signature, 'hex')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedException('bad signature')
    return { verified: true }
  }
}

@Module({ controllers: [DemoController] })
class AppModule {}

async function main(): Promise<void> {
  uploads = await mkdtemp(path.join(tmpdir(), 'stream-shim-nest-'))
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
  installStreamShim(app) // replaces Nest's body parsers; before listen()
  app.enableShutdownHooks()
  await app.listen(3002, '127.0.0.1')
  const base = 'http://127.0.0.1:3002'
  const signature = createHmac('sha256', SECRET).update('{"event":"paid"}').digest('hex')
  console.log(`stream-shim Nest example on ${base}; uploads go to ${uploads}`)
  console.log('Try:')
  console.log(`  curl -T package.json ${base}/files/package.json                  # streaming upload`)
  console.log(`  curl -H 'content-type: application/json' -d '{"text":"hi"}' ${base}/notes`)
  console.log(`  curl -H 'content-type: application/json' -H 'x-signature: ${signature}' -d '{"event":"paid"}' ${base}/webhook`)
  console.log(`  curl -H 'content-length: 6000000000' -X PUT ${base}/files/huge.bin     # 413 before the body`)
  console.log('Stop with Ctrl-C.')
  const stop = async (): Promise<void> => {
    await app.close()
    await rm(uploads, { recursive: true, force: true })
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
