'use strict'
/**
 * Modes that put a shim module in place of the package under test (loaded
 * with --require): a `require()` that resolves to the checkout's own main
 * file (the suite's `require('..')`) gets the module named by
 * COMPAT_REDIRECT_TO instead. Everything else, the package's internals
 * included, resolves as usual.
 */
const Module = require('node:module')
const { checkoutDir } = require('../support/target.cjs')

const target = process.env.COMPAT_REDIRECT_TO
if (!target) throw new Error('compat redirect-main: COMPAT_REDIRECT_TO is not set')
const main = require.resolve(checkoutDir())

const originalResolveFilename = Module._resolveFilename
Module._resolveFilename = function _resolveFilename(request, parent, ...rest) {
  const filename = originalResolveFilename.call(this, request, parent, ...rest)
  return filename === main ? target : filename
}
