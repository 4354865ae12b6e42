/**
 * A buffered route with a 100 MiB limit, in a child process of its own so
 * that the memory it commits for bodies under way can be read without the
 * test runner's own allocations in the figure.
 *
 * Usage: node --expose-gc --import tsx test/protocol/held-memory-server.ts
 * Prints `READY <port>` once listening. GET /memory collects garbage, then
 * answers `{ committed, arrayBuffers }` in bytes (`committed`: Linux VmData,
 * every writable mapping whether touched or not).
 */
import http from 'node:http'
import { readFileSync } from 'node:fs'
import express from 'express'
import { streamShim } from '../../adapters/express/index.js'

function committed(): number {
  const match = /^VmData:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))
  if (match === null) throw new Error('no VmData in /proc/self/status')
  return Number(match[1]) * 1024
}

const app = express()
app.get('/memory', (_req, res) => {
  globalThis.gc?.()
  globalThis.gc?.()
  res.json({ committed: committed(), arrayBuffers: process.memoryUsage().arrayBuffers })
})
app.use(streamShim({ raw: { type: () => true, limit: '100mb', timeout: 20_000 } }))
app.put('/up', (_req, res) => res.end('done'))

const server = http.createServer(app)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as { port: number }).port}\n`)
})
