// Scenario 4: what headers-first route lookup costs: the same app with 10,
// 100 and 1000 routes, with and without streamShim(), under GET load (no
// body, so the lookup is all the shim does).
import { distinctPath, samplePaths } from '../apps/routes.mjs'
import { requestRate } from '../lib/load.mjs'
import { startServer } from '../lib/server-process.mjs'
import { interleave, median, table } from '../lib/stats.mjs'

export const title = 'Route lookup cost'

const LOSS_GOAL = 0.05

function patterns(count) {
  let n = 0
  return [
    {
      key: 'repeated',
      label: `${samplePaths(count).length} paths, repeated`,
      requests: samplePaths(count).map((path) => ({ method: 'GET', path })),
    },
    {
      key: 'distinct',
      label: 'a new path every request',
      requests: [{ method: 'GET', path: '/', setupRequest: (req) => ({ ...req, path: distinctPath(count, n++) }) }],
    },
  ]
}

async function checkPaths(port, count) {
  for (const path of [...samplePaths(count), distinctPath(count, 12345)]) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    const text = await res.text()
    if (res.status !== 200 || text !== 'ok') throw new Error(`GET ${path} on ${count} routes: ${res.status} ${text.slice(0, 100)}`)
  }
}

export async function run({ quick, rounds, log }) {
  const seconds = quick ? 1 : 5
  const counts = [10, 100, 1000]
  const rows = []
  const goals = []
  for (const count of counts) {
    const configs = [
      { key: 'plain', spec: 'routes:manyRoutes', options: { count, shim: false } },
      { key: 'shim', spec: 'routes:manyRoutes', options: { count, shim: true } },
    ]
    const servers = new Map()
    for (const config of configs) {
      const server = await startServer(config.spec, config.options)
      servers.set(config, server)
      await checkPaths(server.port, count)
    }
    try {
      for (const pattern of patterns(count)) {
        for (const config of configs) {
          await requestRate({ server: servers.get(config), seconds: quick ? 0.5 : 1, requests: pattern.requests }) // warm-up
        }
        const results = await interleave(configs, rounds, async (config) => {
          const measured = await requestRate({ server: servers.get(config), seconds, requests: pattern.requests })
          log(`  ${count} routes, ${pattern.key}, ${config.key}: ${measured.rate.toFixed(0)} req/s, ${measured.cpuPerRequest.toFixed(0)} µs CPU/req`)
          return measured
        })
        const [plain, shim] = configs.map((c) => median(results.get(c).map((m) => m.rate)))
        const [plainCpu, shimCpu] = configs.map((c) => median(results.get(c).map((m) => m.cpuPerRequest)))
        const loss = 1 - shim / plain
        rows.push([
          String(count),
          pattern.label,
          plain.toFixed(0),
          shim.toFixed(0),
          `${(loss * 100).toFixed(1)}%`,
          plainCpu.toFixed(0),
          shimCpu.toFixed(0),
          `+${(shimCpu - plainCpu).toFixed(0)} µs`,
        ])
        if (count === 1000) {
          goals.push({
            goal: `1000 routes, ${pattern.label}: < 5% req/s lost to the shim`,
            measured: `${(loss * 100).toFixed(1)}%`,
            ok: loss < LOSS_GOAL,
          })
        }
      }
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()))
    }
  }
  const markdown = [
    `GET load (autocannon, 50 connections, ${seconds} s × ${rounds} runs, interleaved; medians) on an Express app whose routes sit in routers of ten under \`/api/g<n>\`: static paths, params, \`route()\` chains, \`router.all\` and \`streaming()\` routes. "Repeated" cycles through a few paths in the first, middle and last groups (the lookup cache's best case); "distinct" asks for a new \`/api/g<n>/r1/<id>\` every time (its worst case).`,
    '',
    table(['Routes', 'Requests', 'req/s without shim', 'req/s with shim', 'Loss', 'CPU µs/req without', 'CPU µs/req with', 'Shim cost'], rows),
  ].join('\n')
  return { markdown, goals }
}
