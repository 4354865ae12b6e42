// Type-check a consumer of the built package (test/types/consumer) as users'
// projects see it: TypeScript 5.9 under moduleResolution node10 (the classic
// Nest tsconfig, which reads `typesVersions`) and nodenext (`exports`), and
// TypeScript 6.0 under nodenext. Needs `npm run build` first.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)
const dir = path.resolve('test/types/consumer')
if (!existsSync('dist/cjs/adapters/nest/index.d.ts')) throw new Error('no build in dist/: run npm run build first')
// The consumer finds the package by name, through node_modules, as an installed one.
mkdirSync(path.join(dir, 'node_modules'), { recursive: true })
const link = path.join(dir, 'node_modules', 'stream-shim')
rmSync(link, { force: true, recursive: false })
symlinkSync(path.relative(path.dirname(link), process.cwd()), link, 'dir')

const checks = [
  ['typescript59', 'tsconfig.node10.json'],
  ['typescript59', 'tsconfig.json'],
  ['typescript', 'tsconfig.json'],
]
for (const [pkg, config] of checks) {
  const { version } = require(`${pkg}/package.json`)
  execFileSync(process.execPath, [require.resolve(`${pkg}/bin/tsc`), '-p', path.join(dir, config)], { stdio: 'inherit' })
  console.log(`typecheck-dist: TypeScript ${version}, ${config}: ok`)
}
