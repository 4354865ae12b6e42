#!/usr/bin/env node
// Instructions per request for any of the benchmark's apps, counted by
// valgrind's callgrind: a measure a busy machine does not distort, unlike
// req/s and CPU time. Each server runs under callgrind; it is warmed up, its
// counters are zeroed, it serves a fixed number of 1 KB JSON POSTs from a
// client in this process (8 keep-alive connections, or `--connections`), and the counters are
// dumped. Needs valgrind and `npm run build`; about a minute per app.
//
//   node bench/instructions.mjs [--node=/path/to/node] [--requests=2000] [--node-flags='--single-threaded'] \
//     express:jsonNone express:jsonExpress express:jsonShim express:jsonOurs koa:jsonBodyparser koa:jsonShim
//
// Scenario 4's apps (route lookup) are named `routes:<count>:<pattern>:<json|shim>`, the
// pattern one of get-repeated, get-distinct, put-repeated, put-distinct, post-distinct (a PUT or POST carries 7
// bytes of JSON; "distinct" asks for a new path every request):
//
//   node bench/instructions.mjs --warmup=20000 --requests=3000 --windows=7 routes:1000:put-distinct:json routes:1000:put-distinct:shim
//
// `--windows=N` counts N windows of `--requests` each in a row and reports the
// median window (V8 compiles or deoptimizes a batch of functions now and then
// long after warm-up, and that window's count jumps); see bench/README.md.
//
// `--by-function=N` also says where the instructions go: the N functions
// (JavaScript and native, by self cost) with the most instructions per
// request in each app, and, for each app measured with its reference, the N
// functions whose count differs most from the reference's. V8 names its
// compiled code through --perf-basic-prof (see lib/by-function.mjs), so a
// function inlined into another counts as that other.
//
//   node bench/instructions.mjs --by-function=25 express:jsonExpress express:jsonShim
import { execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { APP_SERVER, appFor, closeClient, sendMany, useConnections } from './lib/app-client.mjs'
import { instructionsPerRequest } from './lib/callgrind.mjs'
import { table } from './lib/stats.mjs'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    node: { type: 'string', default: process.execPath },
    requests: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '3000' },
    // V8's background compiler and GC threads make counts vary by ±15% run to
    // run; on the main thread alone they repeat within about 1%.
    'node-flags': { type: 'string', default: '--single-threaded' },
    'by-function': { type: 'string', default: '0' },
    windows: { type: 'string', default: '1' },
    connections: { type: 'string', default: '8' },
  },
})
useConnections(Number(values.connections))
const WINDOWS = Number(values.windows)
if (!Number.isSafeInteger(WINDOWS) || WINDOWS < 1) throw new TypeError(`--windows must be a whole number of at least 1, got ${values.windows}`)
const BY_FUNCTION = Number(values['by-function'])
const REQUESTS = Number(values.requests)
const WARMUP = Number(values.warmup)
const APPS = positionals.length > 0
  ? positionals
  : ['express:jsonNone', 'express:jsonExpress', 'express:jsonShim', 'express:jsonOurs', 'koa:jsonBodyparser', 'koa:jsonShim']

const functions = new Map()
const windowCounts = new Map()

function measure(app) {
  const { args, request } = appFor(app)
  return instructionsPerRequest({
    byFunction: BY_FUNCTION > 0,
    onFunctions: (byName) => functions.set(app, byName),
    onWindows: (counts) => windowCounts.set(app, counts),
    windows: WINDOWS,
    node: values.node,
    flags: values['node-flags'].split(' ').filter(Boolean),
    script: APP_SERVER,
    args,
    load: (port, count) => sendMany(count, () => request(port)),
    warmup: WARMUP,
    requests: REQUESTS,
  })
}

const version = execFileSync(values.node, ['--version'], { encoding: 'utf8' }).trim()
const counts = new Map()
for (const app of APPS) {
  counts.set(app, await measure(app))
  const spread = WINDOWS > 1 ? ` (median of ${WINDOWS} windows: ${windowCounts.get(app).map((n) => `${(n / 1000).toFixed(1)}k`).join(', ')})` : ''
  console.error(`${version} ${app}: ${Math.round(counts.get(app))} instructions per request${spread}`)
}
closeClient()
/** The app `app` is compared with (its framework's own parser), if it was measured in this run. */
function referenceApp(app) {
  const name = app.startsWith('routes:') ? app.replace(/:shim$/, ':json') : app.startsWith('koa:') ? 'koa:jsonBodyparser' : 'express:jsonExpress'
  return counts.has(name) ? name : undefined
}
function reference(app) {
  const name = referenceApp(app)
  return name === undefined ? undefined : counts.get(name)
}
const lowest = (app) => Math.min(...windowCounts.get(app))
const versus = (ours, theirs) => (theirs === undefined ? '–' : `${(theirs / ours).toFixed(3)}×`)
const windowed = WINDOWS > 1 ? `, the median of ${WINDOWS} such windows in a row` : ''
console.log(`Node ${version}, ${REQUESTS} requests (1 KB JSON POSTs, or as named) after ${WARMUP} of warm-up${windowed}, ${values.connections} keep-alive connections\n`)
// With windows, the lowest ones too: a window where V8 ran a major collection
// or compiled a batch stands out above the rest, and may be the median.
console.log(table(
  ['App', 'k instructions/req', 'vs the framework\'s own parser', ...(WINDOWS > 1 ? ['lowest window, k', 'lowest against lowest'] : [])],
  APPS.map((app) => {
    const row = [app, Math.round(counts.get(app) / 1000), versus(counts.get(app), reference(app))]
    if (WINDOWS === 1) return row
    const other = referenceApp(app)
    return [...row, Math.round(lowest(app) / 1000), versus(lowest(app), other === undefined ? undefined : lowest(other))]
  }),
))

/** Rows of a by-function table: a function and its instructions per request, the largest `BY_FUNCTION` by `size`. */
function largest(entries, size) {
  return [...entries].sort((a, b) => size(b[1]) - size(a[1])).slice(0, BY_FUNCTION)
}

if (BY_FUNCTION > 0) {
  for (const app of APPS) {
    const byName = functions.get(app)
    console.log(`\n${app}: the ${BY_FUNCTION} functions with the most instructions per request (self cost)\n`)
    console.log(table(['Function', 'instructions/req'], largest(byName, (n) => n).map(([name, n]) => [name, Math.round(n)])))
    const base = referenceApp(app)
    if (base === undefined || base === app) continue
    const against = functions.get(base)
    const names = new Set([...byName.keys(), ...against.keys()])
    const differences = [...names].map((name) => [name, (byName.get(name) ?? 0) - (against.get(name) ?? 0)])
    console.log(`\n${app} against ${base}: the ${BY_FUNCTION} functions whose count differs most (instructions per request)\n`)
    console.log(table(['Function', base, app, 'difference'], largest(differences, Math.abs).map(([name, d]) => [name, Math.round(against.get(name) ?? 0), Math.round(byName.get(name) ?? 0), (d > 0 ? '+' : '') + Math.round(d)])))
  }
}
