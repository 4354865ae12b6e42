// Plain node:http servers: the floor every framework is measured against.
import http from 'node:http'

/** Count the body's bytes and answer with the count. */
export function countBytes() {
  return http.createServer((req, res) => {
    let n = 0
    req.on('data', (chunk) => {
      n += chunk.length
    })
    req.on('end', () => res.end(String(n)))
  })
}
