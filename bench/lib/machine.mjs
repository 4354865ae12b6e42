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
