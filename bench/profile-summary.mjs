#!/usr/bin/env node
// Summarize V8 CPU profiles (from `npm run bench -- --cpu-prof`): the
// functions with the most self time, and the time spent in stream-shim's code
// and what it calls, stopping where it hands back to the framework (a
// middleware's total time would include the rest of the request: `next()`).
//
//   node bench/profile-summary.mjs bench/profiles/express-jsonShim-*.cpuprofile [--top=25]
//   node bench/profile-summary.mjs express-jsonExpress-*.cpuprofile --ours='^~/(body-parser|raw-body)/'   # a peer, the same way
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, ours: { type: 'string', default: '^dist/' } } })
const OURS = new RegExp(values.ours)
const top = Number(values.top)

function where(frame) {
  const url = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/').replace(/^.*\/dist\/cjs\//, 'dist/')
  return url ? `${url}:${frame.lineNumber + 1}` : ''
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  // Self time per node from the sample counts.
  const selfSamples = new Map()
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1)
  const total = profile.samples.length
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((sum, n) => sum + (selfSamples.get(n.id) ?? 0), 0)
  const busy = total - idle

  const self = new Map()
  for (const [id, count] of selfSamples) {
    const node = byId.get(id)
    if (node.callFrame.functionName === '(idle)') continue
    const key = `${node.callFrame.functionName || '(anonymous)'} ${where(node.callFrame)}`
    self.set(key, (self.get(key) ?? 0) + count)
  }

  const pct = (n) => `${((n / busy) * 100).toFixed(1).padStart(5)}%`
  console.log(`\n# ${file}\n${busy} busy samples of ${total} (${((busy / total) * 100).toFixed(0)}% busy); percentages of busy time\n`)
  console.log('## Self time')
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(n)}  ${key}`)
  // Attribute each sample whose stack reaches stream-shim's code (dist/)
  // before any framework or app frame to the innermost stream-shim function.
  const FRAMEWORK = /~\/(express|router|koa|@koa|fastify)\/|bench\/apps\//
  const ours = new Map()
  const oursLeaf = new Map()
  let oursTotal = 0
  for (const [id, count] of selfSamples) {
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at).callFrame
      const url = where(frame)
      if (FRAMEWORK.test(url)) break
      if (OURS.test(url)) {
        const key = `${frame.functionName || '(anonymous)'} ${url}`
        ours.set(key, (ours.get(key) ?? 0) + count)
        const leaf = byId.get(id).callFrame
        const leafKey = `${key}  →  ${leaf.functionName || '(anonymous)'} ${where(leaf)}`
        oursLeaf.set(leafKey, (oursLeaf.get(leafKey) ?? 0) + count)
        oursTotal += count
        break
      }
    }
  }
  console.log(`\n## stream-shim and what it calls, up to the framework: ${pct(oursTotal).trim()} of busy time`)
  for (const [key, n] of [...ours].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(n)}  ${key}`)
  console.log('\n## … by stream-shim function → leaf function')
  for (const [key, n] of [...oursLeaf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(n)}  ${key}`)
}
