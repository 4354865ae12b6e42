// Scenario 5: a slow streaming handler (10 MB/s) and a fast client: the
// server must hold the client back, not buffer what it cannot consume yet.
import { koaShim } from '../lib/shim.mjs'
import { measureMemory, startServer } from '../lib/server-process.mjs'
import { checkedUpload } from '../lib/upload.mjs'
import { GiB, MiB, median, mib, sizeLabel, table } from '../lib/stats.mjs'

export const title = 'Backpressure'

const RATE = 10e6
const RSS_GOAL = 64 * MiB

export async function run({ quick, rounds, log }) {
  const bytes = quick ? 64 * MiB : 1 * GiB
  const frameworks = [
    { key: 'express', label: 'Express + `streaming()`', spec: 'express:slowStreaming' },
    { key: 'koa', label: 'Koa + `streaming()`', spec: 'koa:slowStreaming', pending: koaShim === undefined },
  ]
  // The handler is paced, so the runs barely use the CPU: run them all at
  // once, each against its own server process so its RSS is its own.
  const runs = []
  for (const framework of frameworks.filter((f) => !f.pending)) {
    for (let i = 0; i < rounds; i++) runs.push({ framework, server: await startServer(framework.spec, { rate: RATE }) })
  }
  let measured
  try {
    log(`  ${runs.length} uploads of ${sizeLabel(bytes)} at once; about ${Math.ceil(bytes / RATE)} s`)
    measured = await Promise.all(
      runs.map(async ({ framework, server }) => {
        const { result, growth } = await measureMemory(server, () => checkedUpload({ port: server.port, path: '/up', bytes }))
        log(`  ${framework.key}: ${(bytes / 1e6 / (result.ms / 1000)).toFixed(2)} MB/s consumed, +${mib(growth)}`)
        return { framework, ms: result.ms, growth }
      }),
    )
  } finally {
    await Promise.all(runs.map(({ server }) => server.stop()))
  }

  const rows = []
  const goals = []
  for (const framework of frameworks) {
    if (framework.pending) {
      rows.push([framework.label, 'pending', '', ''])
      goals.push({ goal: 'koa backpressure: RSS ≤ 64 MiB above baseline', measured: 'Koa adapter not built yet', ok: null })
      continue
    }
    const mine = measured.filter((m) => m.framework === framework)
    const growth = median(mine.map((m) => m.growth))
    const maxGrowth = Math.max(...mine.map((m) => m.growth))
    const rate = bytes / 1e6 / (median(mine.map((m) => m.ms)) / 1000)
    rows.push([framework.label, `${rate.toFixed(2)} MB/s`, mib(growth), mib(maxGrowth)])
    goals.push({
      goal: `${framework.key} backpressure: RSS ≤ 64 MiB above baseline`,
      measured: `${mib(growth)} (max ${mib(maxGrowth)})`,
      ok: growth <= RSS_GOAL,
    })
  }
  const markdown = [
    `${sizeLabel(bytes)} sent as fast as the socket allows to a handler that sleeps so as to consume 10 MB/s; ${rounds} runs per framework, each on its own server process, all at once; medians.`,
    '',
    table(['Server', 'Consumed at', 'Peak RSS growth', 'Max growth'], rows),
  ].join('\n')
  return { markdown, goals }
}
