#!/usr/bin/env node
// Two apps compared by server CPU per request on a machine too noisy for the
// full benchmark to tell a few percent apart. Both servers are alive at once
// (each in its own process, pinned to CPU 0 like the benchmark's), and short
// load windows alternate between them, A then B, B then A: a drift in the
// machine's speed lasting longer than a pair of windows hits both of a pair
// alike, so the ratio of a pair's two CPU times keeps what the apps cost and
// loses most of what the machine did. Fresh processes every `--pairs` pairs
// (`--processes` times), as one process's code and heap layout would
// otherwise decide the whole verdict.
//
//   node bench/paired.mjs [--node=24] [--pairs=15] [--seconds=2] [--processes=2] [--connections=50] A B
//
// Apps are named as in bench/instructions.mjs: `express:jsonExpress`,
// `koa:jsonShim`, ... (1 KB JSON POSTs, scenario 2), or
// `routes:<count>:<pattern>:<json|shim>` (scenario 4); a name may end with
// `@<dir>`, another build's CommonJS directory (as `BENCH_DIST` takes it), to
// compare two builds of one app. It prints the median of the pairs' ratios
// (B's CPU per request over A's: below 1 means B is cheaper), a 95% bootstrap
// interval for that median, and how many pairs went each way. Needs
// `npm run build`.
import { existsSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const BENCH = fileURLToPath(new URL('.', import.meta.url))
if (!existsSync(`${BENCH}node_modules/autocannon`)) {
  console.error('The benchmark has its own dependencies: run `cd bench && npm ci` first.')
  process.exit(1)
}
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    node: { type: 'string' },
    pairs: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '2' },
    processes: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
  },
})
const whole = (name, min) => {
  const n = Number(values[name])
  if (!Number.isSafeInteger(n) || n < min) throw new TypeError(`--${name} must be a whole number of at least ${min}, got ${values[name]}`)
  return n
}
const PAIRS = whole('pairs', 1)
const PROCESSES = whole('processes', 1)
const CONNECTIONS = whole('connections', 1)
const SECONDS = Number(values.seconds)
if (!(SECONDS > 0)) throw new TypeError(`--seconds must be a positive number, got ${values.seconds}`)
if (positionals.length !== 2) throw new TypeError('name two apps: A (the reference) and B')

// Loaded after the argument check: the apps load dist/ (`npm run build`).
const { pin } = await import('./lib/machine.mjs')
const { nodeVersion, resolveNodeBinary } = await import('./lib/node-binary.mjs')
const { requestRate } = await import('./lib/load.mjs')
const { pinServersTo, runServersOn, startServer } = await import('./lib/server-process.mjs')
const { median, table } = await import('./lib/stats.mjs')
const { REQUESTS: SMALL_JSON_REQUESTS } = await import('./scenarios/small-json.mjs')
const { patterns } = await import('./scenarios/route-lookup.mjs')

/** The server to start, the build it loads and autocannon's request templates, for an app's name. */
function appFor(app) {
  const at = app.indexOf('@')
  const dist = at === -1 ? undefined : resolve(app.slice(at + 1)) + sep
  if (dist !== undefined && !existsSync(`${dist}adapters/express/index.js`)) throw new Error(`${app}: no build in ${dist}`)
  return { dist, ...serverFor(at === -1 ? app : app.slice(0, at)) }
}

function serverFor(app) {
  const [module, name, pattern, parser] = app.split(':')
  if (module !== 'routes') return { spec: `${module}:${name}`, options: {}, load: 'small JSON', requests: SMALL_JSON_REQUESTS }
  const count = Number(name)
  const found = Number.isSafeInteger(count) ? patterns(count).find((p) => p.key === pattern) : undefined
  if (found === undefined || (parser !== 'json' && parser !== 'shim')) throw new Error(`unknown app ${app}`)
  return { spec: 'routes:manyRoutes', options: { count, shim: parser === 'shim' }, load: `${count} routes, ${pattern}`, requests: found.requests }
}

/** A seeded generator (mulberry32), so that a run's interval can be worked out again from its pairs. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** The 2.5th and 97.5th percentiles of the median of `values` resampled with replacement. */
function bootstrapInterval(values, resamples = 4000) {
  const next = random(0x5eed)
  const medians = []
  for (let r = 0; r < resamples; r++) {
    medians.push(median(values.map(() => values[Math.floor(next() * values.length)])))
  }
  medians.sort((a, b) => a - b)
  return [medians[Math.floor(resamples * 0.025)], medians[Math.ceil(resamples * 0.975) - 1]]
}

const binary = resolveNodeBinary(values.node)
runServersOn(binary)
const pinned = pin(process.pid, '1')
if (pinned) pinServersTo('0')
const [a, b] = positionals.map((name) => ({ name, ...appFor(name) }))
if (a.load !== b.load) throw new Error(`the two apps must take the same load, not ${a.load} and ${b.load}`)

/** Start an app's server, on another build of the package if its name says so (`BENCH_DIST`). */
async function start(app) {
  const before = process.env.BENCH_DIST
  if (app.dist !== undefined) process.env.BENCH_DIST = app.dist
  try {
    return await startServer(app.spec, app.options)
  } finally {
    if (before === undefined) delete process.env.BENCH_DIST
    else process.env.BENCH_DIST = before
  }
}

const version = nodeVersion(binary)
console.error(`${version}: ${a.name} against ${b.name}, ${PROCESSES} × ${PAIRS} pairs of ${SECONDS} s windows${pinned ? ', servers on CPU 0, load on CPU 1' : ', unpinned'}`)
const pairs = []
for (let p = 0; p < PROCESSES; p++) {
  const servers = [await start(a), await start(b)]
  try {
    // Warm-up, past V8's tiering: both, in turn, as long as a full run's.
    for (const server of servers) await requestRate({ server, seconds: 5, connections: CONNECTIONS, requests: a.requests })
    for (let i = 0; i < PAIRS; i++) {
      const order = i % 2 === 0 ? [0, 1] : [1, 0]
      const cpu = []
      const rate = []
      for (const s of order) {
        const measured = await requestRate({ server: servers[s], seconds: SECONDS, connections: CONNECTIONS, requests: a.requests })
        cpu[s] = measured.cpuPerRequest
        rate[s] = measured.rate
      }
      pairs.push({ process: p, cpu, rate })
      console.error(`  process ${p + 1}, pair ${i + 1}: ${cpu[0].toFixed(1)} against ${cpu[1].toFixed(1)} µs CPU/req (${(cpu[1] / cpu[0]).toFixed(3)})`)
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
  }
}

const ratios = pairs.map(({ cpu }) => cpu[1] / cpu[0])
const [low, high] = bootstrapInterval(ratios)
const cheaper = ratios.filter((r) => r < 1).length
const dearer = ratios.filter((r) => r > 1).length
const byProcess = Array.from({ length: PROCESSES }, (_, p) => median(pairs.filter((x) => x.process === p).map(({ cpu }) => cpu[1] / cpu[0])))
console.log(`\nNode ${version}, ${a.load}: ${PROCESSES} × ${PAIRS} pairs of ${SECONDS} s load windows (autocannon, ${CONNECTIONS} connections), alternating; server CPU per request, B over A\n`)
console.log(table(
  ['A', 'B', 'A µs CPU/req (median)', 'B µs CPU/req (median)', 'B/A, median of pairs', '95% interval', 'pairs B cheaper / dearer', 'median per process', 'B/A req/s, median'],
  [[
    a.name,
    b.name,
    median(pairs.map(({ cpu }) => cpu[0])).toFixed(1),
    median(pairs.map(({ cpu }) => cpu[1])).toFixed(1),
    median(ratios).toFixed(3),
    `${low.toFixed(3)}–${high.toFixed(3)}`,
    `${cheaper} / ${dearer}`,
    byProcess.map((r) => r.toFixed(3)).join(', '),
    median(pairs.map(({ rate }) => rate[1] / rate[0])).toFixed(3),
  ]],
))
