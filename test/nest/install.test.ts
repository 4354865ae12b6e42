/**
 * stream-shim/nest's contracts that need no traffic: installStreamShim()'s
 * preconditions, the decorators' option checks, and the exceptions body
 * errors become. Nest 11 in-process (the wire behaviour is in nest.test.ts).
 */
import 'reflect-metadata'
import { BadRequestException, HttpException, Module, PayloadTooLargeException, RequestTimeoutException, UnsupportedMediaTypeException } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import createHttpError from 'http-errors'
import { Buffered, Streaming, installStreamShim, toHttpException } from '../../adapters/nest/index'
import { tooLarge, timedOut, mediaTypeUnsupported, aborted } from '../../lib/errors'

class EmptyModule {}
Module({})(EmptyModule)

describe('installStreamShim(app)', () => {
  it('throws a TypeError once the app is initialized, when its routes are already registered', async () => {
    const app = await NestFactory.create(EmptyModule, { logger: false })
    await app.init()
    expect(() => installStreamShim(app)).toThrow(/before app\.init\(\)/)
    await app.close()
  })

  it('turns Nest\'s own body parsers off', async () => {
    const app = await NestFactory.create(EmptyModule, { logger: false })
    installStreamShim(app)
    await app.init()
    const router = app.getHttpAdapter().getInstance().router
    const names = router.stack.map((layer: { handle: { name: string } }) => layer.handle.name)
    expect(names).toContain('streamShimNest')
    expect(names).not.toContain('jsonParser')
    expect(names).not.toContain('urlencodedParser')
    await app.close()
  })
})

describe('@Streaming() and @Buffered()', () => {
  it('throw a TypeError naming a bad option when the class is defined', () => {
    expect(() => Streaming({ limit: 'lots' as never })).toThrow(TypeError)
    expect(() => Streaming({ timeout: -1 })).toThrow(TypeError)
    expect(() => Buffered({ json: { limit: {} as never } })).toThrow(TypeError)
  })
})

describe('toHttpException(err)', () => {
  it.each([
    ['entity.too.large', tooLarge(100, 200), PayloadTooLargeException, 413],
    ['request.timeout', timedOut(300, 3), RequestTimeoutException, 408],
    ['request.aborted', aborted(10, 3), BadRequestException, 400],
    ['media.type.unsupported', mediaTypeUnsupported('text/csv'), UnsupportedMediaTypeException, 415],
  ])('makes %s the Nest exception for its status, the original as cause', (type, err, Exception, status) => {
    const exception = toHttpException(err) as HttpException
    expect(exception).toBeInstanceOf(Exception)
    expect(exception.getStatus()).toBe(status)
    expect((exception.cause as { type: string }).type).toBe(type)
    expect(exception.getResponse()).toEqual({ statusCode: status, message: err.message, error: expect.any(String) })
  })

  it('leaves other errors alone', () => {
    const plain = new Error('boom')
    expect(toHttpException(plain)).toBe(plain)
    const httpError = createHttpError(404)
    expect(toHttpException(httpError)).toBe(httpError)
  })
})
