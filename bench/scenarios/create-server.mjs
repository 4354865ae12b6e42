// Scenario 6: Express served by createServer(app) against http.createServer(app):
// a 1 KB JSON echo and a no-body GET, req/s and server CPU µs per request in
// the same run. The gain depends on the Node line (V8): run it with each.
//
// Inside the runner: npm run bench -- --only=6
// On its own, with any Node binary (after npm run build):
//   npx -p node@22 node bench/scenarios/create-server.mjs [--quick] [--rounds=N]
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { SMALL_JSON } from '../apps/common.mjs'
import { requestRate } from '../lib/load.mjs'
import { startServer } from '../lib/server-process.mjs'
import { interleave, median, ratio, table } from '../lib/stats.mjs'

const EXPRESS_VERSION = createRequire(import.meta.url)('express/package.json').version

export const title = 'createServer(app): requests born with the app\'s prototypes'

const WORKLOADS = [
  {
    key: 'get',
    label: 'GET, no body',
    spec: 'create-server:get',
    requests: [{ method: 'GET', path: '/hello/ada' }],
    check: async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/hello/ada`)
      const text = await res.text()
      if (res.status !== 200 || text !== '{"hello":"ada"}') throw new Error(`port ${port}: bad answer ${res.status} ${text}`)
    },
  },
  {
    key: 'echo',
    label: `POST ${SMALL_JSON.length}-byte JSON, echoed (\`streamShim()\`)`,
    spec: 'create-server:echo',
    requests: [{ method: 'POST', path: '/json', headers: { 'content-type': 'application/json' }, body: SMALL_JSON }],
    check: async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SMALL_JSON })
      const text = await res.text()
      if (res.status !== 200 || text !== SMALL_JSON) throw new Error(`port ${port}: bad echo ${res.status} ${text.slice(0, 100)}`)
    },
  },
]

export async function run({ quick, rounds, log, only = WORKLOADS.map((w) => w.key), serverNode = process.versions.node }) {
  const workloads = WORKLOADS.filter((w) => only.includes(w.key))
  const seconds = quick ? 1 : 3
  const node = serverNode // the servers' Node (`--node`), which the goals depend on
  const major = Number(node.split('.')[0])
  const configs = workloads.flatMap((w) => [
    { ...w, helper: false, name: `${w.key} http.createServer(app)` },
    { ...w, helper: true, name: `${w.key} createServer(app)` },
  ])
  const servers = new Map()
  let results
  try {
    for (const config of configs) {
      const server = await startServer(config.spec, { helper: config.helper })
      servers.set(config, server)
      await config.check(server.port)
      await requestRate({ server, seconds: quick ? 0.5 : 1, requests: config.requests }) // warm-up
    }
    results = await interleave(configs, rounds, async (config) => {
      const measured = await requestRate({ server: servers.get(config), seconds, requests: config.requests })
      log(`  Node ${node}, ${config.name}: ${measured.rate.toFixed(0)} req/s, ${measured.cpuPerRequest.toFixed(1)} µs CPU/req`)
      return measured
    })
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()))
  }

  const rate = (c) => median(results.get(c).map((m) => m.rate))
  const cpu = (c) => median(results.get(c).map((m) => m.cpuPerRequest))
  // The two servers of a workload run back to back in each round: the median
  // of the per-round ratios cancels most of the drift a shared machine adds.
  const paired = (a, b, field) => median(results.get(a).map((m, i) => m[field] / results.get(b)[i][field]))
  const rows = []
  const goals = []
  for (const w of workloads) {
    const [plain, helped] = configs.filter((c) => c.key === w.key)
    const gain = paired(helped, plain, 'rate')
    const cpuGain = paired(plain, helped, 'cpuPerRequest')
    rows.push([w.label, rate(plain).toFixed(0), rate(helped).toFixed(0), ratio(gain), cpu(plain).toFixed(1), cpu(helped).toFixed(1), ratio(cpuGain)])
    if (w.key === 'get' && major < 24) {
      goals.push({ goal: `Node ${major}: no-body GET, createServer vs http.createServer: ≥ 2× req/s`, measured: ratio(gain), ok: gain >= 2 })
    } else {
      // "No loss" is judged on CPU time per request: req/s on a shared machine swings more than the effect.
      goals.push({
        goal: `Node ${major}: ${w.key === 'get' ? 'no-body GET' : '1 KB JSON echo'}, createServer vs http.createServer: no loss (CPU µs/req ≤ 1.03×)`,
        measured: `CPU gain ${ratio(cpuGain)}, req/s ${ratio(gain)}`,
        ok: cpuGain >= 1 / 1.03,
      })
    }
  }
  const markdown = [
    `Node ${node}, Express ${EXPRESS_VERSION}, \`streamShim()\` mounted in both apps; autocannon with 50 connections, ${seconds} s × ${rounds} runs each, interleaved; medians, and for the gains the median of the per-round ratios of the two servers, which run back to back.`,
    '',
    table(['Request', 'req/s, `http.createServer(app)`', 'req/s, `createServer(app)`', 'req/s gain', 'CPU µs/req, `http.createServer`', 'CPU µs/req, `createServer`', 'CPU gain'], rows),
  ].join('\n')
  return { markdown, goals }
}

// Run on its own: node bench/scenarios/create-server.mjs [--quick] [--rounds=N] [--workload=get|echo]
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' }, workload: { type: 'string', multiple: true } },
  })
  const only = values.workload ?? WORKLOADS.map((w) => w.key)
  const { markdown, goals } = await run({ quick: values.quick, rounds: Number(values.rounds), only, log: (line) => console.error(line) })
  console.log(`## ${title}\n\n${markdown}\n\n${table(['Goal', 'Measured', 'Verdict'], goals.map((g) => [g.goal, g.measured, g.ok ? 'holds' : '**fails**']))}`)
}
