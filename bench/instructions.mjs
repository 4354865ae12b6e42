#!/usr/bin/env node
// Instructions per request for any of the benchmark's apps, counted by
// valgrind's callgrind: a measure a busy machine does not distort, unlike
// req/s and CPU time. Each server runs under callgrind; it is warmed up, its
// counters are zeroed, it serves a fixed number of 1 KB JSON POSTs from a
// client in this process (8 keep-alive connections), and the counters are
// dumped. Needs valgrind and `npm run build`; about a minute per app.
//
//   node bench/instructions.mjs [--node=/path/to/node] [--requests=2000] [--node-flags='--single-threaded'] \
//     express:jsonNone express:jsonExpress express:jsonShim express:jsonOurs koa:jsonBodyparser koa:jsonShim
import { execFileSync } from 'node:child_process'
import http from 'node:http'
import { parseArgs } from 'node:util'
import { SMALL_JSON } from './apps/common.mjs'
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
  },
})
const REQUESTS = Number(values.requests)
const WARMUP = Number(values.warmup)
const APPS = positionals.length > 0
  ? positionals
  : ['express:jsonNone', 'express:jsonExpress', 'express:jsonShim', 'express:jsonOurs', 'koa:jsonBodyparser', 'koa:jsonShim']

const SERVER = `
  const [module, name] = process.argv[1].split(':')
  const apps = await import(new URL('./apps/' + module + '.mjs', ${JSON.stringify(new URL('./', import.meta.url).href)}))
  const server = apps[name]()
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port))
  process.on('SIGTERM', () => process.exit(0))
`

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })

function post(port) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, agent, method: 'POST', path: '/json',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SMALL_JSON) },
    }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(SMALL_JSON)
  })
}

async function load(port, count) {
  let left = count
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (left-- > 0) await post(port)
  }))
}

function measure(app) {
  return instructionsPerRequest({
    node: values.node,
    flags: values['node-flags'].split(' ').filter(Boolean),
    script: SERVER,
    args: [app],
    load,
    warmup: WARMUP,
    requests: REQUESTS,
  })
}

const version = execFileSync(values.node, ['--version'], { encoding: 'utf8' }).trim()
const counts = new Map()
for (const app of APPS) {
  counts.set(app, await measure(app))
  console.error(`${version} ${app}: ${Math.round(counts.get(app))} instructions per request`)
}
agent.destroy()
const reference = (app) => (app.startsWith('koa:') ? counts.get('koa:jsonBodyparser') : counts.get('express:jsonExpress'))
console.log(`Node ${version}, ${REQUESTS} 1 KB JSON POSTs after ${WARMUP} of warm-up, 8 keep-alive connections\n`)
console.log(table(
  ['App', 'k instructions/req', 'vs the framework\'s own parser'],
  APPS.map((app) => [app, Math.round(counts.get(app) / 1000), reference(app) ? `${(reference(app) / counts.get(app)).toFixed(3)}×` : '–']),
))
