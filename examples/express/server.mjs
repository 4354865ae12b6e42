// An Express app with stream-shim: a streaming upload route with an upload
// page, two legacy routes, and the migration report.
// Run from the repository root: npm run demo (or: npm run build && node examples/express/server.mjs)
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createServer, describeRoutes, formatRoutes, installContinue, recordBodies } from 'stream-shim/express'
import createApp from './app.mjs'

const uploads = await mkdtemp(path.join(tmpdir(), 'stream-shim-express-'))
const app = createApp({ uploads })
// Outside production, keep a record of the bodies each route receives: GET
// /_routes shows it as JSON, and it is printed as a table on exit.
const recording = recordBodies(app)
app.get('/_routes', (req, res) => res.json(describeRoutes(app)))

const port = Number(process.env.PORT ?? 3000)
// createServer(app) instead of app.listen(): requests are born with the app's
// prototypes, which saves most of Express's own cost per request on Node 20 and 22.
// installContinue: `curl -T` asks `Expect: 100-continue`; the 100 now goes out
// when the upload handler first reads the body, not before any handler runs.
const server = createServer(app).listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`
  console.log(`stream-shim Express example on ${base}; uploads go to ${uploads}`)
  console.log(`Open ${base}/ in a browser to upload a file, or try:`)
  console.log(`  curl -T package.json ${base}/files/package.json                     # streaming upload`)
  console.log(`  curl -H 'content-type: application/json' -d '{"hello":"world"}' ${base}/legacy/json`)
  console.log(`  curl -d 'user[name]=ada&user[lang]=en' ${base}/legacy/form`)
  console.log(`  curl -H 'content-type: application/json' -d '{"bad' ${base}/legacy/json          # 400 entity.parse.failed`)
  console.log(`  curl -s '${base}/export.ndjson?rows=5'                               # streamed NDJSON export`)
  console.log(`  curl -N --compressed ${base}/events                                   # Server-Sent Events, gzip, one a second`)
  console.log(`  curl ${base}/_routes                                                 # the migration report, as JSON`)
  console.log('Stop with Ctrl-C (the uploads folder is removed). The Koa example: npm run demo:koa')
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
