#!/usr/bin/env node
// Instructions per request of scenario 6's servers (bench/apps/create-server.mjs),
// counted by valgrind's callgrind: a measure a busy machine does not distort,
// unlike req/s and CPU time. Each server runs under callgrind; it is warmed
// up, its counters are zeroed, it serves a fixed number of requests from a
// client in this process, and the counters are dumped. Needs valgrind
// (apt-get install valgrind) and `npm run build`; slow (about a minute per
// server), so not part of npm run bench.
//
//   node bench/create-server-instructions.mjs [--node=/path/to/node] [--workload=get|echo] [--requests=1000]
import { execFileSync } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { SMALL_JSON } from './apps/common.mjs'
import { instructionsPerRequest } from './lib/callgrind.mjs'
import { table } from './lib/stats.mjs'

const { values } = parseArgs({
  options: {
    node: { type: 'string', default: process.execPath },
    workload: { type: 'string', multiple: true, default: ['get', 'echo'] },
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '1500' },
  },
})
const REQUESTS = Number(values.requests)
const WARMUP = Number(values.warmup)
const APPS = fileURLToPath(new URL('./apps/create-server.mjs', import.meta.url))

const SERVER = `
  const { get, echo } = await import(${JSON.stringify(APPS)})
  const server = ({ get, echo })[process.argv[1]]({ helper: process.argv[2] === '1' })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port))
  process.on('SIGTERM', () => process.exit(0))
`

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })

function requestOnce(port, workload) {
  return new Promise((resolve, reject) => {
    const options = workload === 'get'
      ? { method: 'GET', path: '/hello/ada' }
      : { method: 'POST', path: '/json', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SMALL_JSON) } }
    const req = http.request({ host: '127.0.0.1', port, agent, ...options }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(workload === 'get' ? undefined : SMALL_JSON)
  })
}

async function load(port, workload, count) {
  let left = count
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (left-- > 0) await requestOnce(port, workload)
  }))
}

function measure(workload, helper) {
  return instructionsPerRequest({
    node: values.node,
    script: SERVER,
    args: [workload, helper ? '1' : '0'],
    load: (port, count) => load(port, workload, count),
    warmup: WARMUP,
    requests: REQUESTS,
  })
}

const version = execFileSync(values.node, ['--version'], { encoding: 'utf8' }).trim()
const rows = []
for (const workload of values.workload) {
  const plain = await measure(workload, false)
  const helped = await measure(workload, true)
  rows.push([workload, Math.round(plain / 1000), Math.round(helped / 1000), `${((1 - helped / plain) * 100).toFixed(1)}%`])
  console.error(`${version} ${workload}: ${Math.round(plain)} → ${Math.round(helped)} instructions per request`)
}
agent.destroy()
console.log(`Node ${version}, ${REQUESTS} requests after ${WARMUP} of warm-up, 8 keep-alive connections\n`)
console.log(table(['Request', 'k instructions/req, `http.createServer(app)`', 'k instructions/req, `createServer(app)`', 'fewer'], rows))
