/**
 * The error module and the README's Errors section list the same types with
 * the same statuses, and every type the code creates is in the module.
 */
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { ERROR_STATUS, isBodyError } from '../lib/errors.js'
import { bodyError } from '../lib/errors.js'

const root = path.resolve(__dirname, '..')

function documentedErrors(): Map<string, number> {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
  const section = readme.split(/^## Errors$/m)[1].split(/^## /m)[0]
  const rows = new Map<string, number>()
  for (const match of section.matchAll(/^\| `([a-zA-Z.]+)` \| (\d{3}) \|/gm)) rows.set(match[1], Number(match[2]))
  return rows
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

describe('error types', () => {
  it('are documented in the README with the status the code gives them, and nothing else is', () => {
    const documented = documentedErrors()
    expect(Object.fromEntries(documented)).toEqual({ ...ERROR_STATUS })
  })

  it('created anywhere in lib/ or adapters/ are all in the error module', () => {
    const used = new Set<string>()
    for (const file of [...sourceFiles(path.join(root, 'lib')), ...sourceFiles(path.join(root, 'adapters'))]) {
      const source = readFileSync(file, 'utf8')
      for (const m of source.matchAll(/bodyError\(\s*'([^']+)'/g)) used.add(m[1])
      for (const m of source.matchAll(/\btype: '([a-z]+\.[a-zA-Z.]+)'/g)) used.add(m[1])
      for (const m of source.matchAll(/ERROR_STATUS\['([a-z.A-Z]+)'\]/g)) used.add(m[1])
    }
    expect([...used].sort()).toEqual(Object.keys(ERROR_STATUS).sort())
  })

  it('are created in the error module only: nowhere else calls bodyError() or http-errors', () => {
    const outside: string[] = []
    for (const file of [...sourceFiles(path.join(root, 'lib')), ...sourceFiles(path.join(root, 'adapters'))]) {
      if (file.endsWith(path.join('lib', 'errors.ts'))) continue
      const source = readFileSync(file, 'utf8')
      if (/\bbodyError\(|createHttpError\(|from 'http-errors'/.test(source)) outside.push(path.relative(root, file))
    }
    expect(outside).toEqual([])
  })

  it.each(Object.entries(ERROR_STATUS))('%s is an http-error with status %i, exposed below 500', (type, status) => {
    const err = bodyError(type as keyof typeof ERROR_STATUS, 'message')
    expect(err).toMatchObject({ status, statusCode: status, type, expose: status < 500 })
    expect(isBodyError(err)).toBe(true)
  })

  it('recognizes errors by shape, not by class', () => {
    const foreign = Object.assign(new Error('x'), { status: 413, type: 'entity.too.large' })
    expect(isBodyError(foreign)).toBe(true)
    expect(isBodyError(Object.assign(new Error('x'), { status: 400, type: 'something.else' }))).toBe(false)
    expect(isBodyError(null)).toBe(false)
  })
})
