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
import http from 'node:http'
import { parseArgs } from 'node:util'
import { SMALL_JSON } from './apps/common.mjs'
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

const SERVER = `
  const [module, name] = process.argv.slice(1)
  const apps = await import(new URL('./apps/' + module + '.mjs', ${JSON.stringify(new URL('./', import.meta.url).href)}))
  const server = apps[name]({})
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port))
  process.on('SIGTERM', () => process.exit(0))
`

function post(agent, port) {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SMALL_JSON) }
    const req = http.request({ host: '127.0.0.1', port, agent, method: 'POST', path: '/json', headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(SMALL_JSON)
  })
}

async function load(agent, port, count) {
  let left = count
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (left-- > 0) await post(agent, port)
  }))
}

/** Collections by kind ("Scavenge", "Mark-Compact", ...) while the server answers REQUESTS requests. */
async function collections(app) {
  const [module, name] = app.split(':')
  const child = spawn(values.node, ['--trace-gc', '--input-type=module', '-e', SERVER, module, name], { stdio: ['ignore', 'pipe', 'inherit'] })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  let output = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => (output += chunk))
  try {
    while (!/port (\d+)/.test(output)) await once(child.stdout, 'data')
    const port = Number(/port (\d+)/.exec(output)[1])
    await load(agent, port, WARMUP)
    const start = output.length
    await load(agent, port, REQUESTS)
    const counts = {}
    // A --trace-gc line: "[pid:0x…]   1234 ms: Scavenge 5.1 (6.2) -> 4.3 (7.2) MB, …".
    for (const [, kind] of output.slice(start).matchAll(/ ms: ([A-Za-z][A-Za-z -]*?) \d/g)) counts[kind] = (counts[kind] ?? 0) + 1
    return counts
  } finally {
    agent.destroy()
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

const results = new Map()
for (const app of APPS) results.set(app, await collections(app))
const kinds = [...new Set([...results.values()].flatMap((counts) => Object.keys(counts)))].sort()
console.log(`${values.node}: collections during ${REQUESTS} requests (1 KB JSON POSTs) after ${WARMUP} of warm-up, 8 keep-alive connections\n`)
console.log(table(['App', ...kinds], APPS.map((app) => [app, ...kinds.map((kind) => results.get(app)[kind] ?? 0)])))
