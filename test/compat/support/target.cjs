'use strict'
/**
 * The module a preload patches, as the checkout under test loads it: the
 * checkout itself when it is that package (Express's own suite requires
 * `..`), otherwise the copy installed in the checkout's node_modules.
 */
const fs = require('node:fs')
const path = require('node:path')

/** The checkout under test (COMPAT_CHECKOUT, default: the working directory). */
function checkoutDir() {
  return path.resolve(process.env.COMPAT_CHECKOUT || process.cwd())
}

/** The file `require(name)` loads for the checkout's tests. */
function resolveFromCheckout(name) {
  const dir = checkoutDir()
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  return pkg.name === name ? require.resolve(dir) : require.resolve(name, { paths: [dir] })
}

/** `require(name)` as the checkout's tests see it. */
function requireFromCheckout(name) {
  return require(resolveFromCheckout(name))
}

module.exports = { checkoutDir, resolveFromCheckout, requireFromCheckout }
