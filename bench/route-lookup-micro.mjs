#!/usr/bin/env node
// The Express route lookup on its own, in one process: nanoseconds per
// `markedRoute()` call on scenario 4's app (10, 100 or 1000 routes), for a
// new path every call (no cached decision: a walk) and for three paths
// repeated (cached). The request is a plain object with the fields the lookup
// reads (app, method, url, baseUrl), so nothing else is timed. Needs
// `npm run build`; a few seconds.
//
//   node bench/route-lookup-micro.mjs [--routes=1000] [--calls=200000]
import { parseArgs } from 'node:util'
import { distinctPutPath, manyRoutes, putPaths } from './apps/routes.mjs'
import { expressRouteLookup } from './lib/shim.mjs'

const { values } = parseArgs({ options: { routes: { type: 'string', default: '1000' }, calls: { type: 'string', default: '200000' } } })
const COUNT = Number(values.routes)
const CALLS = Number(values.calls)

const app = manyRoutes({ count: COUNT, shim: true }).listeners('request')[0]
const resolve = expressRouteLookup.createRouteResolver()
const put = (url) => ({ app, method: 'PUT', url, baseUrl: '' })

function time(makeRequest) {
  const requests = Array.from({ length: CALLS }, (_, i) => makeRequest(i))
  const started = process.hrtime.bigint()
  for (const req of requests) resolve.markedRoute(req)
  return Number(process.hrtime.bigint() - started) / CALLS
}

let next = 0
const repeated = putPaths(COUNT).map(put)
const rows = {
  'PUT, a new path every call': () => put(distinctPutPath(COUNT, next++)),
  [`PUT, ${repeated.length} paths repeated`]: (i) => repeated[i % repeated.length],
  // No marked handler serves POST in this app: the app's summary answers, without a walk.
  'POST, a new path every call': () => ({ ...put(distinctPutPath(COUNT, next++)), method: 'POST' }),
}
const rounds = Object.fromEntries(Object.keys(rows).map((label) => [label, []]))
for (let round = 0; round < 5; round++) {
  for (const [label, makeRequest] of Object.entries(rows)) rounds[label].push(time(makeRequest))
}
console.log(`Node ${process.version}, ${COUNT} routes, ${CALLS} calls per round; median of 5 rounds (the first warms up)`)
for (const [label, ns] of Object.entries(rounds)) {
  const sorted = ns.slice(1).sort((a, b) => a - b)
  console.log(`  ${label}: ${Math.round((sorted[1] + sorted[2]) / 2)} ns per lookup`)
}
