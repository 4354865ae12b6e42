#!/usr/bin/env node
// stream-shim's command line: `stream-shim routes ./app.js [--json]` prints the
// migration report (describeRoutes) of the Express or Koa app a module exports.
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const USAGE = `Usage: stream-shim routes <module> [--json]

Loads <module> (ESM or CommonJS) and prints every route of the Express or Koa
app it exports, with its body mode (streaming, buffered, unknown and why) and
its effective options (limit, types, timeout).

The module exports the app as its default export (module.exports = app), as
\`app\`, or a function of no arguments returning it (called once). A module
that also starts a server is fine: the command exits after printing.

  --json   print the report as JSON instead of a table
`

function isExpressApp(value) {
  return typeof value === 'function' && typeof value.handle === 'function' && typeof value.set === 'function'
}

function isKoaApp(value) {
  return typeof value === 'object' && value !== null && Array.isArray(value.middleware) && typeof value.callback === 'function'
}

/** The app a module exports: default, `app`, or a factory's result. */
async function findApp(exports) {
  for (const candidate of [exports.default, exports.app, exports.default?.default, exports.default?.app]) {
    if (isExpressApp(candidate) || isKoaApp(candidate)) return candidate
  }
  for (const candidate of [exports.default, exports.createApp]) {
    if (typeof candidate === 'function' && !isExpressApp(candidate)) {
      const made = await candidate()
      if (isExpressApp(made) || isKoaApp(made)) return made
    }
  }
  return undefined
}

async function main(argv) {
  const args = argv.filter((arg) => !arg.startsWith('--'))
  const flags = new Set(argv.filter((arg) => arg.startsWith('--')))
  if (flags.has('--help') || args[0] !== 'routes' || args.length !== 2) {
    process.stderr.write(USAGE)
    return flags.has('--help') ? 0 : 2
  }
  for (const flag of flags) {
    if (flag !== '--json') {
      process.stderr.write(`stream-shim: unknown option ${flag}\n\n${USAGE}`)
      return 2
    }
  }
  // What the app module prints while it loads ("listening on …") goes to
  // stderr, so that stdout holds the report alone.
  const log = console.log
  const info = console.info
  console.log = console.info = (...values) => console.error(...values)
  let app
  try {
    app = await findApp(await import(pathToFileURL(path.resolve(args[1])).href))
  } finally {
    console.log = log
    console.info = info
  }
  if (app === undefined) {
    process.stderr.write(`stream-shim: ${args[1]} exports no Express or Koa app (as default, \`app\`, or a function returning one)\n`)
    return 1
  }
  const adapter = await import(isExpressApp(app) ? 'stream-shim/express' : 'stream-shim/koa')
  const rows = adapter.describeRoutes(app)
  const text = flags.has('--json') ? JSON.stringify(rows, null, 2) + '\n' : adapter.formatRoutes(rows)
  await new Promise((resolve) => process.stdout.write(text, resolve)) // all of it out before exit()
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`stream-shim: ${err?.stack ?? err}\n`)
    process.exit(1)
  },
)
