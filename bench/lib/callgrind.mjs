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
import { DUMP_OPTIONS, NODE_FLAG, instructionsByFunction } from './by-function.mjs'

/**
 * Instructions per request of `node [...flags] --input-type=module -e script ...args`.
 * `load(port, count)` sends `count` requests and resolves when all are answered.
 * With `byFunction`, `onFunctions` gets a Map from function name to
 * instructions per request (see by-function.mjs); the count is slower to take.
 */
export async function instructionsPerRequest({ node, flags = [], script, args = [], load, warmup, requests, byFunction = false, onFunctions }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'shim-callgrind-'))
  const valgrindOptions = byFunction ? DUMP_OPTIONS : []
  const nodeFlags = byFunction ? [...flags, NODE_FLAG] : flags
  // In the temporary folder, so that the isolate log --perf-basic-prof makes V8 write goes with it.
  const child = spawn('valgrind', ['--tool=callgrind', ...valgrindOptions, `--callgrind-out-file=${dir}/out`, node, ...nodeFlags, '--input-type=module', '-e', script, ...args], {
    cwd: dir,
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
    if (byFunction) {
      const functions = instructionsByFunction(path.join(dir, dump), `/tmp/perf-${child.pid}.map`)
      onFunctions?.(new Map([...functions].map(([name, count]) => [name, count / requests])))
    }
    return Number(totals[1]) / requests
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
    rmSync(dir, { recursive: true, force: true })
    if (byFunction) rmSync(`/tmp/perf-${child.pid}.map`, { force: true })
  }
}
