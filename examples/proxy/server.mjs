// A forward proxy (CONNECT tunnels, behind Basic proxy authentication) and a
// reverse proxy (/api/* streamed to an upstream) in one Express app.
// Run from the repository root: npm run demo:proxy (or: npm run build && node examples/proxy/server.mjs)
import http from 'node:http'
import express from 'express'
import { connectTarget, installConnect, installContinue, proxy, streamShim, tunnel } from 'stream-shim/express'

const port = Number(process.env.PORT ?? 3128)
const user = process.env.PROXY_USER ?? 'demo'
const password = process.env.PROXY_PASSWORD ?? 'demo'
// CONNECT targets allowed, by port: ALLOWED_PORTS=443,8443 by default.
const allowedPorts = new Set((process.env.ALLOWED_PORTS ?? '443,8443').split(',').map(Number))

// The reverse proxy's upstream: UPSTREAM, or a small echo server started here.
let upstream = process.env.UPSTREAM
if (upstream === undefined) {
  const echo = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream-saw-path': req.url })
    res.write(`${req.method} ${req.url} via ${req.headers.via} for ${req.headers['x-forwarded-for']}\n`)
    req.pipe(res) // the body comes back as it arrives
  })
  await new Promise((resolve) => echo.listen(0, '127.0.0.1', resolve))
  upstream = `http://127.0.0.1:${echo.address().port}`
}

const app = express()
app.use(streamShim())

// Forward proxy: CONNECT goes through the app like any request, so the
// authentication and the allow-list below are ordinary middleware.
function requireProxyAuth(req, res, next) {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  if (req.headers['proxy-authorization'] === expected) return next()
  res.status(407).set('proxy-authenticate', 'Basic realm="stream-shim example"').end()
}
function allowList(req, res, next) {
  if (allowedPorts.has(connectTarget(req).port)) return next()
  res.status(403).end()
}
app.connect('/', requireProxyAuth, allowList, tunnel())

// Reverse proxy: /api/anything streams to the upstream as /anything, both
// ways with backpressure; 502 when it is down, 504 when it is too slow.
app.all(
  '/api/*path',
  proxy(upstream, { limit: '5gb', timeout: 30_000, rewritePath: (path) => path.replace(/^\/api/, '') }),
)

app.use((err, req, res, _next) => {
  res.status(err.status ?? 500).json({ error: err.expose ? err.message : http.STATUS_CODES[err.status] ?? 'Error', type: err.type })
})

// installContinue: the client's `100 Continue` waits for the upstream's.
// installConnect: CONNECT requests reach the app instead of Node's default 'connect' handling.
const server = installConnect(installContinue(http.createServer(app)), app)
server.listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`
  console.log(`stream-shim proxy example on ${base}; reverse proxy upstream ${upstream}`)
  console.log('Try:')
  console.log(`  curl -d 'hello upstream' ${base}/api/echo?x=1                     # reverse proxy`)
  console.log(`  curl -T package.json ${base}/api/upload                           # 100-continue end to end`)
  console.log(`  curl -p -x ${base} -U ${user}:${password} https://127.0.0.1:8443/ -k   # CONNECT tunnel (any HTTPS server on 8443)`)
  console.log(`  curl -p -x ${base} https://127.0.0.1:8443/ -k                     # 407 without credentials`)
  console.log('Stop with Ctrl-C.')
})
