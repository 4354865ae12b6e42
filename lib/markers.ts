/**
 * The marker a handler (or a whole router) carries to say how its request
 * bodies are read. Markers live under a `Symbol.for` key so that handlers
 * marked by one loaded copy of stream-shim are seen by another.
 */
import type { BodyMode } from './request-state.js'

export const kMarker: unique symbol = Symbol.for('stream-shim.marker') as never

/** What a marked handler declares. `options` is already normalized. */
export interface Marker<Options = unknown> {
  readonly mode: BodyMode
  readonly options: Options
}

/** The marker on `value`, if it carries one. */
export function getMarker<Options = unknown>(value: unknown): Marker<Options> | undefined {
  if ((typeof value !== 'function' && typeof value !== 'object') || value === null) return undefined
  const marker = (value as { [kMarker]?: Marker<Options> })[kMarker]
  return marker !== undefined && (marker.mode === 'streaming' || marker.mode === 'buffered') ? marker : undefined
}

/**
 * Put `marker` on `target`: non-enumerable, so it never shows in logs or
 * clones by spread, unless `copied` asks that clones made by copying own
 * enumerable keys (as @koa/router does with nested routes) keep it.
 */
export function setMarker<T extends object>(target: T, marker: Marker, copied = false): T {
  Object.defineProperty(target, kMarker, { value: Object.freeze(marker), configurable: true, enumerable: copied })
  markings.count++
  return target
}

/**
 * How many markers have been set, by every loaded copy of stream-shim: a
 * summary of where markers are (which a route lookup keeps to skip work)
 * holds only while this count is unchanged.
 */
export function markerCount(): number {
  return markings.count
}

const markings: { count: number } = ((globalThis as { [key: symbol]: unknown })[Symbol.for('stream-shim.markings')] ??= {
  count: 0,
}) as { count: number }

/**
 * A function giving, for a marker of `mode`, the route's settings built from
 * its options by `build` (computed once per marker and kept), and `fallback`
 * for no marker or one of the other mode.
 */
export function perMarker<T>(mode: BodyMode, fallback: T, build: (options: unknown) => T): (marker: Marker | undefined) => T {
  const cache = new WeakMap<Marker, T>()
  return function settingsFor(marker) {
    if (marker === undefined || marker.mode !== mode) return fallback
    let settings = cache.get(marker)
    if (settings === undefined) {
      settings = build(marker.options)
      cache.set(marker, settings)
    }
    return settings
  }
}
