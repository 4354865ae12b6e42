// Type-level tests of stream-shim/nest: decorators in the places Nest takes
// them, and the types a handler reads.
import { Body, Controller, Param, Post, Put, Req } from '@nestjs/common'
import type { INestApplication } from '@nestjs/common'
import { BodyStream, Buffered, Streaming, installStreamShim, toHttpException, type StreamingRequest } from '../../adapters/nest/index.js'

@Controller('files')
export class FilesController {
  @Put(':name')
  @Streaming({ limit: '5gb', types: 'application/octet-stream', timeout: 10_000 })
  async upload(@Param('name') name: string, @BodyStream() body: BodyStream): Promise<{ name: string; bytes: number }> {
    let bytes = 0
    for await (const chunk of body) {
      const buf: Buffer = chunk
      bytes += buf.length
    }
    return { name, bytes }
  }

  @Post('raw')
  @Streaming()
  async raw(@Req() req: StreamingRequest): Promise<string> {
    return req.bodyStream.text()
  }

  @Post('import')
  @Buffered({ limit: '50mb', json: { strict: false } })
  import(@Body() rows: unknown[], @Req() req: StreamingRequest): number {
    return rows.length + (req.rawBody?.length ?? 0)
  }
}

// @ts-expect-error: limit takes a byte count or a size string
Streaming({ limit: true })
// @ts-expect-error: buffered() options are required
Buffered()

declare const app: INestApplication
installStreamShim(app)
installStreamShim(app, { json: { limit: '1mb' }, urlencoded: { extended: false }, streaming: { timeout: 60_000 } })
const mapped: unknown = toHttpException(new Error('x'))
void mapped
