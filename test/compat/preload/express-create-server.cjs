'use strict'
/**
 * Mode `create-server` for Express's suite (loaded with --require): an
 * Express app handed to `http.createServer()` (supertest, `app.listen()`) is
 * served through `createServer(app)` from `stream-shim/express` instead.
 */
const http = require('node:http')
const { loadShim } = require('../support/stream-shim.cjs')
const { requireFromCheckout } = require('../support/target.cjs')
const { engaged } = require('../support/engagement.cjs')

const shim = loadShim('./express')
if (typeof shim.createServer !== 'function') {
  throw new Error('compat create-server: stream-shim/express has no createServer export in this build (issue 14)')
}
const express = requireFromCheckout('express')

/** An app made by the checkout's express(): a function carrying the app prototype. */
function isExpressApp(fn) {
  return typeof fn === 'function' && typeof fn.handle === 'function' && typeof fn.set === 'function' &&
    typeof fn.request === 'object' && Object.prototype.isPrototypeOf.call(express.request, fn.request)
}

const originalCreateServer = http.createServer
let delegating = false
http.createServer = function createServer(first, second) {
  const options = typeof first === 'object' && first !== null ? first : undefined
  const app = options === undefined ? first : second
  if (delegating || !isExpressApp(app)) return originalCreateServer.apply(this, arguments)
  delegating = true // the helper itself calls http.createServer
  try {
    engaged('app served through createServer(app)')
    return options === undefined ? shim.createServer(app) : shim.createServer(app, options)
  } finally {
    delegating = false
  }
}
