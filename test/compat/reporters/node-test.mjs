/**
 * node:test reporter for the compat harness: one JSON line per test outcome
 * (suites left out, as in node's own counts), then `{"end":true}`. Use with
 * `--test-reporter=<this file> --test-reporter-destination=<results file>`.
 */
import path from 'node:path'
import { createRequire } from 'node:module'

const { idFor, firstLine } = createRequire(import.meta.url)('./ids.cjs')

export default async function* compatReporter(source) {
  const stacks = new Map() // file -> titles of the tests started at each nesting level
  const taken = new Set()
  for await (const event of source) {
    const { type, data } = event
    if (type !== 'test:start' && type !== 'test:pass' && type !== 'test:fail') continue
    const file = data.file ? path.relative(process.cwd(), data.file) : ''
    let stack = stacks.get(file)
    if (stack === undefined) stacks.set(file, (stack = []))
    if (type === 'test:start') {
      stack.length = data.nesting
      stack.push(data.name)
      continue
    }
    if (data.details && data.details.type === 'suite') continue
    const titles = [...stack.slice(0, data.nesting), data.name]
    const state = data.skip !== undefined || data.todo !== undefined ? 'pending' : type === 'test:pass' ? 'passed' : 'failed'
    const line = { id: idFor(file, titles, taken), state }
    if (state === 'failed') line.error = firstLine(data.details && data.details.error)
    yield JSON.stringify(line) + '\n'
  }
  yield JSON.stringify({ end: true }) + '\n'
}
