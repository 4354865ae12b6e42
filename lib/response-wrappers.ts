/**
 * The read-once rule for streaming responses (Django's): a streaming body is
 * consumed once, by the client. Middleware that wants to observe or change it
 * registers a wrapper that takes the body and returns another; wrappers are
 * kept per response and compose in registration order. Asking for the whole
 * content of a streaming response throws `response.streaming`.
 */
import { responseStreaming } from './errors.js'
import type { BodyWrapper } from './send-stream.js'

const kWrappers: unique symbol = Symbol.for('stream-shim.response-wrappers') as never
const kStreaming: unique symbol = Symbol.for('stream-shim.response-streaming') as never

type Holder = { [kWrappers]?: BodyWrapper[]; [kStreaming]?: boolean }

/** Register `wrap` for the response held by `target` (a `res` or a Koa `ctx`). */
export function addWrapper(target: object, wrap: BodyWrapper): void {
  const holder = target as Holder
  const list = holder[kWrappers]
  if (list === undefined) Object.defineProperty(holder, kWrappers, { value: [wrap], configurable: true })
  else list.push(wrap)
}

/** All wrappers registered for `target`, as one: the first registered wraps the source, the next wraps its result, … */
export function composedWrapper(target: object): BodyWrapper | undefined {
  const list = (target as Holder)[kWrappers]
  if (list === undefined || list.length === 0) return undefined
  const wrappers = [...list]
  return (body) => wrappers.reduce<AsyncIterable<unknown>>((wrapped, wrap) => wrap(wrapped as AsyncIterable<Buffer>), body) as never
}

/** Record that the response held by `target` is streaming: its content is read once, by the client. */
export function markStreaming(target: object): void {
  Object.defineProperty(target, kStreaming, { value: true, configurable: true })
}

/** Whether the response held by `target` is streaming. */
export function isStreamingResponse(target: object): boolean {
  return (target as Holder)[kStreaming] === true
}

/** Throw `response.streaming` if the response held by `target` is streaming. */
export function assertNotStreaming(target: object): void {
  if (isStreamingResponse(target)) throw responseStreaming()
}
