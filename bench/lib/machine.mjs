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
  if (os.availableParallelism() < 2) return false
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Run `fn` with the servers' processes on CPU 0 and this process (the
 * client) on CPU 1, then give every CPU back to all of them. A client and a
 * server sharing a core one round and not the next make a throughput figure
 * bimodal (on this 2-core machine: 700 or 2000 MiB/s for the same server).
 * Resolves with `fn`'s result and whether the pinning took.
 */
export async function pinned(serverPids, fn) {
  const all = `0-${os.availableParallelism() - 1}`
  const ok = pin(process.pid, '1') && serverPids.every((pid) => pin(pid, '0'))
  try {
    return { result: await fn(), pinned: ok }
  } finally {
    for (const pid of [process.pid, ...serverPids]) pin(pid, all)
  }
}
