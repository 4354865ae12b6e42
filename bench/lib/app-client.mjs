// A benchmark app served in a child process, and the client that sends it a
// fixed number of requests over keep-alive connections (8 unless told):
// shared by the counts that need no load generator (instructions.mjs,
// gc-count.mjs).
import http from 'node:http'
import { SMALL_JSON } from '../apps/common.mjs'
import { distinctPath, distinctPutPath, putPaths, samplePaths } from '../apps/routes.mjs'

/**
 * The server, for `node --input-type=module -e APP_SERVER <module> <factory> <options JSON>`:
 * it prints `port N` once listening and exits on SIGTERM.
 */
export const APP_SERVER = `
  const [module, name, options] = process.argv.slice(1)
  const apps = await import(new URL('./apps/' + module + '.mjs', ${JSON.stringify(new URL('../', import.meta.url).href)}))
  const server = apps[name](JSON.parse(options))
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port))
  process.on('SIGTERM', () => process.exit(0))
`

let connections = 8
let agent = new http.Agent({ keepAlive: true, maxSockets: connections })

/** Send over `count` connections from now on (requests in flight at once). */
export function useConnections(count) {
  agent.destroy()
  connections = count
  agent = new http.Agent({ keepAlive: true, maxSockets: count })
}

/** One request; a JSON body when `body` is given. Rejects on any status but 200. */
export function send(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    const req = http.request({ host: '127.0.0.1', port, agent, method, path, headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${method} ${path}: status ${res.statusCode}`))
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** `count` requests made by `request()`, one per connection at a time. */
export async function sendMany(count, request) {
  let left = count
  await Promise.all(Array.from({ length: connections }, async () => {
    while (left-- > 0) await request()
  }))
}

/** Close the client's idle connections, so that the process can exit. */
export function closeClient() {
  agent.destroy()
}

/** The server to start (`[module, factory, options]`) and the request to send, for an app's name. */
export function appFor(app) {
  const [module, name, pattern, parser] = app.split(':')
  if (module !== 'routes') return { args: [module, name, '{}'], request: (port) => send(port, 'POST', '/json', SMALL_JSON) }
  const count = Number(name)
  const options = { count, shim: parser === 'shim' }
  let n = 0
  const next = {
    'get-repeated': () => ['GET', samplePaths(count)[n++ % samplePaths(count).length]],
    'get-distinct': () => ['GET', distinctPath(count, n++)],
    'put-repeated': () => ['PUT', putPaths(count)[n++ % putPaths(count).length], '{"n":1}'],
    'put-distinct': () => ['PUT', distinctPutPath(count, n++), '{"n":1}'],
    'post-distinct': () => ['POST', distinctPutPath(count, n++), '{"n":1}'],
  }[pattern]
  if (!Number.isSafeInteger(count) || next === undefined || (parser !== 'json' && parser !== 'shim')) throw new Error(`unknown app ${app}`)
  return { args: ['routes', 'manyRoutes', JSON.stringify(options)], request: (port) => send(port, ...next()) }
}
