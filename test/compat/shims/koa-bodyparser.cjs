'use strict'
/**
 * A stand-in for @koa/bodyparser and koa-bodyparser, for their own suites:
 * the factory is `streamShim(options)` from `stream-shim/koa`, exported the
 * way both packages export theirs (module, `default`, `bodyParser`).
 */
const { loadShim } = require('../support/stream-shim.cjs')
const { engaged } = require('../support/engagement.cjs')

const { streamShim } = loadShim('./koa')

function bodyParser(options) {
  engaged('bodyParser() replaced by streamShim()')
  return streamShim(options)
}

module.exports = bodyParser
module.exports.default = bodyParser
module.exports.bodyParser = bodyParser
