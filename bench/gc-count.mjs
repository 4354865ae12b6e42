#!/usr/bin/env node
// Garbage collections per fixed number of requests, by kind, for any of
// the apps instructions.mjs counts (scenario 2's, and scenario 4's as
// `routes:<count>:<pattern>:<json|shim>`): the server runs with --trace-gc-nvp, is warmed up, and
// the collections it reports while it serves the measured requests (1 KB JSON
// POSTs or as named, 8 keep-alive connections unless told) are counted, with their pauses
// and, for the young generation's collections (scavenges), the bytes that
// survived each. Unlike CPU time, the counts and the bytes do not depend on
// how busy the machine is. Objects that outlive their request show as bytes
// surviving (a request served holds next to nothing once it is answered), and
// they make V8 grow the young generation. Needs `npm run build`.
//
//   node bench/gc-count.mjs [--node=/path/to/node] [--requests=60000] [--warmup=10000] [--connections=8] express:jsonExpress express:jsonShim
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { APP_SERVER, appFor, closeClient, sendMany, useConnections } from './lib/app-client.mjs'
import { table } from './lib/stats.mjs'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    node: { type: 'string', default: process.execPath },
    requests: { type: 'string', default: '60000' },
    warmup: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '8' },
  },
})
useConnections(Number(values.connections))
const REQUESTS = Number(values.requests)
const WARMUP = Number(values.warmup)
const APPS = positionals.length > 0 ? positionals : ['express:jsonExpress', 'express:jsonShim', 'koa:jsonBodyparser', 'koa:jsonShim']

/** V8's names for the kinds of collection in a --trace-gc-nvp line ("gc":"s"). */
const KINDS = { s: 'Scavenge', mc: 'Mark-Compact', ms: 'Minor Mark-Sweep' }

/** What the server's collections did while it answered REQUESTS requests. */
async function collections(app) {
  const { args, request } = appFor(app)
  const child = spawn(values.node, ['--trace-gc-nvp', '--input-type=module', '-e', APP_SERVER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => (output += chunk))
  try {
    while (!/port (\d+)/.test(output)) await once(child.stdout, 'data')
    const port = Number(/port (\d+)/.exec(output)[1])
    await sendMany(WARMUP, () => request(port))
    const start = output.length
    await sendMany(REQUESTS, () => request(port))
    const result = { counts: {}, pause: 0, survived: 0, scavenges: 0 }
    // A --trace-gc-nvp line: "[pid:0x…]   1234 ms: GC: {"pause":0.8,…,"gc":"s",…,"new_space_survived":4096,…}".
    for (const [, json] of output.slice(start).matchAll(/ GC: (\{.*\})$/gm)) {
      const gc = JSON.parse(json)
      const kind = KINDS[gc.gc] ?? gc.gc
      result.counts[kind] = (result.counts[kind] ?? 0) + 1
      result.pause += gc.pause
      if (gc.gc === 's') {
        result.scavenges++
        result.survived += gc.new_space_survived
      }
    }
    return result
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

const results = new Map()
for (const app of APPS) results.set(app, await collections(app))
closeClient()
const kinds = [...new Set([...results.values()].flatMap((result) => Object.keys(result.counts)))].sort()
console.log(`${values.node}: collections during ${REQUESTS} requests (1 KB JSON POSTs, or as named) after ${WARMUP} of warm-up, ${values.connections} keep-alive connections\n`)
console.log(
  table(
    ['App', ...kinds, 'Pauses, ms in all', 'KB surviving a scavenge (mean)'],
    APPS.map((app) => {
      const { counts, pause, survived, scavenges } = results.get(app)
      return [app, ...kinds.map((kind) => counts[kind] ?? 0), pause.toFixed(0), scavenges === 0 ? '–' : (survived / scavenges / 1000).toFixed(1)]
    }),
  ),
)
