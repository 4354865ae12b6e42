// The Node binary the server processes run on (`--node`): this process's own,
// a path to a binary, or a release from the npm package node@<version>,
// installed once under bench/node_modules/.node/.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const CACHE = fileURLToPath(new URL('../node_modules/.node/', import.meta.url))

/**
 * `undefined` → this process's node; a path (`--node=/opt/node/bin/node`) →
 * that binary; a version (`--node=24`, `--node=24.21.0`) → npm's node@24.
 */
export function resolveNodeBinary(spec) {
  if (spec === undefined) return process.execPath
  if (spec.includes('/')) {
    if (!existsSync(spec)) throw new Error(`--node: no file ${spec}`)
    return spec
  }
  if (!/^\d+(\.\d+){0,2}$/.test(spec)) throw new TypeError(`--node must be a version such as 24 or a path to a node binary, got ${spec}`)
  const prefix = `${CACHE}${spec}`
  const binary = `${prefix}/node_modules/.bin/node`
  if (!existsSync(binary)) {
    console.error(`Installing node@${spec} into ${prefix}…`)
    // node@<version> fetches its binary in a preinstall script: allow that one by name.
    mkdirSync(prefix, { recursive: true })
    writeFileSync(`${prefix}/package.json`, '{ "private": true, "allowScripts": { "node": true } }\n')
    execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', `node@${spec}`], {
      stdio: ['ignore', process.stderr, process.stderr],
    })
  }
  return binary
}

/** What `binary --version` says, e.g. `v24.21.0`. */
export function nodeVersion(binary) {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()
}
