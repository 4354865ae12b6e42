'use strict'
/**
 * Proof that a mode took effect: every preload or shim module records each
 * time it stands in for the original (one line per event in the file named by
 * COMPAT_ENGAGEMENT), and the harness prints the counts. A mode that never
 * engaged would otherwise look like a clean pass.
 */
const fs = require('node:fs')

function engaged(what) {
  const file = process.env.COMPAT_ENGAGEMENT
  if (file) fs.appendFileSync(file, what + '\n')
}

/** Wrap a factory so each call is counted; keeps its name and arity (Express's suite checks `express.json.length`). */
function counted(what, factory) {
  const wrapper = function () {
    engaged(what)
    return factory.apply(this, arguments)
  }
  Object.defineProperty(wrapper, 'name', { value: factory.name })
  Object.defineProperty(wrapper, 'length', { value: factory.length })
  return wrapper
}

module.exports = { engaged, counted }
