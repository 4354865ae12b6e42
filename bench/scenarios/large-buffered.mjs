// Scenario 3: a large body with a known length, buffered whole: stream-shim's
// buffered route (one preallocated buffer, one copy) against express.raw().
// A node:http handler that only counts the bytes is the ceiling: no server
// that receives the body can beat the time it takes to arrive.
import { freshRun } from '../lib/server-process.mjs'
import { checkedUpload } from '../lib/upload.mjs'
import { MiB, interleave, median, mib, ratio, sizeLabel, table } from '../lib/stats.mjs'

export const title = 'Buffered large body with known length'

const SPEED_GOAL = 3
const RSS_GOAL = 1.3
const CEILING_GOAL = 0.6

export async function run({ quick, rounds, log }) {
  const sizes = quick ? [64 * MiB] : [64 * MiB, 512 * MiB]
  const configs = [
    { key: 'express.raw', label: 'Express + `express.raw()`', spec: 'express:expressRaw' },
    { key: 'shim', label: 'Express + `streamShim({ raw })`', spec: 'express:shimRaw' },
    { key: 'ceiling', label: 'node:http counting bytes (ceiling, keeps nothing)', spec: 'raw:countBytes' },
    { key: 'floor', label: 'node:http copying into a Buffer allocated before the body (keeps it, no framework)', spec: 'raw:copyPreallocated' },
  ]
  const rows = []
  const goals = []
  for (const bytes of sizes) {
    const results = await interleave(configs, rounds, async (config) => {
      const { result, growth } = await freshRun(
        config.spec,
        {},
        (server) => checkedUpload({ port: server.port, path: '/up', bytes: 8 * MiB + 7 }),
        (server) => checkedUpload({ port: server.port, path: '/up', bytes }),
      )
      log(`  ${sizeLabel(bytes)} ${config.key}: ${result.ms.toFixed(0)} ms, +${mib(growth)}`)
      return { ms: result.ms, growth }
    })
    const ms = (c) => median(results.get(c).map((r) => r.ms))
    const growth = (c) => median(results.get(c).map((r) => r.growth))
    const [peer, ours] = configs
    for (const config of configs) {
      rows.push([
        sizeLabel(bytes),
        config.label,
        `${ms(config).toFixed(0)} ms`,
        `${(bytes / MiB / (ms(config) / 1000)).toFixed(0)} MiB/s`,
        ratio(ms(peer) / ms(config)),
        mib(growth(config)),
        ratio(growth(config) / bytes),
      ])
    }
    const speedup = ms(peer) / ms(ours)
    goals.push({
      goal: `${sizeLabel(bytes)} buffered: ≥ 3× faster than express.raw()`,
      measured: `${ratio(speedup)} (ceiling: ${ratio(ms(peer) / ms(configs[2]))})`,
      ok: speedup >= SPEED_GOAL,
    })
    const ofCeiling = ms(configs[2]) / ms(ours)
    goals.push({
      goal: `${sizeLabel(bytes)} buffered: ≥ 0.6× the throughput of the count-only ceiling`,
      measured: `${ratio(ofCeiling)} (node:http copying into a preallocated Buffer: ${ratio(ms(configs[2]) / ms(configs[3]))})`,
      ok: ofCeiling >= CEILING_GOAL,
    })
    goals.push({
      goal: `${sizeLabel(bytes)} buffered: peak RSS growth ≤ 1.3× body size`,
      measured: `${ratio(growth(ours) / bytes)} (${mib(growth(ours))}); express.raw() ${ratio(growth(peer) / bytes)}`,
      ok: growth(ours) / bytes <= RSS_GOAL,
    })
  }

  const markdown = [
    `One upload with a Content-Length over loopback, read whole into \`req.body\` (a Buffer) and answered with its length; a fresh server process per run, ${rounds} runs each, interleaved; medians. "Speed-up" is express.raw()'s time over this row's time.`,
    '',
    table(['Body', 'Server', 'Time', 'Throughput', 'Speed-up vs express.raw()', 'Peak RSS growth', 'Growth / body'], rows),
  ].join('\n')
  return { markdown, goals }
}
