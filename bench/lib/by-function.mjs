// Where a callgrind count goes, by function, JavaScript included. Callgrind
// names native functions itself, but code V8 compiles at run time is anonymous
// to it; with `node --perf-basic-prof`, V8 writes the address range of every
// function it compiles to /tmp/perf-<pid>.map, and with callgrind's
// `--dump-instr=yes` every instruction's address is in the dump. This joins
// the two. Used by `bench/instructions.mjs --by-function`.
import { existsSync, readFileSync, rmSync } from 'node:fs'

/** Valgrind options that make a dump this module can read. */
export const DUMP_OPTIONS = ['--dump-instr=yes', '--compress-pos=no', '--compress-strings=no']
/** Node's flag that writes the map of compiled code. */
export const NODE_FLAG = '--perf-basic-prof'

/** The ranges of compiled code in a perf map, sorted by start address. */
function readPerfMap(file) {
  const ranges = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const found = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)
    if (found === null) continue
    const start = BigInt('0x' + found[1])
    ranges.push({ start, end: start + BigInt('0x' + found[2]), name: found[3] })
  }
  return ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
}

function nameAt(ranges, address) {
  let low = 0
  let high = ranges.length - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    if (ranges[middle].start <= address) low = middle + 1
    else high = middle - 1
  }
  const range = ranges[high]
  return range !== undefined && address < range.end ? range.name : undefined
}

/**
 * A function's name as it reads best: V8's tier marks (`*`, `~`, `^`, `+`, `'`)
 * dropped, so that one function compiled several times counts once, and
 * paths cut to the package (`router/lib/layer.js`) or to `dist/`.
 */
function shortName(name) {
  return name
    .replace(/^JS:[*~^+']*/, '')
    .replace(/(?:file:\/\/)?\S*\/node_modules\//g, '')
    .replace(/\S*\/dist\/(?:cjs|esm)\//g, 'dist/')
}

/**
 * Instructions by function in a callgrind dump (self cost: what each
 * function ran itself, not what it called), with JIT-compiled code named
 * from the perf map. Deletes the perf map.
 */
export function instructionsByFunction(dumpFile, perfMapFile) {
  const ranges = existsSync(perfMapFile) ? readPerfMap(perfMapFile) : []
  rmSync(perfMapFile, { force: true })
  const totals = new Map()
  let fn = ''
  let object = ''
  let inclusiveLine = false
  for (const line of readFileSync(dumpFile, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) fn = line.slice(3)
    else if (line.startsWith('ob=')) object = line.slice(3)
    else if (line.startsWith('calls=')) inclusiveLine = true // the next cost line is the call's, not this function's
    else if (line.startsWith('0x')) {
      if (inclusiveLine) {
        inclusiveLine = false
        continue
      }
      const fields = line.split(' ')
      const count = Number(fields[fields.length - 1])
      const name = fn.startsWith('0x')
        ? shortName(nameAt(ranges, BigInt(fields[0])) ?? `(unnamed code in ${object.split('/').pop()})`)
        : `${fn} [${object.split('/').pop()}]`
      totals.set(name, (totals.get(name) ?? 0) + count)
    }
  }
  return totals
}
