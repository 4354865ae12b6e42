/**
 * Reading a mode's results (the reporters' JSON lines, or Jest's --json
 * output) into one shape, and comparing a mode with the baseline.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

const { idFor, firstLine } = createRequire(import.meta.url)('./reporters/ids.cjs')
const RANK = { pending: 0, passed: 1, failed: 2 }

/**
 * `{ tests: Map<id, { state, error }>, counts, complete }` for the run whose
 * files start with `stem` (Jest's file names are made relative to `dir`). A test reported twice keeps its worst outcome
 * (Mocha reports a test that passed and then threw as both).
 */
export function readResults(stem, runner, dir) {
  const tests = new Map()
  let complete = false
  const add = (id, state, error) => {
    const prior = tests.get(id)
    if (!prior || RANK[state] > RANK[prior.state]) tests.set(id, error ? { state, error } : { state })
  }
  if (runner === 'jest') {
    const file = `${stem}.json`
    if (fs.existsSync(file)) {
      const report = JSON.parse(fs.readFileSync(file, 'utf8'))
      complete = true
      const taken = new Set()
      for (const suite of report.testResults) {
        const fileId = path.relative(dir, suite.name)
        if (suite.assertionResults.length === 0 && suite.status === 'failed') {
          add(idFor(fileId, ['(test file failed to run)'], taken), 'failed', firstLine({ message: stripAnsi(suite.message || '') }))
        }
        for (const test of suite.assertionResults) {
          const state = test.status === 'passed' ? 'passed' : test.status === 'failed' ? 'failed' : 'pending'
          const error = state === 'failed' ? firstLine({ message: stripAnsi(test.failureMessages.join('\n')) }) : undefined
          add(idFor(fileId, [...test.ancestorTitles, test.title], taken), state, error)
        }
      }
    }
  } else {
    const file = `${stem}.jsonl`
    if (fs.existsSync(file)) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue
        const entry = JSON.parse(line)
        if (entry.end) complete = true
        else add(entry.id, entry.state, entry.error)
      }
    }
  }
  const counts = { passed: 0, failed: 0, pending: 0 }
  for (const { state } of tests.values()) counts[state]++
  return { tests, counts, complete }
}

/** What changed from the baseline: new failures, tests that no longer ran, and fixes. */
export function compare(baseline, mode) {
  const newFailures = []
  const notRun = []
  const fixed = []
  for (const [id, test] of mode) {
    const before = baseline.get(id)
    if (test.state === 'failed' && before?.state !== 'failed') newFailures.push({ id, error: test.error })
    if (test.state === 'passed' && before?.state === 'failed') fixed.push({ id })
  }
  for (const [id, test] of baseline) {
    if (test.state === 'passed' && !mode.has(id)) notRun.push({ id })
  }
  return { newFailures, notRun, fixed }
}

function stripAnsi(text) {
  // eslint-disable-next-line no-control-regex -- an ANSI colour code starts with ESC
  return text.replace(/\u001b\[[0-9;]*m/g, '')
}
