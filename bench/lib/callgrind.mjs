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
 * With `windows` above 1, that many windows of `requests` each are counted
 * one after the other, and the count is the median window's (the lower
 * middle one for an even number; give an odd one): a window where
 * V8 compiled or deoptimized a batch of functions (which happens now and
 * then in both apps long after warm-up, and adds thousands of instructions
 * per request to that window) then does not decide the result. `onWindows`
 * gets every window's count.
 * With `byFunction`, `onFunctions` gets a Map from function name to
 * instructions per request (see by-function.mjs) in the median window; the
 * count is slower to take.
 */
export async function instructionsPerRequest({ node, flags = [], script, args = [], load, warmup, requests, windows = 1, byFunction = false, onFunctions, onWindows }) {
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
    // Each dump zeroes the counters after it, so each file holds one window.
    for (let window = 0; window < windows; window++) {
      await load(port, requests)
      execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' })
    }
    const dumps = readdirSync(dir)
      .filter((f) => /^out\.\d+$/.test(f))
      .map((f) => {
        const text = readFileSync(path.join(dir, f), 'utf8')
        return { file: path.join(dir, f), perRequest: Number(/^(?:summary|totals):\s+(\d+)/m.exec(text)[1]) / requests }
      })
      .sort((a, b) => a.perRequest - b.perRequest)
    onWindows?.(dumps.map((dump) => dump.perRequest))
    const median = dumps[(dumps.length - 1) >> 1]
    if (byFunction) {
      const functions = instructionsByFunction(median.file, `/tmp/perf-${child.pid}.map`)
      onFunctions?.(new Map([...functions].map(([name, count]) => [name, count / requests])))
    }
    return median.perRequest
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
    rmSync(dir, { recursive: true, force: true })
    if (byFunction) rmSync(`/tmp/perf-${child.pid}.map`, { force: true })
  }
}
