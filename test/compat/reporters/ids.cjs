'use strict'
/** Test ids and error summaries shared by the harness's reporters. */

/** `file :: outer > inner > test`, made unique in `taken` by a ` (2)`, ` (3)` … suffix. */
function idFor(file, titles, taken) {
  const base = `${file} :: ${titles.join(' > ')}`
  let id = base
  for (let n = 2; taken.has(id); n++) id = `${base} (${n})`
  taken.add(id)
  return id
}

/** Why a test failed, on one line of at most 300 characters. */
function firstLine(err) {
  let error = err
  // node:test wraps the test's own error in an ERR_TEST_FAILURE.
  if (error && error.code === 'ERR_TEST_FAILURE' && error.cause) error = error.cause
  const text = error && typeof error === 'object'
    ? `${error.message !== undefined ? error.message : error}`
    : String(error)
  const line = text.split('\n').map((s) => s.trim()).filter((s) => s.length > 0).join(' ') || '(no message)'
  return line.length > 300 ? line.slice(0, 297) + '...' : line
}

module.exports = { idFor, firstLine }
