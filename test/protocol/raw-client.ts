/**
 * A raw HTTP/1.1 client for the protocol tests: it writes exactly the bytes it
 * is given, when it is told to, and reads responses one by one off the same
 * socket (interim 100 responses included), so tests can see what a server
 * sends, when, and whether it keeps or closes the connection.
 */
import net from 'node:net'
import { once } from 'node:events'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** When the status line arrived (`performance.now()`). */
  at: number
}

export class RawConnection {
  readonly socket: net.Socket
  #buffer = Buffer.alloc(0)
  #ended = false
  #waiters: Array<() => void> = []
  /** Resolves when the server closes its side (or the socket closes). */
  readonly closed: Promise<void>

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      this.#wake()
    })
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.#ended = true
        this.#wake()
        resolve()
      }
      socket.once('end', done)
      socket.once('close', done)
    })
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1')
    socket.setNoDelay(true)
    await once(socket, 'connect')
    return new RawConnection(socket)
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())))
  }

  /** Whether the server has closed the connection (within `ms`). */
  async isClosed(ms = 500): Promise<boolean> {
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref())
    return Promise.race([this.closed.then(() => true as const), timer])
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter()
  }

  async #more(deadline: number): Promise<void> {
    if (this.#ended) throw new Error('connection closed before a complete response')
    const left = deadline - performance.now()
    if (left <= 0) throw new Error('timed out waiting for a response')
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left)
      this.#waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /** The next response (an interim 100 is a response too). */
  async response(ms = 5000): Promise<RawResponse> {
    const deadline = performance.now() + ms
    let end: number
    while ((end = this.#buffer.indexOf('\r\n\r\n')) === -1) await this.#more(deadline)
    const at = performance.now()
    const head = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
    this.#buffer = this.#buffer.subarray(end + 4)
    const status = Number(head[0].split(' ')[1])
    const headers: Record<string, string> = {}
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    if (status === 100) return { status, headers, body: Buffer.alloc(0), at }
    let body: Buffer
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length'])
      while (this.#buffer.length < length) await this.#more(deadline)
      body = this.#buffer.subarray(0, length)
      this.#buffer = this.#buffer.subarray(length)
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = []
      for (;;) {
        let eol: number
        while ((eol = this.#buffer.indexOf('\r\n')) === -1) await this.#more(deadline)
        const size = parseInt(this.#buffer.subarray(0, eol).toString('latin1'), 16)
        while (this.#buffer.length < eol + 2 + size + 2) await this.#more(deadline)
        parts.push(this.#buffer.subarray(eol + 2, eol + 2 + size))
        this.#buffer = this.#buffer.subarray(eol + 2 + size + 2)
        if (size === 0) break
      }
      body = Buffer.concat(parts)
    } else {
      while (!this.#ended) await this.#more(deadline).catch(() => undefined)
      body = this.#buffer
      this.#buffer = Buffer.alloc(0)
    }
    return { status, headers, body, at }
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** The head of a PUT with these headers. */
export function head(path: string, headers: Record<string, string | number>): string {
  const lines = [`PUT ${path} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return lines.join('\r\n') + '\r\n\r\n'
}
