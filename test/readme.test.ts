/**
 * Every TypeScript and JavaScript code block in the README type-checks as
 * pasted: each block is written to a module of its own and checked with tsc
 * against the package's sources (`stream-shim/*` mapped to them), strict.
 * Blocks that are deliberately fragments say so in their info string
 * (```ts fragment) and are few.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const root = path.resolve(__dirname, '..')
const CHECKED = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs'])
const MAX_FRAGMENTS = 3

interface Block {
  lang: string
  info: string
  code: string
  line: number
}

function readmeBlocks(): Block[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
  const blocks: Block[] = []
  for (const match of readme.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm)) {
    const line = readme.slice(0, match.index).split('\n').length
    blocks.push({ lang: match[1], info: match[2].trim(), code: match[3], line })
  }
  return blocks
}

describe('the README', () => {
  const blocks = readmeBlocks()
  const code = blocks.filter((block) => CHECKED.has(block.lang))
  const fragments = code.filter((block) => /\bfragment\b/.test(block.info))
  const checked = code.filter((block) => !fragments.includes(block))

  it('has code blocks, of which at most a few are marked as fragments', () => {
    expect(checked.length).toBeGreaterThanOrEqual(10)
    expect(fragments.length).toBeLessThanOrEqual(MAX_FRAGMENTS)
    // Every block says its language, so none escapes the check by accident.
    expect(blocks.filter((block) => block.lang === '').map((block) => `README.md:${block.line}`)).toEqual([])
  })

  it('type-checks every TypeScript and JavaScript block as pasted, against the package', async () => {
    const dir = path.join(root, 'node_modules', '.cache', `stream-shim-readme-${process.pid}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    try {
      const files = checked.map((block) => {
        const name = `readme-line-${block.line}.${block.lang.startsWith('j') || block.lang === 'mjs' ? 'mjs' : 'mts'}`
        writeFileSync(path.join(dir, name), block.code)
        return name
      })
      const config = {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          esModuleInterop: true,
          allowJs: true,
          checkJs: true,
          types: ['node'],
          // Nest's decorators (the NestJS section) are TypeScript's experimental ones, as in every Nest project.
          experimentalDecorators: true,
          paths: {
            'stream-shim': [path.join(root, 'lib/index.ts')],
            'stream-shim/express': [path.join(root, 'adapters/express/index.ts')],
            'stream-shim/koa': [path.join(root, 'adapters/koa/index.ts')],
            'stream-shim/nest': [path.join(root, 'adapters/nest/index.ts')],
          },
        },
        files,
      }
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2))
      const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
      let output = ''
      try {
        await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' })
      } catch (err) {
        const failure = err as { stdout?: string; stderr?: string }
        // Name the README line of each error: readme-line-120.mts(3,5) is README.md line 120 + 3.
        output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.replace(
          /readme-line-(\d+)\.m[tj]s\((\d+),(\d+)\)/g,
          (_, start: string, line: string, column: string) => `README.md:${Number(start) + Number(line)}:${column}`,
        )
      }
      expect(output).toBe('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
