#!/usr/bin/env node
// Garbage collections per fixed number of requests, by kind, for any of
// scenario 2's apps: the server runs with --trace-gc, is warmed up, and the
// collections it reports while it serves the measured requests (1 KB JSON
// POSTs, 8 keep-alive connections) are counted. Unlike CPU time, the count
// does not depend on how busy the machine is. Needs `npm run build`.
//
//   node bench/gc-count.mjs [--node=/path/to/node] [--requests=60000] [--warmup=10000] express:jsonExpress express:jsonShim
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { SMALL_JSON } from './apps/common.mjs'
import { APP_SERVER, closeClient, send, sendMany } from './lib/app-client.mjs'
import { table } from './lib/stats.mjs'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    node: { type: 'string', default: process.execPath },
    requests: { type: 'string', default: '60000' },
    warmup: { type: 'string', default: '10000' },
  },
})
const REQUESTS = Number(values.requests)
const WARMUP = Number(values.warmup)
const APPS = positionals.length > 0 ? positionals : ['express:jsonExpress', 'express:jsonShim', 'koa:jsonBodyparser', 'koa:jsonShim']

/** Collections by kind ("Scavenge", "Mark-Compact", ...) while the server answers REQUESTS requests. */
async function collections(app) {
  const [module, name] = app.split(':')
  const child = spawn(values.node, ['--trace-gc', '--input-type=module', '-e', APP_SERVER, module, name, '{}'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => (output += chunk))
  try {
    while (!/port (\d+)/.test(output)) await once(child.stdout, 'data')
    const port = Number(/port (\d+)/.exec(output)[1])
    const post = () => send(port, 'POST', '/json', SMALL_JSON)
    await sendMany(WARMUP, post)
    const start = output.length
    await sendMany(REQUESTS, post)
    const counts = {}
    // A --trace-gc line: "[pid:0x…]   1234 ms: Scavenge 5.1 (6.2) -> 4.3 (7.2) MB, …".
    for (const [, kind] of output.slice(start).matchAll(/ ms: ([A-Za-z][A-Za-z -]*?) \d/g)) counts[kind] = (counts[kind] ?? 0) + 1
    return counts
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

const results = new Map()
for (const app of APPS) results.set(app, await collections(app))
closeClient()
const kinds = [...new Set([...results.values()].flatMap((counts) => Object.keys(counts)))].sort()
console.log(`${values.node}: collections during ${REQUESTS} requests (1 KB JSON POSTs) after ${WARMUP} of warm-up, 8 keep-alive connections\n`)
console.log(table(['App', ...kinds], APPS.map((app) => [app, ...kinds.map((kind) => results.get(app)[kind] ?? 0)])))
