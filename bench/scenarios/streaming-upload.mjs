// Scenario 1: a large upload to a streaming route, against a raw node:http
// handler that counts bytes, and against express.raw() buffering the same body.
import { koaShim } from '../lib/shim.mjs'
import { freshRun } from '../lib/server-process.mjs'
import { checkedUpload } from '../lib/upload.mjs'
import { GiB, MiB, interleave, median, mib, ratio, sizeLabel, table } from '../lib/stats.mjs'

const RSS_GOAL = 64 * MiB
const THROUGHPUT_GOAL = 0.9
/** Against the same framework with the handler reading the request itself. */
const NATIVE_GOAL = 0.95

export const title = 'Streaming upload'

export async function run({ quick, rounds, log }) {
  const bytes = quick ? 128 * MiB : 1 * GiB
  // Enough for V8 to have optimized the read loop: after 16 MiB the first
  // GiB still ran cold (about 1000 MiB/s, against 1300-1400 once warm).
  const warmUp = quick ? 32 * MiB : 256 * MiB
  const configs = [
    { key: 'raw', label: 'node:http, counting bytes', spec: 'raw:countBytes' },
    { key: 'express', label: 'Express + streamShim(), `streaming()` route', spec: 'express:streamingUpload', goal: true, native: 'express-native' },
    { key: 'express-native', label: 'Express, no shim, `for await (req)`', spec: 'express:iterateRequest' },
    { key: 'koa', label: 'Koa + streamShim(), `streaming()` route', spec: 'koa:streamingUpload', goal: true, native: 'koa-native', pending: koaShim === undefined },
    { key: 'koa-native', label: 'Koa, no shim, `for await (ctx.req)`', spec: 'koa:iterateRequest' },
    { key: 'express.raw', label: 'Express + `express.raw()` (buffers)', spec: 'express:expressRaw' },
  ]
  const live = configs.filter((c) => !c.pending)

  const goals = []
  const rows = []
  for (const chunked of [false, true]) {
    const mode = chunked ? 'chunked' : 'Content-Length'
    const results = await interleave(live, rounds, async (config) => {
      const { result, growth } = await freshRun(
        config.spec,
        {},
        (server) => checkedUpload({ port: server.port, path: '/up', bytes: warmUp + 123, chunked }), // warm-up and check
        (server) => checkedUpload({ port: server.port, path: '/up', bytes, chunked }),
      )
      log(`  ${mode} ${config.key}: ${(bytes / MiB / (result.ms / 1000)).toFixed(0)} MiB/s, +${mib(growth)}`)
      return { ms: result.ms, growth }
    })
    const rate = (config) => bytes / MiB / (median(results.get(config).map((r) => r.ms)) / 1000)
    const rawRate = rate(live[0])
    for (const config of configs) {
      if (config.pending) {
        rows.push([mode, config.label, 'pending', '', '', ''])
        goals.push({ goal: `${config.key} streaming (${mode}): ≥ 0.9× raw, RSS growth ≤ 64 MiB`, measured: 'Koa adapter not built yet', ok: null })
        continue
      }
      const runs = results.get(config)
      const growth = median(runs.map((r) => r.growth))
      const maxGrowth = Math.max(...runs.map((r) => r.growth))
      const relative = rate(config) / rawRate
      const native = live.find((c) => c.key === config.native)
      const vsNative = native === undefined ? '' : ratio(rate(config) / rate(native))
      rows.push([mode, config.label, `${rate(config).toFixed(0)} MiB/s`, ratio(relative), vsNative, mib(growth), mib(maxGrowth)])
      if (config.goal) {
        goals.push({
          goal: `${config.key} streaming upload (${mode}): throughput ≥ 0.9× raw node:http`,
          measured: ratio(relative),
          ok: relative >= THROUGHPUT_GOAL,
        })
        const againstNative = rate(config) / rate(native)
        goals.push({
          goal: `${config.key} streaming upload (${mode}): throughput ≥ 0.95× the same framework reading the request itself`,
          measured: ratio(againstNative),
          ok: againstNative >= NATIVE_GOAL,
        })
        goals.push({
          goal: `${config.key} streaming upload (${mode}): peak RSS growth ≤ 64 MiB`,
          measured: `${mib(growth)} (max ${mib(maxGrowth)})`,
          ok: growth <= RSS_GOAL,
        })
      }
    }
  }

  const markdown = [
    `${sizeLabel(bytes)} uploaded over loopback by a node:http client; a fresh server process per run, warmed up with ${sizeLabel(warmUp)} first, ${rounds} runs each, interleaved; medians.`,
    'The "no shim" rows are the same framework with the handler iterating the request itself: the shim\'s own cost is the gap to them. ' +
      'An app\'s heap size matters here: with a larger heap, the 64 KiB Buffers the HTTP parser allocates per read trigger full mark-compact collections (V8 "GC in old space requested") instead of scavenges only, so a framework app pays more per GiB than the bare node:http counter whatever reads the body.',
    '',
    table(['Body', 'Server', 'Throughput', 'vs raw', 'vs same framework, no shim', 'Peak RSS growth', 'Max growth'], rows),
  ].join('\n')
  return { markdown, goals }
}
