// What the numbers were measured on.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'

export function describeMachine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (match) cpu = match[1].trim()
  } catch {
    // Not Linux: keep the model os.cpus() reports.
  }
  let cores = os.availableParallelism()
  try {
    cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim())
  } catch {
    // No nproc: keep os.availableParallelism().
  }
  return {
    cores,
    cpu,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  }
}

/**
 * Pin every thread of process `pid` to the CPUs in `cpus` ('0', '1', '0,1')
 * with taskset(1). Returns false where that cannot be done (no taskset, one
 * core): the measurement then runs unpinned.
 */
export function pin(pid, cpus) {
  // os.cpus(), not availableParallelism(): the latter is this process's
  // affinity, a single CPU once the parent has pinned itself.
  if (os.cpus().length < 2) return false
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Servers on CPU 0, this process (load generator and clients) on CPU 1, for
 * the whole run: a client and a server sharing a core in one run and not in
 * the next make a figure bimodal (a 1 GiB streamed response measured 700 or
 * 2000 MiB/s for the same server, by round). Returns a description for the
 * results, or undefined where pinning cannot be done (one core, no taskset).
 */
export function pinRun(pinServersTo) {
  // Servers are forked from this process and inherit its affinity until they are pinned.
  if (!pin(process.pid, '1')) return undefined
  pinServersTo('0')
  return 'server processes pinned to CPU 0 with all their threads (V8\'s GC and compiler work counts), the load generator and clients to CPU 1 (`taskset`)'
}
