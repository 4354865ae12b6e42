// Scenario 7: 1 GiB through a reverse proxy to a local upstream, up (PUT)
// and down (GET): stream-shim's proxy() on Express and Koa against a bare
// node:http pipe proxy and http-proxy-middleware, in the same run.
import http from 'node:http'
import { koaShim } from '../lib/shim.mjs'
import { freshRun, startServer } from '../lib/server-process.mjs'
import { checkedUpload } from '../lib/upload.mjs'
import { GiB, MiB, interleave, median, mib, ratio, sizeLabel, table } from '../lib/stats.mjs'

const RSS_GOAL = 64 * MiB
const THROUGHPUT_GOAL = 0.8

export const title = 'Reverse proxy'

/** GET `bytes` through the proxy and count them. */
function download({ port, bytes }) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const req = http.get({ host: '127.0.0.1', port, path: `/down?bytes=${bytes}`, agent: false }, (res) => {
      let n = 0
      res.on('data', (chunk) => (n += chunk.length))
      res.on('error', reject)
      res.on('end', () => {
        if (n !== bytes) reject(new Error(`downloaded ${n} of ${bytes} bytes`))
        else resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6 })
      })
    })
    req.on('error', reject)
  })
}

export async function run({ quick, rounds, log }) {
  const bytes = quick ? 128 * MiB : 1 * GiB
  const configs = [
    { key: 'bare', label: 'node:http pipe proxy', spec: 'proxy:barePipe' },
    { key: 'express', label: 'Express + streamShim() + `proxy()`', spec: 'proxy:expressProxy', goal: true },
    { key: 'koa', label: 'Koa + streamShim() + `proxy()`', spec: 'proxy:koaProxy', goal: true, pending: koaShim === undefined },
    { key: 'hpm', label: 'Express + http-proxy-middleware', spec: 'proxy:httpProxyMiddleware' },
  ]
  const live = configs.filter((c) => !c.pending)
  const upstream = await startServer('proxy:upstream')
  const goals = []
  const rows = []
  try {
    for (const direction of ['up', 'down']) {
      const transfer = (port, size) =>
        direction === 'up' ? checkedUpload({ port, path: '/up', bytes: size }) : download({ port, bytes: size })
      const results = await interleave(live, rounds, async (config) => {
        const { result, growth } = await freshRun(
          config.spec,
          { upstream: upstream.port },
          (server) => transfer(server.port, 16 * MiB + 123), // warm-up and check
          (server) => transfer(server.port, bytes),
        )
        log(`  ${direction} ${config.key}: ${(bytes / MiB / (result.ms / 1000)).toFixed(0)} MiB/s, +${mib(growth)}`)
        return { ms: result.ms, growth }
      })
      const rate = (config) => bytes / MiB / (median(results.get(config).map((r) => r.ms)) / 1000)
      const bareRate = rate(live[0])
      for (const config of configs) {
        const label = direction === 'up' ? 'upload (PUT, Content-Length)' : 'download (GET)'
        if (config.pending) {
          rows.push([label, config.label, 'pending', '', '', ''])
          continue
        }
        const runs = results.get(config)
        const growth = median(runs.map((r) => r.growth))
        const maxGrowth = Math.max(...runs.map((r) => r.growth))
        const relative = rate(config) / bareRate
        rows.push([label, config.label, `${rate(config).toFixed(0)} MiB/s`, ratio(relative), mib(growth), mib(maxGrowth)])
        if (config.goal) {
          goals.push({ goal: `${config.key} proxy() ${direction}: throughput ≥ 0.8× a bare node:http pipe proxy`, measured: ratio(relative), ok: relative >= THROUGHPUT_GOAL })
          goals.push({ goal: `${config.key} proxy() ${direction}: peak RSS growth ≤ 64 MiB`, measured: `${mib(growth)} (max ${mib(maxGrowth)})`, ok: growth <= RSS_GOAL })
        }
      }
    }
  } finally {
    await upstream.stop()
  }
  const markdown = [
    `${sizeLabel(bytes)} through each proxy to one upstream (its own process) over loopback; a fresh proxy process per run, ${rounds} runs each, interleaved; medians. RSS is the proxy process's.`,
    '',
    table(['Transfer', 'Proxy', 'Throughput', 'vs bare pipe', 'Peak RSS growth', 'Max growth'], rows),
  ].join('\n')
  return { markdown, goals }
}
