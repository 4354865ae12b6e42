'use strict'
/**
 * Load stream-shim from its build, through the package's own `exports` map,
 * from the root given in STREAM_SHIM_ROOT (default: the repository this
 * harness lives in). Used by the preloads and the shim modules, which run
 * inside other projects' test processes.
 */
const fs = require('node:fs')
const path = require('node:path')

/** The stream-shim package root the harness tests. */
function shimRoot() {
  return path.resolve(process.env.STREAM_SHIM_ROOT || path.join(__dirname, '..', '..', '..'))
}

/** The CommonJS file behind a subpath export ('.', './express', './koa'). */
function shimEntry(subpath, root = shimRoot()) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const target = pkg.exports && pkg.exports[subpath]
  const required = target && (typeof target.require === 'string' ? target.require : target.require && target.require.default)
  if (typeof required !== 'string') throw new Error(`stream-shim at ${root} has no CommonJS export "${subpath}"`)
  const file = path.join(root, required)
  if (!fs.existsSync(file)) throw new Error(`stream-shim build missing: ${file} (run \`npm run build\` in ${root})`)
  return file
}

/** `require('stream-shim/<subpath>')`, from the build under test. */
function loadShim(subpath) {
  return require(shimEntry(subpath))
}

/** Options given with --shim-options / --parser-options, as JSON in the environment. */
function optionsFromEnv(name) {
  const text = process.env[name]
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${err.message}`, { cause: err })
  }
}

module.exports = { shimRoot, shimEntry, loadShim, optionsFromEnv }
