'use strict'
/**
 * Mode `shim-first` for Koa suites (loaded with --require, also in the
 * per-file processes of `node --test`): every Koa app gets `streamShim()`
 * from `stream-shim/koa` as its first middleware. It is put in front when the
 * app builds its request handler (`app.callback()`, which `app.listen()` and
 * supertest call), so it comes first whenever the app's own `use()` calls ran.
 */
const { loadShim, optionsFromEnv } = require('../support/stream-shim.cjs')
const { requireFromCheckout } = require('../support/target.cjs')
const { engaged } = require('../support/engagement.cjs')

const Koa = requireFromCheckout('koa')
const { streamShim } = loadShim('./koa')
const shimOptions = optionsFromEnv('STREAM_SHIM_COMPAT_SHIM_OPTIONS')
const shimmed = new WeakSet()

const originalCallback = Koa.prototype.callback
Koa.prototype.callback = function callback() {
  if (!shimmed.has(this)) {
    shimmed.add(this)
    this.middleware.unshift(streamShim(shimOptions))
    engaged('streamShim() mounted first in an app')
  }
  return originalCallback.apply(this, arguments)
}
