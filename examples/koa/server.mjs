// A Koa app with stream-shim: one streaming upload route and two legacy routes.
// Run from the repository root: npm run demo:koa (or: npm run build && node examples/koa/server.mjs)
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describeRoutes, formatRoutes, installContinue, recordBodies } from 'stream-shim/koa'
import createApp from './app.mjs'

const uploads = await mkdtemp(path.join(tmpdir(), 'stream-shim-koa-'))
const app = createApp({ uploads })
// Outside production, keep a record of the bodies each route receives
// (printed as a table on exit). Before listen(): it adds a middleware first.
const recording = recordBodies(app)

const port = Number(process.env.PORT ?? 3001)
// installContinue: the 100 Continue `curl -T` waits for goes out when the
// upload handler first reads the body.
const server = http.createServer(app.callback()).listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`
  console.log(`stream-shim Koa example on ${base}; uploads go to ${uploads}`)
  console.log(`  curl -T package.json ${base}/files/package.json`)
  console.log(`  curl -H 'content-type: application/json' -d '{"hello":"world"}' ${base}/legacy/json`)
  console.log(`  curl -d 'a[b]=1&c.d=2' ${base}/legacy/form`)
  console.log('Stop with Ctrl-C (the uploads folder is removed).')
})
installContinue(server)

// On Ctrl-C or a kill: print the report, remove the uploads folder, stop.
let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  if (recording) console.log(`\n${formatRoutes(describeRoutes(app))}`)
  server.closeAllConnections()
  server.close()
  await rm(uploads, { recursive: true, force: true })
  console.log(`${signal}: removed ${uploads}`)
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
