// The parent's side of a server process: start it, ask it for memory
// figures, stop it.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CHILD = fileURLToPath(new URL('./server-child.mjs', import.meta.url))

import { pin } from './machine.mjs'

let profileDir
let started = 0
let nodeBinary = process.execPath
let serverCpus
/** Pin every server process started from now on (all its threads) to `cpus`, as taskset(1) takes them. */
export function pinServersTo(cpus) {
  serverCpus = cpus
}
/** Run every server process started from now on with this Node binary. */
export function runServersOn(binary) {
  nodeBinary = binary
}

/** Write a V8 CPU profile of every server process started from now on into `dir`. */
export function profileServersInto(dir) {
  profileDir = dir
}

function profileFlags(spec, options) {
  if (profileDir === undefined) return []
  const slug = [spec.replace(':', '-'), ...Object.values(options).map(String)].join('-').replace(/[^\w.-]+/g, '_')
  return ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${slug}-${process.pid}-${started}.cpuprofile`]
}

/**
 * Start `spec` (`'<apps module>:<factory>'`) in its own process.
 * @returns {Promise<{ name: string, port: number, pid: number, reset(): Promise<object>, peak(): Promise<object>, stop(): Promise<void> }>}
 */
export function startServer(spec, options = {}) {
  started++
  const child = fork(CHILD, [spec, JSON.stringify(options)], {
    execPath: nodeBinary,
    execArgv: ['--expose-gc', ...profileFlags(spec, options)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let nextId = 0
  const pending = new Map()
  child.on('message', (message) => {
    const waiter = pending.get(message.id)
    if (waiter !== undefined) {
      pending.delete(message.id)
      waiter.resolve(message)
    }
  })
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`server ${spec} exited with ${code}`))
    pending.clear()
  })
  function ask(type) {
    return new Promise((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve, reject })
      child.send({ type, id })
    })
  }
  if (serverCpus !== undefined) pin(child.pid, serverCpus)
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`server ${spec} exited with ${code} before listening`))
    child.once('exit', onExit)
    child.on('message', function onReady(message) {
      if (message.type !== 'ready') return
      child.off('message', onReady)
      child.off('exit', onExit)
      resolve({
        name: spec,
        port: message.port,
        pid: child.pid,
        reset: () => ask('reset'),
        /** Peak RSS since the last reset: the kernel's VmHWM when it could be reset, else the sampled one. */
        peak: () => ask('peak'),
        /** CPU time the server process has used, in µs (`process.cpuUsage()`). */
        cpu: () => ask('cpu'),
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done()
            child.once('exit', () => done())
            child.send({ type: 'stop' })
          }),
      })
    })
  })
}

/**
 * Reset the server's peak RSS, run `fn`, and return its result along with
 * the growth of peak RSS over the baseline taken just before.
 */
export async function measureMemory(server, fn) {
  const { baseline, kernelReset } = await server.reset()
  const result = await fn()
  const { hwm, sampled } = await server.peak()
  const peakRss = kernelReset && hwm !== undefined ? Math.max(hwm, sampled) : sampled
  return { result, baseline, peakRss, growth: peakRss - baseline }
}

/**
 * Start a fresh server for one measured run: warm it up with `warmUp(server)`,
 * then measure `fn(server)` from a clean baseline, and stop it. A fresh
 * process per run matters for memory: the allocator keeps the pages a
 * previous run freed, so a reused process under-reports the next run's peak.
 */
export async function freshRun(spec, options, warmUp, fn) {
  const server = await startServer(spec, options)
  try {
    await warmUp(server)
    return await measureMemory(server, () => fn(server))
  } finally {
    await server.stop()
  }
}
