#!/usr/bin/env node
/**
 * Run other projects' own test suites with stream-shim in place, and list the
 * tests that fail with it but pass without it.
 *
 *   node test/compat/run.mjs <checkout>... [--mode a,b] [--shim <stream-shim root>]
 *        [--out <dir>] [--report-dir <dir>] [--timeout <s>] [--reuse-baseline]
 *        [--shim-options <json>] [--parser-options <json>] [--build] [--no-install]
 *
 * The kind of suite is found from the checkout's package.json name (see
 * suites.mjs and README.md). Nothing is fetched except the checkout's own npm
 * dependencies, installed with `npm install` when its node_modules is missing.
 * Exit code: 0 when no mode has a new failure, 1 when one has, 2 on a usage or
 * setup error.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compare, readResults } from './results.mjs'
import { major, modeSettings, suiteFor, suites } from './suites.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const { shimEntry } = require('./support/stream-shim.cjs')

const USAGE = `usage: npm run compat -- <checkout>... [options]

Runs each checkout's own test suite in baseline and in stream-shim modes.
Suites: ${suites.map((s) => `\n  ${s.name.padEnd(15)} ${s.describe}; modes: ${Object.keys(s.modes).join(', ')}`).join('')}

Options:
  --mode a,b            modes to run (default: all of the suite's); baseline always runs first
  --shim <dir>          stream-shim root whose dist/ is tested (default: this repository; env STREAM_SHIM_ROOT)
  --build               run \`npm run build\` in the stream-shim root first
  --out <dir>           where per-mode results and logs go (default: ${path.join(os.tmpdir(), 'stream-shim-compat')}/<package>)
  --report-dir <dir>    also write compat-<package>.txt there with every list in full
  --timeout <s>         kill a mode's run after this many seconds (default 300)
  --reuse-baseline      reuse a complete baseline from --out instead of running it again
  --shim-options <json> options for every streamShim() the shim-first modes mount
  --parser-options <json> defaults under the options of every drop-in parser call
  --no-install          fail instead of running \`npm install\` in a checkout without node_modules
`

async function main() {
  let parsed
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        mode: { type: 'string' },
        shim: { type: 'string' },
        build: { type: 'boolean' },
        out: { type: 'string' },
        'report-dir': { type: 'string' },
        timeout: { type: 'string' },
        'reuse-baseline': { type: 'boolean' },
        'shim-options': { type: 'string' },
        'parser-options': { type: 'string' },
        'no-install': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    return usageError(err.message)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  if (positionals.length === 0) return usageError('give the path of at least one checkout')
  for (const name of ['shim-options', 'parser-options']) {
    if (values[name] !== undefined) {
      try {
        JSON.parse(values[name])
      } catch (err) {
        return usageError(`--${name} is not valid JSON: ${err.message}`)
      }
    }
  }
  const timeout = values.timeout === undefined ? 300 : Number(values.timeout)
  if (!(timeout > 0)) return usageError('--timeout must be a positive number of seconds')

  // `npm run compat` runs in the repository root: paths are taken from where npm was started.
  const base = process.env.INIT_CWD || process.cwd()
  const shimRoot = path.resolve(base, values.shim || process.env.STREAM_SHIM_ROOT || path.join(here, '..', '..'))
  if (values.build) run('npm', ['run', 'build', '--silent'], shimRoot)
  const shim = describeShim(shimRoot)
  if (typeof shim === 'string') return setupError(shim)

  let failed = false
  for (const positional of positionals) {
    const dir = path.resolve(base, positional)
    const outcome = await runCheckout(dir, { ...values, timeout, shim, shimRoot, base })
    if (outcome === 'error') return 2
    if (outcome === 'regressed') failed = true
  }
  return failed ? 1 : 0
}

/** The build under test, or a sentence saying why it cannot be used. */
function describeShim(root) {
  let pkg
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  } catch {
    return `no package.json in the stream-shim root ${root}`
  }
  const info = { root, version: pkg.version, revision: gitRevision(root) }
  try {
    info.express = require(shimEntry('./express', root))
    info.koa = require(shimEntry('./koa', root))
  } catch (err) {
    return err.message
  }
  info.stale = staleBuild(root, shimEntry('.', root))
  return info
}

/** Whether a source file is newer than the build (a forgotten `npm run build`). */
function staleBuild(root, builtFile) {
  const built = fs.statSync(builtFile).mtimeMs
  for (const folder of ['lib', 'adapters']) {
    const dir = path.join(root, folder)
    if (!fs.existsSync(dir)) continue
    for (const name of fs.readdirSync(dir, { recursive: true })) {
      if (String(name).endsWith('.ts') && fs.statSync(path.join(dir, String(name))).mtimeMs > built) return true
    }
  }
  return false
}

async function runCheckout(dir, options) {
  let pkg
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  } catch {
    setupError(`${dir} is not a checkout with a package.json`)
    return 'error'
  }
  const suite = suiteFor(pkg)
  if (!suite) {
    setupError(`${dir} holds ${pkg.name}, which no suite here knows (known: ${suites.map((s) => s.name).join(', ')})`)
    return 'error'
  }
  const label = `${pkg.name}@${pkg.version}`
  const available = Object.keys(suite.modes)
  const requested = options.mode ? options.mode.split(',').map((m) => m.trim()).filter(Boolean) : available
  const unknown = requested.filter((mode) => !available.includes(mode))
  if (unknown.length > 0) {
    setupError(`${label}: unknown mode ${unknown.join(', ')} (modes: ${available.join(', ')})`)
    return 'error'
  }
  const modes = ['baseline', ...requested.filter((mode) => mode !== 'baseline')]
  const out = path.resolve(options.base, options.out || path.join(os.tmpdir(), 'stream-shim-compat'), slug(label))
  fs.mkdirSync(out, { recursive: true })

  const runner = typeof suite.runner === 'function' ? suite.runner(pkg) : suite.runner
  if (!installed(dir, runner)) {
    if (options['no-install']) {
      setupError(`${dir}: dependencies are not installed (run npm install there, or drop --no-install)`)
      return 'error'
    }
    log(`${label}: installing the checkout's dependencies (npm install)`)
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], dir)
  }
  const preparation = suite.prepare?.(dir)
  if (preparation) {
    log(`${label}: ${preparation.join(' ')}`)
    run(preparation[0], preparation.slice(1), dir)
  }

  const header = [
    `${label} (${suite.name} suite) at ${dir}${gitRevision(dir) ? ` [${gitRevision(dir)}]` : ''}`,
    `stream-shim ${options.shim.version} at ${options.shim.root}${options.shim.revision ? ` [${options.shim.revision}]` : ''}; node ${process.version}`,
  ]
  if (options.shim.stale) header.push('WARNING: a source file is newer than the stream-shim build (npm run build, or pass --build)')
  for (const line of header) log(line)

  const runs = {}
  for (const mode of modes) {
    const settings = modeSettings(suite, mode, pkg)
    const reason = settings.unavailable?.(options.shim)
    if (reason) {
      runs[mode] = { skipped: reason }
      log(`${label} ${mode}: SKIPPED, ${reason}`)
      continue
    }
    if (mode === 'baseline' && options['reuse-baseline']) {
      const previous = readResults(path.join(out, 'baseline'), runner, dir)
      if (previous.complete) {
        runs[mode] = { ...previous, reused: true, seconds: 0, engagement: new Map() }
        log(`${label} baseline: reused from ${out}`)
        continue
      }
    }
    log(`${label} ${mode}: running`)
    runs[mode] = await runMode({ suite, runner, mode, settings, dir, pkg, out, options })
  }

  const report = summarize(label, header, runs, modes)
  process.stdout.write(report.summary)
  if (options['report-dir']) {
    const reportDir = path.resolve(options.base, options['report-dir'])
    fs.mkdirSync(reportDir, { recursive: true })
    const file = path.join(reportDir, `compat-${slug(label)}.txt`)
    fs.writeFileSync(file, report.full)
    log(`${label}: full lists written to ${file}`)
  }
  log(`${label}: per-mode results and logs in ${out}`)
  return report.regressed ? 'regressed' : 'ok'
}

/** Run one mode of a suite in a child process, bounded by the timeout. */
async function runMode({ suite, runner, mode, settings, dir, pkg, out, options }) {
  const stem = path.join(out, mode)
  const resultsFile = `${stem}.${runner === 'jest' ? 'json' : 'jsonl'}`
  const engagementFile = `${stem}.engaged`
  for (const file of [resultsFile, engagementFile]) fs.rmSync(file, { force: true })

  const env = {
    ...process.env,
    ...suite.env,
    ...settings.env,
    STREAM_SHIM_ROOT: options.shim.root,
    COMPAT_CHECKOUT: dir,
    COMPAT_RESULTS: resultsFile,
    COMPAT_ENGAGEMENT: engagementFile,
    COMPAT_PACKAGE_MAJOR: String(major(pkg)),
  }
  if (options['shim-options'] !== undefined) env.STREAM_SHIM_COMPAT_SHIM_OPTIONS = options['shim-options']
  if (options['parser-options'] !== undefined) env.STREAM_SHIM_COMPAT_PARSER_OPTIONS = options['parser-options']
  if (settings.preloads?.length) {
    // NODE_OPTIONS reaches every process the suite starts (node --test runs each file in its own).
    const requires = settings.preloads.map((file) => `--require ${JSON.stringify(file)}`).join(' ')
    env.NODE_OPTIONS = [process.env.NODE_OPTIONS, requires].filter(Boolean).join(' ')
  }

  const argv = commandLine(runner, dir, suite.args(pkg, dir), resultsFile, settings)
  const logFile = `${stem}.log`
  const logFd = fs.openSync(logFile, 'w')
  const shown = [...Object.keys({ ...suite.env, ...settings.env }), ...(settings.preloads?.length ? ['NODE_OPTIONS'] : [])]
  fs.writeSync(logFd, `$ cd ${dir} && ${shown.map((k) => `${k}='${env[k]}' `).join('')}node ${argv.join(' ')}\n\n`)
  const started = Date.now()
  const child = spawn(process.execPath, argv, { cwd: dir, env, detached: true, stdio: ['ignore', logFd, logFd] })
  fs.closeSync(logFd)

  const notes = []
  const exit = await new Promise((resolve) => {
    let endedAt
    const poll = setInterval(() => {
      if (endedAt === undefined && finished(resultsFile, runner)) endedAt = Date.now()
      if (endedAt !== undefined && Date.now() - endedAt > 10_000) {
        notes.push('the suite ended but its process did not exit within 10 s (open handles); killed')
        stop()
      } else if (Date.now() - started > options.timeout * 1000) {
        notes.push(`killed after ${options.timeout} s (--timeout)`)
        stop()
      }
    }, 250)
    function stop() {
      clearInterval(poll)
      killGroup(child.pid)
    }
    child.on('exit', (code, signal) => {
      clearInterval(poll)
      resolve({ code, signal })
    })
  })
  const results = readResults(stem, runner, dir)
  if (!results.complete) {
    const cause = firstErrorLine(logFile)
    notes.push(`the run did not complete (exit ${exit.code ?? exit.signal})${cause ? `: ${cause}` : ''}; see ${logFile}`)
  }
  return {
    ...results,
    seconds: (Date.now() - started) / 1000,
    exit,
    notes,
    engagement: countLines(engagementFile),
  }
}

function commandLine(runner, dir, args, resultsFile, settings) {
  if (runner === 'mocha') {
    return [binOf(dir, 'mocha', '_mocha'), '--reporter', path.join(here, 'reporters', 'mocha.cjs'), ...args]
  }
  if (runner === 'jest') {
    const jest = binOf(dir, 'jest', 'jest')
    const mapper = settings.moduleNameMapper ? ['--moduleNameMapper', JSON.stringify(settings.moduleNameMapper)] : []
    return [jest, '--ci', '--watchman=false', '--json', `--outputFile=${resultsFile}`, ...mapper, ...args]
  }
  if (runner === 'node-test') {
    return [
      '--test',
      '--test-timeout=60000',
      '--test-reporter=dot', '--test-reporter-destination=stdout',
      `--test-reporter=${path.join(here, 'reporters', 'node-test.mjs')}`, `--test-reporter-destination=${resultsFile}`,
      ...args,
    ]
  }
  throw new Error(`unknown runner ${runner}`)
}

/** The file of a package's command, as the checkout has it installed. */
function binOf(dir, name, command) {
  const pkgFile = createRequire(path.join(dir, 'package.json')).resolve(`${name}/package.json`)
  const { bin } = JSON.parse(fs.readFileSync(pkgFile, 'utf8'))
  return path.join(path.dirname(pkgFile), typeof bin === 'string' ? bin : bin[command])
}

function finished(resultsFile, runner) {
  if (!fs.existsSync(resultsFile)) return false
  if (runner === 'jest') return true
  return fs.readFileSync(resultsFile, 'utf8').includes('{"end":true}')
}

function installed(dir, runner) {
  const from = createRequire(path.join(dir, 'package.json'))
  try {
    from.resolve(runner === 'node-test' ? 'ts-node/package.json' : `${runner}/package.json`)
    return true
  } catch {
    return false
  }
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGTERM')
  } catch {
    return
  }
  setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }, 3000).unref()
}

/** The printed summary and the full text report of one checkout. */
function summarize(label, header, runs, modes) {
  const baseline = runs.baseline
  const rows = [['mode', 'pass', 'fail', 'pending', 'new fail', 'not run', 'time']]
  const sections = []
  let regressed = false
  const engaged = []
  for (const mode of modes) {
    const r = runs[mode]
    if (r.skipped) {
      rows.push([mode, 'SKIPPED', '', '', '', '', ''])
      continue
    }
    const diff = mode === 'baseline' ? undefined : compare(baseline.tests, r.tests)
    if (diff && (diff.newFailures.length > 0 || diff.notRun.length > 0)) regressed = true
    if (!r.complete) regressed = true
    rows.push([
      mode,
      r.counts.passed,
      r.counts.failed,
      r.counts.pending,
      diff ? diff.newFailures.length : '-',
      diff ? diff.notRun.length : '-',
      r.reused ? 'reused' : `${r.seconds.toFixed(1)}s`,
    ])
    for (const [what, count] of r.engagement) engaged.push(`  ${mode}: ${count}× ${what}`)
    if (mode !== 'baseline' && r.engagement.size === 0) engaged.push(`  ${mode}: NOTHING was replaced — the mode did not take effect`)
    sections.push({ mode, r, diff })
  }

  const table = formatTable(rows)
  let summary = `\n${label}\n${table}`
  if (engaged.length > 0) summary += `engaged:\n${engaged.join('\n')}\n`
  for (const mode of modes) {
    if (runs[mode].skipped) summary += `${mode}: SKIPPED, ${runs[mode].skipped}\n`
  }
  let full = `${header.join('\n')}\n${new Date().toISOString()}\n\n${table}`
  if (engaged.length > 0) full += `engaged:\n${engaged.join('\n')}\n`
  for (const { mode, r, diff } of sections) {
    for (const note of r.notes || []) summary += `${mode}: ${note}\n`
    if (diff) {
      summary += list(`${mode}: new failures (fail here, pass in baseline)`, diff.newFailures)
      summary += list(`${mode}: not run here (pass in baseline)`, diff.notRun)
    }
    full += `\n== ${mode}${r.skipped ? '' : `: ${r.counts.passed} passing, ${r.counts.failed} failing, ${r.counts.pending} pending`}\n`
    for (const note of r.notes || []) full += `note: ${note}\n`
    if (diff) {
      full += list('New failures (fail here, pass in baseline)', diff.newFailures, true)
      full += list('Not run here (pass in baseline)', diff.notRun, true)
      full += list('Fixed (fail in baseline, pass here)', diff.fixed, true)
    }
    full += list('All failures in this mode', failuresOf(r.tests), true)
  }
  for (const mode of modes) {
    if (runs[mode].skipped) full += `\n== ${mode}: SKIPPED, ${runs[mode].skipped}\n`
  }
  return { summary, full, regressed }
}

function failuresOf(tests) {
  return [...tests].filter(([, t]) => t.state === 'failed').map(([id, t]) => ({ id, error: t.error }))
}

/** A titled list; `full` reports list everything, the printed summary its first 40 entries. */
function list(title, entries, full = false) {
  if (entries.length === 0) return full ? `${title}: none\n` : ''
  const shown = full ? entries : entries.slice(0, 40)
  const more = entries.length - shown.length
  return `${title} (${entries.length}):\n${shown.map((e) => `  ${e.id}${e.error ? `\n      ${e.error}` : ''}`).join('\n')}\n` +
    (more > 0 ? `  … and ${more} more (--report-dir writes every list in full)\n` : '')
}

function formatTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)))
  return rows.map((row) => row.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ')).join('\n') + '\n'
}

/** The first line of a log that names an error, to say why a run stopped. */
function firstErrorLine(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(1)
  const line = lines.find((l) => /Error|Exception/.test(l) && !/^(ok|FAIL|skip) /.test(l))
  return line ? line.trim().slice(0, 300) : undefined
}

function countLines(file) {
  const counts = new Map()
  if (!fs.existsSync(file)) return counts
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line) counts.set(line, (counts.get(line) || 0) + 1)
  }
  return counts
}

function gitRevision(dir) {
  try {
    return execFileSync('git', ['-C', dir, 'describe', '--always', '--dirty', '--tags'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd}`)
}

function slug(label) {
  return label.replace(/^@/, '').replace(/[^A-Za-z0-9._-]+/g, '-')
}

function log(line) {
  process.stderr.write(`[compat] ${line}\n`)
}

function usageError(message) {
  process.stderr.write(`${message}\n\n${USAGE}`)
  return 2
}

function setupError(message) {
  log(`error: ${message}`)
  return 2
}

main().then((code) => {
  process.exitCode = code
}, (err) => {
  log(`error: ${err.stack || err}`)
  process.exitCode = 2
})
