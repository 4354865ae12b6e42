/**
 * examples/proxy/server.mjs, run as a user runs it (from the sources through
 * tsx, `stream-shim/*` mapped to them): the reverse proxy, and a CONNECT
 * tunnel driven by curl with and without proxy credentials.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import https from 'node:https'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { AddressInfo } from 'node:net'

const root = path.resolve(__dirname, '..', '..')
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
const tsconfig = path.join(root, 'test', 'examples.tsconfig.json')
const tls = path.join(root, 'test', 'fixtures', 'tls')

function curl(args: string[]): Promise<{ stdout: string; connect: number }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '5', '-w', '\n%{http_connect}', ...args], (_err, stdout) => {
      const lines = stdout.split('\n')
      const connect = Number(lines.pop())
      resolve({ stdout: lines.join('\n'), connect })
    })
  })
}

describe('the proxy example (examples/proxy/server.mjs)', () => {
  let child: ChildProcess
  let base: string
  let secure: https.Server
  beforeAll(async () => {
    secure = https.createServer({ key: readFileSync(path.join(tls, 'key.pem')), cert: readFileSync(path.join(tls, 'cert.pem')) }, (_req, res) => res.end('behind the tunnel'))
    secure.listen(0, '127.0.0.1')
    await once(secure, 'listening')
    const allowed = (secure.address() as AddressInfo).port
    child = spawn(process.execPath, [tsx, '--tsconfig', tsconfig, 'examples/proxy/server.mjs'], {
      cwd: root,
      env: { ...process.env, PORT: '0', ALLOWED_PORTS: String(allowed) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const deadline = Date.now() + 15_000
    while (!/example on (http:\/\/127\.0\.0\.1:\d+)/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the example did not start:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    base = /example on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]
  }, 20_000)
  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
    secure.closeAllConnections()
    await new Promise((resolve) => secure.close(resolve))
  })

  it('reverse-proxies /api/* to its upstream, path rewritten, body streamed back', async () => {
    const res = await fetch(`${base}/api/echo?x=1`, { method: 'POST', body: 'hello upstream' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-upstream-saw-path')).toBe('/echo?x=1')
    expect(res.headers.get('via')).toBe('1.1 stream-shim')
    expect(await res.text()).toBe('POST /echo?x=1 via 1.1 stream-shim for 127.0.0.1\nhello upstream')
  })

  it('tunnels CONNECT with the proxy credentials, and answers 407 without them', async () => {
    const port = (secure.address() as AddressInfo).port
    const ok = await curl(['-k', '-p', '-x', base, '-U', 'demo:demo', `https://127.0.0.1:${port}/`])
    expect([ok.connect, ok.stdout]).toEqual([200, 'behind the tunnel'])
    const refused = await curl(['-k', '-p', '-x', base, `https://127.0.0.1:${port}/`])
    expect(refused.connect).toBe(407)
  })
})
