'use strict'
/**
 * Mode `drop-ins` for Express's suite (loaded with --require):
 * `express.json/urlencoded/text/raw` become stream-shim's drop-in parsers
 * from `stream-shim/express`, for the tests and for the bundled examples.
 * Options given with --parser-options are defaults under each call's own.
 */
const { loadShim, optionsFromEnv } = require('../support/stream-shim.cjs')
const { requireFromCheckout } = require('../support/target.cjs')
const { counted } = require('../support/engagement.cjs')

const express = requireFromCheckout('express')
const shim = loadShim('./express')
const defaults = optionsFromEnv('STREAM_SHIM_COMPAT_PARSER_OPTIONS')

for (const name of ['json', 'urlencoded', 'text', 'raw']) {
  const factory = shim[name]
  if (typeof factory !== 'function') throw new Error(`stream-shim/express has no ${name}() export`)
  const withDefaults = defaults
    ? { [name](options) { return factory({ ...defaults, ...options }) } }[name]
    : factory
  express[name] = counted(`express.${name}() replaced`, withDefaults)
}
