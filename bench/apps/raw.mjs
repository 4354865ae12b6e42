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

/**
 * node:http copying the body into one Buffer allocated at its Content-Length
 * before the first byte: what any server that keeps the body must at least
 * spend (the pages of that Buffer are touched for the first time).
 */
export function copyPreallocated() {
  return http.createServer((req, res) => {
    const whole = Buffer.allocUnsafe(Number(req.headers['content-length']))
    let n = 0
    req.on('data', (chunk) => {
      n += chunk.copy(whole, n)
    })
    req.on('end', () => res.end(String(n)))
  })
}
