'use strict'
/**
 * Mocha reporter for the compat harness (Mocha 6 to 11): appends one JSON
 * line per test outcome to the file named by COMPAT_RESULTS as it happens, so
 * a run killed for hanging still leaves the outcomes so far, and a final
 * `{"end":true}` line. Prints one line per outcome for the run's log.
 */
const fs = require('node:fs')
const path = require('node:path')
const { idFor, firstLine } = require('./ids.cjs')

function CompatReporter(runner) {
  const out = process.env.COMPAT_RESULTS
  if (!out) throw new Error('compat mocha reporter: COMPAT_RESULTS is not set')
  const ids = new Map()
  const taken = new Set()

  function fileOf(runnable) {
    for (let node = runnable; node; node = node.parent) {
      if (node.file) return path.relative(process.cwd(), node.file)
    }
    return ''
  }

  function titlesOf(runnable) {
    const titles = []
    for (let node = runnable; node; node = node.parent) {
      if (node.title) titles.unshift(node.title)
    }
    return titles
  }

  function record(runnable, state, err) {
    let id = ids.get(runnable)
    if (id === undefined) {
      id = idFor(fileOf(runnable), titlesOf(runnable), taken)
      ids.set(runnable, id)
    }
    const line = { id, state }
    if (err) line.error = firstLine(err)
    fs.appendFileSync(out, JSON.stringify(line) + '\n')
    process.stdout.write(`${state === 'passed' ? 'ok  ' : state === 'failed' ? 'FAIL' : 'skip'} ${id}${line.error ? ' — ' + line.error : ''}\n`)
  }

  runner.on('pass', (test) => record(test, 'passed'))
  runner.on('fail', (test, err) => record(test, 'failed', err))
  runner.on('pending', (test) => record(test, 'pending'))
  runner.on('end', () => fs.appendFileSync(out, JSON.stringify({ end: true }) + '\n'))
}

module.exports = CompatReporter
