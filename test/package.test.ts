/**
 * The published package, as a user gets it: `npm pack`, install the tarball
 * into an empty project, then require() and import() every entry point and
 * type-check a consumer against the shipped .d.ts files.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const root = path.resolve(__dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } })
}

describe('the packed package', () => {
  let dir: string

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'stream-shim-pack-'))
    run(process.execPath, ['scripts/build.mjs'], root)
    run(npm, ['pack', '--pack-destination', dir], root)
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`, 'express@^5', 'koa@^3', '@koa/router@^15', '@types/express@^5', '@types/node@20', '@nestjs/common@^11', '@nestjs/core@^11', '@nestjs/platform-express@^11', 'reflect-metadata@^0.2', 'rxjs@^7'], dir)
  }, 180_000)

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('ships only the build, the docs and the licence', () => {
    const files = run(npm, ['pack', '--dry-run', '--json'], root)
    const listed = (JSON.parse(files)[0].files as Array<{ path: string }>).map((f) => f.path)
    expect(listed).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'dist/cjs/adapters/express/index.js', 'dist/esm/adapters/express/index.d.ts']))
    expect(listed.filter((f) => !/^(dist\/|bin\/stream-shim\.mjs$|LICENSE$|README\.md$|CHANGELOG\.md$|package\.json$)/.test(f))).toEqual([])
  })

  it.each(['stream-shim/express', 'stream-shim/koa', 'stream-shim'])('can be require()d as %s', (entry) => {
    const out = run(process.execPath, ['-e', `const m = require(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(m).sort()))`], dir)
    const keys = JSON.parse(out)
    expect(keys).toContain('BodyStream')
    if (entry !== 'stream-shim') expect(keys).toEqual(expect.arrayContaining(['streamShim', 'streaming', 'buffered']))
  })

  it.each(['stream-shim/express', 'stream-shim/koa', 'stream-shim'])('can be import()ed as %s', (entry) => {
    const script = `const m = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(m).sort()))`
    const out = run(process.execPath, ['--input-type=module', '-e', script], dir)
    const keys = JSON.parse(out)
    expect(keys).toContain('BodyStream')
    if (entry === 'stream-shim/express') expect(keys).toEqual(expect.arrayContaining(['json', 'urlencoded', 'text', 'raw']))
  })

  it.each([['require()d', ['-e']], ['import()ed', ['--input-type=module', '-e']]])('can be %s as stream-shim/nest', (_how, flags) => {
    const load = flags.length === 1 ? `require('stream-shim/nest')` : `await import('stream-shim/nest')`
    const out = run(process.execPath, [...flags, `const m = ${load}; console.log(JSON.stringify(Object.keys(m).sort()))`], dir)
    expect(JSON.parse(out)).toEqual(expect.arrayContaining(['BodyStream', 'Buffered', 'Streaming', 'installStreamShim', 'toHttpException']))
  })

  it('serves a streaming and a buffered route from the ESM build', () => {
    const script = `
      import express from 'express'
      import { streamShim, streaming } from 'stream-shim/express'
      const app = express()
      app.use(streamShim())
      app.post('/legacy', (req, res) => res.json(req.body))
      app.put('/up', streaming(async (req, res) => res.json({ n: (await req.bodyStream.buffer()).length })))
      const server = app.listen(0, '127.0.0.1', async () => {
        const base = 'http://127.0.0.1:' + server.address().port
        const a = await fetch(base + '/legacy', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' })
        const b = await fetch(base + '/up', { method: 'PUT', body: 'hello' })
        console.log(JSON.stringify([await a.json(), await b.json()]))
        server.close()
      })`
    const out = run(process.execPath, ['--input-type=module', '-e', script], dir)
    expect(JSON.parse(out)).toEqual([{ x: 1 }, { n: 5 }])
  })

  it('runs `npx stream-shim routes` on an app module, as a table and as JSON', () => {
    writeFileSync(
      path.join(dir, 'app.cjs'),
      `const express = require('express')
      const { streamShim, streaming } = require('stream-shim/express')
      const app = express()
      app.use(streamShim())
      app.put('/up/:name', streaming({ limit: '5gb' }, (req, res) => res.end()))
      app.post('/legacy', (req, res) => res.json(req.body))
      module.exports = app`,
    )
    const table = run(npm, ['exec', '--', 'stream-shim', 'routes', './app.cjs'], dir)
    expect(table).toMatch(/^PUT +\/up\/:name +streaming +5 GB +any +30000 ms$/m)
    const rows = JSON.parse(run(npm, ['exec', '--', 'stream-shim', 'routes', './app.cjs', '--json'], dir))
    expect(rows.map((row: { method: string; path: string; mode: string }) => `${row.method} ${row.path} ${row.mode}`)).toEqual([
      'PUT /up/:name streaming',
      'POST /legacy buffered',
    ])
  })

  it('type-checks a consumer against the shipped declarations, in both module systems', () => {
    const source = `
      import express from 'express'
      import { streamShim, streaming, buffered, json, type BodyErrorType } from 'stream-shim/express'
      const app = express()
      app.use(streamShim({ json: { limit: '1mb' }, streaming: { timeout: 5000 } }))
      app.use(json({ strict: false }))
      app.put('/up', streaming({ limit: '5gb' }, async (req, res) => {
        for await (const chunk of req.bodyStream) chunk.byteLength
        res.status(201).end()
      }))
      app.post('/import', buffered({ limit: '50mb' }, (req, res) => { res.json(req.rawBody?.length) }))
      const t: BodyErrorType = 'entity.too.large'
      export default t
    `
    writeFileSync(path.join(dir, 'consumer.mts'), source)
    writeFileSync(path.join(dir, 'consumer.cts'), source.replace('export default t', 'export = t'))
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const args = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', '--types', 'node']
    expect(() => run(process.execPath, [tsc, ...args, 'consumer.mts', 'consumer.cts'], dir)).not.toThrow()
  })
})
