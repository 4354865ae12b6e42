'use strict'
/**
 * A stand-in for the body-parser package, for its own suite: the same export
 * shape, with stream-shim's drop-in json/urlencoded/text/raw. The generic
 * `bodyParser()` follows the checkout's line: body-parser 2 throws (it was
 * split); body-parser 1 chains json then urlencoded with their default types,
 * built here from stream-shim's parsers.
 * Options given with --parser-options are defaults under each call's own.
 */
const { loadShim, optionsFromEnv } = require('../support/stream-shim.cjs')
const { counted } = require('../support/engagement.cjs')

const shim = loadShim('./express')
const defaults = optionsFromEnv('STREAM_SHIM_COMPAT_PARSER_OPTIONS')
const major = Number(process.env.COMPAT_PACKAGE_MAJOR || 2)

const parsers = {}
for (const name of ['json', 'urlencoded', 'text', 'raw']) {
  const factory = shim[name]
  const withDefaults = defaults
    ? { [name](options) { return factory({ ...defaults, ...options }) } }[name]
    : factory
  parsers[name] = counted(`bodyParser.${name}() replaced`, withDefaults)
}

function bodyParser(options) {
  if (major >= 2) throw new Error('The bodyParser() generic has been split into individual middleware to use instead.')
  const own = { ...options, type: undefined }
  const json = parsers.json(own)
  const urlencoded = parsers.urlencoded(own)
  return function bodyParser(req, res, next) {
    json(req, res, (err) => (err ? next(err) : urlencoded(req, res, next)))
  }
}

module.exports = Object.assign(bodyParser, parsers)
