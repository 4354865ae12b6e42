// Run a server script under valgrind's callgrind and count the instructions
// it spends per request: the script prints `port N` once listening; the
// server is warmed up, its counters are zeroed, `load(port, count)` sends the
// measured requests, and the counters are dumped. Shared by
// bench/instructions.mjs and bench/create-server-instructions.mjs.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/**
 * Instructions per request of `node [...flags] --input-type=module -e script ...args`.
 * `load(port, count)` sends `count` requests and resolves when all are answered.
 */
export async function instructionsPerRequest({ node, flags = [], script, args = [], load, warmup, requests }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'shim-callgrind-'))
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${dir}/out`, node, ...flags, '--input-type=module', '-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  try {
    let output = ''
    child.stdout.setEncoding('utf8')
    while (!/port (\d+)/.test(output)) {
      const [chunk] = await once(child.stdout, 'data')
      output += chunk
    }
    const port = Number(/port (\d+)/.exec(output)[1])
    await load(port, warmup)
    execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' })
    await load(port, requests)
    execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' })
    const dump = readdirSync(dir).find((f) => f.startsWith('out.'))
    const totals = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(path.join(dir, dump), 'utf8'))
    return Number(totals[1]) / requests
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
    rmSync(dir, { recursive: true, force: true })
  }
}
