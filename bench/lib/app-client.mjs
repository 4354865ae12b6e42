// A benchmark app served in a child process, and the client that sends it a
// fixed number of requests over 8 keep-alive connections: shared by the
// counts that need no load generator (instructions.mjs, gc-count.mjs).
import http from 'node:http'

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

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })

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

/** `count` requests made by `request()`, 8 at a time. */
export async function sendMany(count, request) {
  let left = count
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (left-- > 0) await request()
  }))
}

/** Close the client's idle connections, so that the process can exit. */
export function closeClient() {
  agent.destroy()
}
