// The server process: builds one app, listens on loopback and answers the
// parent's questions about its memory over IPC. One app per process, so the
// RSS figures are that app's alone.
//
// argv: <apps module>:<factory name> <JSON options>
import { readFileSync, writeFileSync } from 'node:fs'

const [spec, rawOptions = '{}'] = process.argv.slice(2)
const [moduleName, factoryName] = spec.split(':')
const apps = await import(new URL(`../apps/${moduleName}.mjs`, import.meta.url))
const factory = apps[factoryName]
if (typeof factory !== 'function') throw new Error(`no app ${spec}`)
const server = await factory(JSON.parse(rawOptions))
server.keepAliveTimeout = 60_000

// Sampled peak as a cross-check of the kernel's VmHWM (and the only figure
// where /proc is missing). 10 ms is fine-grained next to the 64 MiB buffers
// this is meant to catch: those live for far longer than 10 ms.
let sampledPeak = 0
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss()
  if (rss > sampledPeak) sampledPeak = rss
}, 10)
sampler.unref()

function procStatus(field) {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Collect garbage, then make the current RSS the new high-water mark. */
function reset() {
  globalThis.gc?.()
  globalThis.gc?.()
  let kernelReset = true
  try {
    writeFileSync('/proc/self/clear_refs', '5') // 5: reset VmHWM to the current RSS
  } catch {
    kernelReset = false
  }
  const baseline = process.memoryUsage.rss()
  sampledPeak = baseline
  return { baseline, kernelReset }
}

function peak() {
  const rss = process.memoryUsage.rss()
  if (rss > sampledPeak) sampledPeak = rss
  return { hwm: procStatus('VmHWM'), sampled: sampledPeak, rss }
}

process.on('message', (message) => {
  if (message.type === 'reset') process.send({ id: message.id, ...reset() })
  else if (message.type === 'peak') process.send({ id: message.id, ...peak() })
  else if (message.type === 'cpu') process.send({ id: message.id, ...process.cpuUsage() })
  else if (message.type === 'stop') {
    server.closeAllConnections?.()
    server.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 2000).unref()
  }
})
process.on('disconnect', () => process.exit(0))

server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port })
})
