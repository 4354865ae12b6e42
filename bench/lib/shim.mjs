// The package under test, loaded from the repository's build (dist/), so the
// benchmark measures what ships. Koa's adapter may not be built yet: then
// `koaShim` is undefined and its scenarios are reported as pending.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const DIST = process.env.BENCH_DIST ?? fileURLToPath(new URL('../../dist/cjs/', import.meta.url))

export const expressShim = require(`${DIST}adapters/express/index.js`)
/** The Express route lookup's module (not exported by the package), for bench/route-lookup-micro.mjs. */
export const expressRouteLookup = require(`${DIST}adapters/express/route-lookup.js`)

function loadKoa() {
  const entry = `${DIST}adapters/koa/index.js`
  if (!existsSync(entry)) return undefined
  const adapter = require(entry)
  return typeof adapter.streamShim === 'function' && typeof adapter.streaming === 'function' ? adapter : undefined
}

export const koaShim = loadKoa()
