// Scenario 2: many small JSON bodies (≈1 KB) under load, parsed and echoed.
import { SMALL_JSON } from '../apps/common.mjs'
import { requestRate } from '../lib/load.mjs'
import { koaShim } from '../lib/shim.mjs'
import { startServer } from '../lib/server-process.mjs'
import { interleave, median, ratio, table } from '../lib/stats.mjs'

export const title = 'Buffered small JSON'

export const REQUESTS = [{ method: 'POST', path: '/json', headers: { 'content-type': 'application/json' }, body: SMALL_JSON }]

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
  for (const config of live) {
    // Each app once before the runs: it answers the document as expected.
    const server = await startServer(config.spec)
    try {
      await checkEcho(server.port)
    } finally {
      await server.stop()
    }
  }

  // A fresh server process per run: one process's luck (code and heap layout,
  // hash seeds) would otherwise be every round's, and a whole run's verdict.
  const results = await interleave(live, rounds, async (config) => {
    const server = await startServer(config.spec)
    try {
      await requestRate({ server, seconds: quick ? 1 : 5, requests: REQUESTS }) // warm-up: past V8's tiering
      const measured = await requestRate({ server, seconds, requests: REQUESTS })
      log(`  ${config.key}: ${measured.rate.toFixed(0)} req/s, ${measured.cpuPerRequest.toFixed(0)} µs CPU/req`)
      return measured
    } finally {
      await server.stop()
    }
  })

  const byKey = new Map(live.map((c) => [c.key, median(results.get(c).map((m) => m.rate))]))
  const cpuByKey = new Map(live.map((c) => [c.key, median(results.get(c).map((m) => m.cpuPerRequest))]))
  const rel = (a, b) => byKey.get(a) / byKey.get(b)
  /** How much less CPU per request `a` spends than `b` (above 1: `a` is cheaper). */
  const cpuGain = (a, b) => cpuByKey.get(b) / cpuByKey.get(a)
  const peers = ['express.json', 'express-none', 'koa-bodyparser']
  const rows = configs.map((c) =>
    c.pending
      ? [c.label, 'pending', '', '', '', '', '']
      : [
          c.label,
          byKey.get(c.key).toFixed(0),
          ...peers.map((peer) => ratio(rel(c.key, peer))),
          cpuByKey.get(c.key).toFixed(0),
          c.key.startsWith('koa') ? ratio(cpuGain(c.key, 'koa-bodyparser')) : c.key.startsWith('express') ? ratio(cpuGain(c.key, 'express.json')) : '',
        ],
  )

  // The verdicts go by server CPU per request: with 50 connections from one
  // load generator on one core, req/s can be the generator's limit, not the server's.
  const goals = []
  const versus = (key, peer, goal, stretch = false) => {
    const gain = cpuGain(key, peer)
    goals.push({
      goal: `${key}: server CPU per request ${stretch ? `${ratio(goal)} lower than` : '≤'} ${peer}'s${stretch ? ' (stretch)' : ''}`,
      measured: `${ratio(gain)} (${cpuByKey.get(key).toFixed(1)} µs against ${cpuByKey.get(peer).toFixed(1)}; req/s ${ratio(rel(key, peer))})`,
      ok: gain >= goal,
    })
  }
  for (const key of ['express-shim', 'express-ours']) {
    versus(key, 'express.json', 1.0)
    versus(key, 'express.json', 1.15, true)
  }
  if (cpuByKey.has('koa-shim')) versus('koa-shim', 'koa-bodyparser', 1.0)

  const markdown = [
    `POST of a ${SMALL_JSON.length}-byte JSON document echoed back, autocannon with 50 connections, ${seconds} s × ${rounds} runs each, interleaved, each run on a fresh server process after ${quick ? 1 : 5} s of warm-up; medians.`,
    'The no-parser app answers the same document without reading the body, so every app stringifies the same.',
    '"Server CPU µs/req" is the server process\'s CPU time over the requests it answered: less sensitive to a noisy neighbour than req/s.',
    '',
    table(['App', 'req/s', 'vs `express.json()`', 'vs Express, no parser', 'vs `@koa/bodyparser`', 'server CPU µs/req', 'CPU gain vs its framework\'s parser'], rows),
  ].join('\n')
  return { markdown, goals }
}
