#!/usr/bin/env node
// stream-shim benchmarks: builds the package, runs every scenario of the
// benchmark issue with each server in its own process, prints Markdown tables
// of ratios against peers measured in the same run, and writes RESULTS.md.
//
//   node bench/run.mjs [--quick] [--only=1,3] [--rounds=N] [--node=24] [--no-build] [--cpu-prof] [--out=FILE]
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const BENCH = fileURLToPath(new URL('.', import.meta.url))
const ROOT = fileURLToPath(new URL('..', import.meta.url))

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    node: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

if (args.help) {
  console.log(`Usage: npm run bench -- [options]
  --quick       a smaller version of every scenario (under 3 minutes)
  --only=LIST   scenarios to run, by number: --only=2,4
  --rounds=N    runs per measurement (default 3; medians are reported)
  --node=24     run the servers on another Node: a version (npm's node@24,
                installed once) or a path to a node binary
  --no-build    use dist/ as it is instead of running npm run build
  --cpu-prof    write a V8 CPU profile per server process to bench/profiles/
  --out=FILE    where to write the results (default bench/RESULTS.md)`)
  process.exit(0)
}

if (!existsSync(`${BENCH}node_modules/autocannon`)) {
  console.error('The benchmark has its own dependencies: run `cd bench && npm ci` first.')
  process.exit(1)
}
if (!args['no-build']) {
  console.error('Building the package (npm run build)…')
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' })
}

// Imported only after the build: the apps load dist/.
const { describeMachine, pinRun } = await import('./lib/machine.mjs')
const { nodeVersion, resolveNodeBinary } = await import('./lib/node-binary.mjs')
const { pinServersTo, profileServersInto, runServersOn } = await import('./lib/server-process.mjs')
const { koaShim } = await import('./lib/shim.mjs')
const { table } = await import('./lib/stats.mjs')
const SCENARIOS = [
  await import('./scenarios/streaming-upload.mjs'),
  await import('./scenarios/small-json.mjs'),
  await import('./scenarios/large-buffered.mjs'),
  await import('./scenarios/route-lookup.mjs'),
  await import('./scenarios/backpressure.mjs'),
  await import('./scenarios/create-server.mjs'),
  await import('./scenarios/proxy.mjs'),
  await import('./scenarios/streamed-response.mjs'),
]

const rounds = args.rounds === undefined ? 3 : Number(args.rounds)
if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError(`--rounds must be a positive integer, got ${args.rounds}`)
const only = args.only === undefined ? SCENARIOS.map((_, i) => i + 1) : args.only.split(',').map(Number)
const out = args.out ?? `${BENCH}RESULTS.md`
if (args['cpu-prof']) {
  const dir = `${BENCH}profiles`
  mkdirSync(dir, { recursive: true })
  profileServersInto(dir)
}

const serverBinary = resolveNodeBinary(args.node)
runServersOn(serverBinary)

const serverNode = nodeVersion(serverBinary)
const nodes =
  serverNode === process.version
    ? `Node ${serverNode}; each server in its own process, the load generator in the parent`
    : `Node ${serverNode} for the servers (\`--node\`), each in its own process; Node ${process.version} for the load generator in the parent`

const machine = describeMachine() // before pinning: nproc counts the CPUs this process may use
const pinning = pinRun(pinServersTo) ?? 'servers and load generator unpinned (no taskset, or one core)'
const started = Date.now()
const mode = args.quick ? 'quick (`--quick`)' : 'full'
const log = (line) => console.error(line)
console.error(`${mode} run, ${rounds} rounds, scenarios ${only.join(', ')}; ${machine.cores} cores, ${machine.cpu}; ${nodes}`)
if (koaShim === undefined) console.error('stream-shim/koa is not built yet: its scenarios are reported as pending.')

const sections = []
const goals = []

function report() {
  const seconds = (Date.now() - started) / 1000
  const mark = (ok) => (ok === null ? 'pending' : ok ? 'holds' : '**fails**')
  const text = [
    '# stream-shim benchmark results',
    '',
    `- Date: ${new Date(started).toISOString()}`,
    `- Mode: ${mode}, ${rounds} runs per measurement (medians)`,
    `- Machine: ${machine.cores} cores (\`nproc\`), ${machine.cpu}, ${machine.memory} RAM, ${machine.os}`,
    `- ${nodes}`,
    `- CPUs: ${pinning}`,
    `- Wall time: ${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`,
    '',
    '## Goals',
    '',
    table(['Goal', 'Measured', 'Verdict'], goals.map((g) => [g.goal, g.measured, mark(g.ok)])),
    '',
    ...sections,
  ].join('\n')
  writeFileSync(out, text)
  return text
}

for (const number of only) {
  const scenario = SCENARIOS[number - 1]
  if (scenario === undefined) throw new RangeError(`no scenario ${number}`)
  log(`\n${number}. ${scenario.title}`)
  const t0 = Date.now()
  const result = await scenario.run({ quick: args.quick, rounds, log, serverNode: serverNode.slice(1) })
  const section = `## ${number}. ${scenario.title}\n\n${result.markdown}\n`
  log(`(${((Date.now() - t0) / 1000).toFixed(0)} s)\n`)
  console.log(section)
  sections.push(section)
  goals.push(...result.goals)
  report() // after every scenario, so a crash later keeps what was measured
}

const seconds = (Date.now() - started) / 1000
const summary = report()
const goalsAt = summary.indexOf('## Goals')
console.log(summary.slice(goalsAt, summary.indexOf('\n## ', goalsAt)))
console.error(`Done in ${seconds.toFixed(0)} s; wrote ${out}`)
