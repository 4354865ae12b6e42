// Scenario 8: a 1 GiB streamed response (sendStream()). A client reading at
// full speed gets it at close to a raw node:http handler piping the same
// source; a client reading at 10 MB/s holds the server back without the
// server buffering what the client has not read.
import http from 'node:http'
import { koaShim } from '../lib/shim.mjs'
import { measureMemory, startServer } from '../lib/server-process.mjs'
import { GiB, MiB, interleave, median, mib, ratio, sizeLabel, table } from '../lib/stats.mjs'

export const title = 'Streamed response'

const RATE = 10e6
const RSS_GOAL = 64 * MiB
const THROUGHPUT_GOAL = 0.9

/** Download `bytes` from `path` reading at full speed, or at `rate` bytes/s; resolves with the time taken and the bytes received. */
function download(port, path, bytes, rate) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const req = http.get({ host: '127.0.0.1', port, path: `${path}?bytes=${bytes}`, agent: false }, (res) => {
      let received = 0
      res.on('data', (chunk) => {
        received += chunk.length
        if (rate === undefined) return
        // Paced: stay no more than the bytes received ahead of schedule.
        const due = (received / rate) * 1e3 - Number(process.hrtime.bigint() - t0) / 1e6
        if (due > 1) {
          res.pause()
          setTimeout(() => res.resume(), due)
        }
      })
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6
        if (received !== bytes) reject(new Error(`${path}: received ${received} of ${bytes} bytes`))
        else resolve({ ms, received })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

export async function run({ quick, rounds, log }) {
  const bytes = quick ? 128 * MiB : 1 * GiB
  const slowBytes = quick ? 64 * MiB : 1 * GiB
  const servers = [
    { key: 'raw', label: 'node:http, `source.pipe(res)`', spec: 'responses:rawPipe', path: '/down' },
    { key: 'express', label: 'Express + `sendStream(res, source)`', spec: 'responses:expressSendStream', path: '/down' },
    { key: 'koa-pipe', label: 'Koa, `ctx.body = source` (reference)', spec: 'responses:koaPipe', path: '/down', reference: true },
    { key: 'koa', label: 'Koa + `sendStream(ctx, source)`', spec: 'responses:koaSendStream', path: '/down', pending: koaShim === undefined },
  ].filter((s) => !s.pending)

  // Full speed: one server process each, runs interleaved so drift hits all alike.
  const started = await Promise.all(servers.map(async (s) => ({ ...s, server: await startServer(s.spec) })))
  let fast
  try {
    for (const s of started) await download(s.server.port, s.path, 16 * MiB) // warm-up
    fast = await interleave(started, rounds, async (s) => {
      const { ms } = await download(s.server.port, s.path, bytes)
      log(`  ${s.key}: ${sizeLabel(bytes)} at ${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`)
      return ms
    })
  } finally {
    await Promise.all(started.map((s) => s.server.stop()))
  }
  // Ratios per round (each server against the raw run just before it), then their median: drift on a shared machine cancels out.
  const rawRuns = fast.get(started[0])
  const rows = []
  const goals = []
  for (const s of started) {
    const ms = median(fast.get(s))
    const speed = bytes / MiB / (ms / 1000)
    const perRound = fast.get(s).map((t, i) => rawRuns[i] / t)
    const vsRaw = median(perRound)
    const spread = `${ratio(Math.min(...perRound))}–${ratio(Math.max(...perRound))}`
    rows.push([s.label, `${speed.toFixed(0)} MiB/s`, s.key === 'raw' ? '1.00× (reference)' : `${ratio(vsRaw)} (${spread})`])
    if (s.key !== 'raw' && !s.reference) {
      goals.push({ goal: `${s.key} streamed response: throughput ≥ 0.9× raw node:http`, measured: ratio(vsRaw), ok: vsRaw >= THROUGHPUT_GOAL })
    }
  }

  // A client reading at 10 MB/s: paced, so all runs go at once, each on its own server process.
  const slowRuns = []
  for (const s of started.filter((x) => !x.reference)) slowRuns.push({ ...s, server: await startServer(s.spec) })
  let slow
  try {
    log(`  ${slowRuns.length} downloads of ${sizeLabel(slowBytes)} at 10 MB/s at once; about ${Math.ceil(slowBytes / RATE)} s`)
    slow = await Promise.all(
      slowRuns.map(async (s) => {
        const { result, growth } = await measureMemory(s.server, () => download(s.server.port, s.path, slowBytes, RATE))
        log(`  ${s.key}: read at ${(slowBytes / 1e6 / (result.ms / 1000)).toFixed(2)} MB/s, server RSS +${mib(growth)}`)
        return { s, growth, ms: result.ms }
      }),
    )
  } finally {
    await Promise.all(slowRuns.map((s) => s.server.stop()))
  }
  const slowRows = slow.map(({ s, growth, ms }) => [s.label, `${(slowBytes / 1e6 / (ms / 1000)).toFixed(2)} MB/s`, mib(growth)])
  for (const { s, growth } of slow.filter(({ s }) => s.key !== 'raw')) {
    goals.push({ goal: `${s.key} streamed response to a 10 MB/s client: RSS ≤ 64 MiB above baseline`, measured: mib(growth), ok: growth <= RSS_GOAL })
  }

  const markdown = [
    `${sizeLabel(bytes)} streamed from a Readable of 64 KiB chunks to a client reading at full speed; ${rounds} interleaved runs per server after a warm-up; medians. Ratio: the median over rounds of the raw handler's time over the server's in the same round (range in brackets). Koa piping the Readable itself is shown for reference: it is Koa's own floor.`,
    '',
    table(['Server', 'Median throughput', 'vs raw'], rows),
    '',
    `${sizeLabel(slowBytes)} to a client reading at 10 MB/s, one run per server, all at once, each on its own process: peak server RSS growth.`,
    '',
    table(['Server', 'Client read at', 'Peak RSS growth'], slowRows),
  ].join('\n')
  return { markdown, goals }
}
