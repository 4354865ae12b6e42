/**
 * The suites the harness knows, found by the checkout's package name, and
 * their modes. Each suite runs as its own `npm test` does, with the harness's
 * reporter, and without `--bail` so that every failure is listed.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const preload = (name) => path.join(here, 'preload', name)
const shimModule = (name) => path.join(here, 'shims', name)

/** A mode that puts a shim module where the suite's `require('..')` lands. */
function redirectMain(target) {
  return { preloads: [preload('redirect-main.cjs')], env: { COMPAT_REDIRECT_TO: target } }
}

const express = {
  name: 'express',
  describe: 'Express 4 or 5 (expressjs/express, master or 4.x): test/ and test/acceptance/',
  matches: (pkg) => pkg.name === 'express',
  runner: 'mocha',
  args: () => ['--require', 'test/support/env', '--check-leaks', 'test/', 'test/acceptance/'],
  modes: {
    baseline: {},
    'shim-first': { preloads: [preload('express-shim-first.cjs')] },
    'drop-ins': { preloads: [preload('express-drop-ins.cjs')] },
    'create-server': {
      preloads: [preload('express-create-server.cjs')],
      unavailable: (shim) => typeof shim.express?.createServer === 'function'
        ? undefined
        : 'stream-shim/express has no createServer export in this build (issue 14 not merged there)',
    },
  },
}

const bodyParser = {
  name: 'body-parser',
  describe: 'body-parser 1.x or 2.x (expressjs/body-parser): test/',
  matches: (pkg) => pkg.name === 'body-parser',
  runner: 'mocha',
  args: (pkg) => major(pkg) < 2
    ? ['--require', 'test/support/env', '--check-leaks', 'test/']
    : ['--check-leaks', 'test/'],
  modes: {
    baseline: {},
    'drop-ins': redirectMain(shimModule('body-parser.cjs')),
  },
}

const koaBodyparser = {
  name: 'koa-bodyparser',
  describe: '@koa/bodyparser 6 (jest, koajs/bodyparser master) or koa-bodyparser 4 (mocha, its 4.x branch)',
  matches: (pkg) => pkg.name === '@koa/bodyparser' || pkg.name === 'koa-bodyparser',
  runner: (pkg) => (pkg.name === '@koa/bodyparser' ? 'jest' : 'mocha'),
  args: (pkg) => pkg.name === '@koa/bodyparser'
    ? ['--detectOpenHandles']
    : ['--require', 'should', '--exit', 'test/*.spec.js'],
  modes: {
    baseline: {},
    // @koa/bodyparser's tests import the factory from ../src (TypeScript under
    // ts-jest); koa-bodyparser 4's require('..').
    replace: (pkg) => pkg.name === '@koa/bodyparser'
      ? { moduleNameMapper: { '^\\.\\./src$': shimModule('koa-bodyparser.cjs') } }
      : redirectMain(shimModule('koa-bodyparser.cjs')),
  },
}

const koaRouter = {
  name: 'koa-router',
  describe: '@koa/router (koajs/router): test/ and recipes/, as its test:all without lint',
  matches: (pkg) => pkg.name === '@koa/router',
  runner: 'node-test',
  env: { TS_NODE_PROJECT: 'tsconfig.ts-node.json' },
  // test/index.test.ts checks the built package: build it once.
  prepare: (dir) => (fs.existsSync(path.join(dir, 'dist', 'index.js')) ? undefined : ['npm', 'run', 'build']),
  args: (pkg, dir) => [
    '--require', 'ts-node/register',
    ...globTests(dir, ['test', 'test/utils', ...subdirs(dir, 'recipes')]),
  ],
  modes: {
    baseline: {},
    'shim-first': { preloads: [preload('koa-shim-first.cjs')] },
  },
}

export const suites = [express, bodyParser, koaBodyparser, koaRouter]

/** The suite a checkout holds, by its package.json name. */
export function suiteFor(pkg) {
  return suites.find((suite) => suite.matches(pkg))
}

/** The mode's settings for this checkout (some modes depend on the package). */
export function modeSettings(suite, mode, pkg) {
  const settings = suite.modes[mode]
  return typeof settings === 'function' ? settings(pkg) : settings
}

export function major(pkg) {
  return Number.parseInt(String(pkg.version).split('.')[0], 10)
}

function subdirs(dir, under) {
  const root = path.join(dir, under)
  if (!fs.existsSync(root)) return []
  return fs.readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(under, entry.name))
    .sort()
}

/** `*.test.ts` files directly in each folder, sorted (node 20's --test takes no globs). */
function globTests(dir, folders) {
  return folders.flatMap((folder) => {
    const abs = path.join(dir, folder)
    if (!fs.existsSync(abs)) return []
    return fs.readdirSync(abs).filter((name) => name.endsWith('.test.ts')).sort().map((name) => path.join(folder, name))
  })
}
