// Scenario 2: many small JSON bodies (≈1 KB) under load, parsed and echoed.
import { SMALL_JSON } from '../apps/common.mjs'
import { requestRate } from '../lib/load.mjs'
import { koaShim } from '../lib/shim.mjs'
import { startServer } from '../lib/server-process.mjs'
import { interleave, median, ratio, table } from '../lib/stats.mjs'

export const title = 'Buffered small JSON'

const REQUESTS = [{ method: 'POST', path: '/json', headers: { 'content-type': 'application/json' }, body: SMALL_JSON }]

async function checkEcho(port) {
  const res = await fetch(`http://127.0.0.1:${port}/json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: SMALL_JSON,
  })
  const text = await res.text()
  if (res.status !== 200 || text !== SMALL_JSON) throw new Error(`port ${port}: bad echo ${res.status} ${text.slice(0, 100)}`)
}

export async function run({ quick, rounds, log }) {
  const seconds = quick ? 1.5 : 10
  const configs = [
    { key: 'express-none', label: 'Express, no body parser', spec: 'express:jsonNone' },
    { key: 'express.json', label: 'Express + `express.json()`', spec: 'express:jsonExpress' },
    { key: 'express-shim', label: 'Express + `streamShim()`', spec: 'express:jsonShim' },
    { key: 'express-ours', label: 'Express + stream-shim `json()`', spec: 'express:jsonOurs' },
    { key: 'koa-bodyparser', label: 'Koa + `@koa/bodyparser`', spec: 'koa:jsonBodyparser' },
    { key: 'koa-shim', label: 'Koa + `streamShim()`', spec: 'koa:jsonShim', pending: koaShim === undefined },
    { key: 'fastify', label: 'Fastify JSON route (reference)', spec: 'fastify:json' },
  ]
  const live = configs.filter((c) => !c.pending)
  const servers = new Map()
  for (const config of live) {
    const server = await startServer(config.spec)
    servers.set(config, server)
    await checkEcho(server.port)
    await requestRate({ server, seconds: quick ? 0.5 : 2, requests: REQUESTS }) // warm-up
  }

  let results
  try {
    results = await interleave(live, rounds, async (config) => {
      const measured = await requestRate({ server: servers.get(config), seconds, requests: REQUESTS })
      log(`  ${config.key}: ${measured.rate.toFixed(0)} req/s, ${measured.cpuPerRequest.toFixed(0)} µs CPU/req`)
      return measured
    })
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()))
  }

  const byKey = new Map(live.map((c) => [c.key, median(results.get(c).map((m) => m.rate))]))
  const cpuOf = (c) => median(results.get(c).map((m) => m.cpuPerRequest))
  const rel = (a, b) => byKey.get(a) / byKey.get(b)
  const peers = ['express.json', 'express-none', 'koa-bodyparser']
  const rows = configs.map((c) =>
    c.pending
      ? [c.label, 'pending', '', '', '', '']
      : [c.label, byKey.get(c.key).toFixed(0), ...peers.map((peer) => ratio(rel(c.key, peer))), cpuOf(c).toFixed(0)],
  )

  const goals = []
  for (const key of ['express-shim', 'express-ours']) {
    goals.push({ goal: `${key} vs express.json(): ≥ 1.15×`, measured: ratio(rel(key, 'express.json')), ok: rel(key, 'express.json') >= 1.15 })
    goals.push({ goal: `${key} vs Express with no parser: ≥ 0.9×`, measured: ratio(rel(key, 'express-none')), ok: rel(key, 'express-none') >= 0.9 })
  }
  goals.push(
    byKey.has('koa-shim')
      ? { goal: 'koa-shim vs @koa/bodyparser: ≥ 1.0×', measured: ratio(rel('koa-shim', 'koa-bodyparser')), ok: rel('koa-shim', 'koa-bodyparser') >= 1.0 }
      : { goal: 'koa-shim vs @koa/bodyparser: ≥ 1.0×', measured: 'Koa adapter not built yet', ok: null },
  )

  const markdown = [
    `POST of a ${SMALL_JSON.length}-byte JSON document echoed back, autocannon with 50 connections, ${seconds} s × ${rounds} runs each, interleaved; medians.`,
    'The no-parser app answers the same document without reading the body, so every app stringifies the same.',
    '"Server CPU µs/req" is the server process\'s CPU time over the requests it answered: less sensitive to a noisy neighbour than req/s.',
    '',
    table(['App', 'req/s', 'vs `express.json()`', 'vs Express, no parser', 'vs `@koa/bodyparser`', 'server CPU µs/req'], rows),
  ].join('\n')
  return { markdown, goals }
}
