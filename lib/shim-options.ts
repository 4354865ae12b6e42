/**
 * The options a `streamShim()` middleware was created with, kept on the
 * middleware under a `Symbol.for` key (so another loaded copy of the package
 * sees them too): `describeRoutes()` reads them to report each route's
 * effective options.
 */
const kShimOptions: unique symbol = Symbol.for('stream-shim.options') as never

/** Keep `options` on `middleware` (non-enumerable) and return it. */
export function describedShim<F extends object>(options: object | undefined, middleware: F): F {
  Object.defineProperty(middleware, kShimOptions, { value: Object.freeze({ options: options ?? {} }), configurable: true })
  return middleware
}

/** The options `value` was created with, when it is a `streamShim()` middleware. */
export function shimOptionsOf(value: unknown): object | undefined {
  if (typeof value !== 'function' || value === null) return undefined
  return (value as { [kShimOptions]?: { options: object } })[kShimOptions]?.options
}
