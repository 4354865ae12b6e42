// Scenario 4: what headers-first route lookup costs: the same app with 10,
// 100 and 1000 routes, with express.json() (the app before the shim) and with
// streamShim() in its place. A request without a body is passed on at once,
// so only requests with one show the lookup: both kinds are measured.
import { distinctPath, distinctPutPath, putPaths, samplePaths } from '../apps/routes.mjs'
import { requestRate } from '../lib/load.mjs'
import { startServer } from '../lib/server-process.mjs'
import { interleave, median, table } from '../lib/stats.mjs'

export const title = 'Route lookup cost'

const LOSS_GOAL = 0.05
const BODY = '{"n":1}'
const JSON_HEADERS = { 'content-type': 'application/json' }

/** Scenario 4's request patterns for an app of `count` routes (autocannon request templates). */
export function patterns(count) {
  let n = 0
  let m = 0
  return [
    {
      key: 'get-repeated',
      label: `GET, ${samplePaths(count).length} paths repeated`,
      requests: samplePaths(count).map((path) => ({ method: 'GET', path })),
    },
    {
      key: 'get-distinct',
      label: 'GET, a new path every request',
      requests: [{ method: 'GET', path: '/', setupRequest: (req) => ({ ...req, path: distinctPath(count, n++) }) }],
    },
    {
      key: 'put-repeated',
      label: `PUT 7 B of JSON, ${putPaths(count).length} paths repeated`,
      requests: putPaths(count).map((path) => ({ method: 'PUT', path, headers: JSON_HEADERS, body: BODY })),
    },
    {
      key: 'put-distinct',
      label: 'PUT 7 B of JSON, a new path every request',
      requests: [
        { method: 'PUT', path: '/', headers: JSON_HEADERS, body: BODY, setupRequest: (req) => ({ ...req, path: distinctPutPath(count, m++) }) },
      ],
    },
    {
      // No streaming route takes POST in this app: the shim may answer from its summary of the app.
      key: 'post-distinct',
      label: 'POST 7 B of JSON, a new path every request',
      requests: [
        { method: 'POST', path: '/', headers: JSON_HEADERS, body: BODY, setupRequest: (req) => ({ ...req, path: distinctPutPath(count, m++) }) },
      ],
    },
  ]
}

async function checkPaths(port, count) {
  const asks = [
    ...[...samplePaths(count), distinctPath(count, 12345)].map((path) => ({ path, init: {} })),
    ...[...putPaths(count), distinctPutPath(count, 12345)].map((path) => ({ path, init: { method: 'PUT', headers: JSON_HEADERS, body: BODY } })),
  ]
  for (const { path, init } of asks) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, init)
    const text = await res.text()
    if (res.status !== 200 || text !== 'ok') throw new Error(`${init.method ?? 'GET'} ${path} on ${count} routes: ${res.status} ${text.slice(0, 100)}`)
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
          plainCpu.toFixed(1),
          shimCpu.toFixed(1),
          `${shimCpu >= plainCpu ? '+' : ''}${(shimCpu - plainCpu).toFixed(1)} µs`,
        ])
        if (count === 1000) {
          // Judged by server CPU per request, as scenario 2 is: with the load
          // generator on the other core, req/s is often the generator's limit.
          const cpuLoss = shimCpu / plainCpu - 1
          goals.push({
            goal: `1000 routes, ${pattern.label}: < 5% more server CPU per request than with express.json()`,
            measured: `${(cpuLoss * 100).toFixed(1)}% (req/s: ${(loss * 100).toFixed(1)}% fewer)`,
            ok: cpuLoss < LOSS_GOAL,
          })
        }
      }
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()))
    }
  }
  const markdown = [
    `Load (autocannon, 50 connections, ${seconds} s × ${rounds} runs, interleaved; medians) on an Express app whose routes sit in routers of ten under \`/api/g<n>\`: static paths, params, \`route()\` chains, \`router.all\` and \`streaming()\` routes. The app as it was has \`express.json()\`; with the shim, \`streamShim()\` takes its place. A GET has no body, so the shim passes it on without a lookup; a PUT or POST with a body is looked up, then parsed by both. Only PUT has streaming routes, so for a POST the shim may answer from its summary of the app instead of walking it. "Repeated" cycles through a few paths in the first, middle and last groups (the lookup cache's best case); "a new path" asks for a new \`/api/g<n>/r<k>/<id>\` every time (its worst case: a walk per request).`,
    '',
    table(['Routes', 'Requests', 'req/s, express.json()', 'req/s, streamShim()', 'Loss', 'CPU µs/req, express.json()', 'CPU µs/req, streamShim()', 'Shim cost'], rows),
  ].join('\n')
  return { markdown, goals }
}
