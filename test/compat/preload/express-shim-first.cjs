'use strict'
/**
 * Mode `shim-first` for Express's suite (loaded with --require): every app's
 * router, sub-apps included, gets `streamShim()` from the build under test as
 * its first middleware, exactly where `app.use(streamShim())` on the app's
 * first line would put it. The router is still created lazily, so settings
 * made after `express()` (case sensitivity, strict routing) still apply.
 */
const { loadShim, optionsFromEnv } = require('../support/stream-shim.cjs')
const { requireFromCheckout } = require('../support/target.cjs')
const { engaged } = require('../support/engagement.cjs')

const express = requireFromCheckout('express')
const { streamShim } = loadShim('./express')
const shimOptions = optionsFromEnv('STREAM_SHIM_COMPAT_SHIM_OPTIONS')
const proto = express.application

function mountShim(router) {
  router.use(streamShim(shimOptions))
  engaged('streamShim() mounted first in an app')
}

if (typeof proto.lazyrouter === 'function') {
  // Express 4: the router is created, with its query and init middleware, on first use.
  const originalLazyrouter = proto.lazyrouter
  proto.lazyrouter = function lazyrouter() {
    const created = this._router === undefined || this._router === null
    const result = originalLazyrouter.apply(this, arguments)
    if (created && this._router) mountShim(this._router)
    return result
  }
} else {
  // Express 5: `app.router` is a lazy getter defined per app by app.init().
  const originalInit = proto.init
  proto.init = function init() {
    const result = originalInit.apply(this, arguments)
    const descriptor = Object.getOwnPropertyDescriptor(this, 'router')
    if (!descriptor || typeof descriptor.get !== 'function') {
      throw new Error('compat shim-first: this Express has no lazy app.router getter; the preload needs updating')
    }
    const getRouter = descriptor.get
    let mounted = false
    Object.defineProperty(this, 'router', {
      ...descriptor,
      get: function getrouter() {
        const router = getRouter.call(this)
        if (!mounted) {
          mounted = true
          mountShim(router)
        }
        return router
      },
    })
    return result
  }
}
