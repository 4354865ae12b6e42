// An upload client that sends a generated body of any size without holding
// it: the same 64 KiB buffer is written again and again, with backpressure.
import http from 'node:http'

const CHUNK = Buffer.alloc(64 * 1024, 'stream-shim bench ')

/**
 * Send `bytes` bytes to `http://127.0.0.1:<port><path>`, with a Content-Length
 * (or chunked when `chunked`), and wait for the whole response.
 * @returns {Promise<{ ms: number, status: number, body: string }>}
 */
export function upload({ port, path, method = 'PUT', bytes, chunked = false, contentType = 'application/octet-stream' }) {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': contentType }
    if (!chunked) headers['content-length'] = String(bytes)
    const start = process.hrtime.bigint()
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false })
    req.on('error', reject)
    req.on('response', (res) => {
      const parts = []
      res.setEncoding('utf8')
      res.on('data', (part) => parts.push(part))
      res.on('error', reject)
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6
        resolve({ ms, status: res.statusCode, body: parts.join('') })
      })
    })

    let sent = 0
    function write() {
      while (sent < bytes) {
        const n = Math.min(CHUNK.length, bytes - sent)
        sent += n
        if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          req.once('drain', write)
          return
        }
      }
      req.end()
    }
    write()
  })
}

/** Upload and insist the server counted every byte. */
export async function checkedUpload(options) {
  const result = await upload(options)
  if (result.status !== 200 || result.body !== String(options.bytes)) {
    throw new Error(
      `${options.path}: expected 200 "${options.bytes}", got ${result.status} "${result.body.slice(0, 200)}"`,
    )
  }
  return result
}
