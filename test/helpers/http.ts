/**
 * Test helpers: real servers on 127.0.0.1 and a raw HTTP/1.1 client that
 * controls exactly when and how each byte of a body is sent.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

export const frameworks: Array<[string, any]> = [
  ['express 4', require('express4')],
  ['express 5', require('express')],
]

export interface Running {
  server: http.Server
  port: number
  url: string
  close(): Promise<void>
}

/** Listen on an ephemeral loopback port. */
export async function listen(handler: http.RequestListener | http.Server): Promise<Running> {
  const server = handler instanceof http.Server ? handler : http.createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  text: string
}

/** Read a whole response. */
export async function readReply(res: http.IncomingMessage): Promise<Reply> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks)
  return { status: res.statusCode!, headers: res.headers, body, text: body.toString() }
}

/**
 * Send a request whose body is written by `write` after the headers have gone
 * out; resolves with the reply. `write` gets the ClientRequest.
 */
export function request(
  port: number,
  options: http.RequestOptions,
  write: (req: http.ClientRequest) => void | Promise<void>,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...options }, (res) => {
      readReply(res).then(resolve, reject)
    })
    req.on('error', reject)
    req.flushHeaders()
    Promise.resolve(write(req)).catch(reject)
  })
}

/** Send a body in one go (with Content-Length unless chunked is asked for). */
export function send(
  port: number,
  method: string,
  path: string,
  body: Buffer | string,
  headers: http.OutgoingHttpHeaders = {},
  { chunked = false } = {},
): Promise<Reply> {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body)
  const all = chunked ? { ...headers, 'transfer-encoding': 'chunked' } : { 'content-length': buf.length, ...headers }
  return request(port, { method, path, headers: all }, (req) => {
    req.end(buf)
  })
}

/** A raw socket: for bodies shorter than declared, aborts and byte-exact framing. */
export async function rawSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return socket
}

export function sha256(buf: Buffer | string): string {
  return createHash('sha256').update(buf).digest('hex')
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolve when `predicate()` holds, polling every 5 ms, or reject after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition')
    await sleep(5)
  }
}

/** A deterministic pseudo-random buffer. */
export function bytes(length: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    buf[i] = x & 0xff
  }
  return buf
}

/**
 * Run a TypeScript server fixture in a process of its own (`node [flags]
 * --import tsx file ...args`) and resolve with its port once it prints
 * `READY <port>`; rejects if it exits first, with what it wrote to stderr
 * when that is piped.
 */
export async function spawnServer(
  file: string,
  { args = [], flags = [], env, stderr = 'pipe' }: { args?: string[]; flags?: string[]; env?: NodeJS.ProcessEnv; stderr?: 'pipe' | 'inherit' } = {},
): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', file, ...args], {
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', stderr],
    env: env ?? process.env,
  })
  let errors = ''
  child.stderr?.on('data', (chunk) => (errors += chunk))
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const match = /READY (\d+)/.exec(stdout)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${errors}`)))
  })
  return { child, port, stderr: () => errors }
}
