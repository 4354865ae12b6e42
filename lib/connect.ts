/**
 * CONNECT through the app. Node hands a CONNECT request to the server's
 * 'connect' listeners with the bare socket, outside Express and Koa. The
 * adapters' `installConnect()` builds a response on that socket and runs
 * the request through the app (its middleware and routes), so that
 * authentication (407), allow-lists (403) and logging are ordinary
 * middleware; `tunnel()` then answers `200 Connection Established` and
 * pipes the two sockets together.
 *
 * Ownership: until a tunnel opens, the client's socket belongs to the
 * response built here, and is ended after it. From then on the tunnel owns
 * both sockets and destroys both when either closes or fails.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { upstreamFailed } from './errors.js'

const kConnect = Symbol.for('stream-shim.connect')
const kInstalled = Symbol.for('stream-shim.connect.installed')

/**
 * Where a CONNECT request asks to go.
 *
 * @example
 * const { host, port }: ConnectTarget = connectTarget(req)!
 */
export interface ConnectTarget {
  /** The host name or address (an IPv6 address without its brackets). */
  host: string
  port: number
}

interface ConnectState extends ConnectTarget {
  socket: Duplex
  head: Buffer
  tunneled: boolean
}

type WithConnect = { [kConnect]?: ConnectState }

/** Read `host:port` (or `[v6]:port`); undefined when it is not one. */
export function parseAuthority(authority: string): ConnectTarget | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/?#[\]@]+)):(\d{1,5})$/.exec(authority)
  if (match === null) return undefined
  const port = Number(match[3])
  if (port < 1 || port > 65535) return undefined
  return { host: match[1] ?? match[2], port }
}

/**
 * The target of a CONNECT request that `installConnect()` handed to the
 * app (its `req.url` is then `/`), or undefined for any other request.
 *
 * @example
 * app.connect('*', (req, res, next) => {
 *   if (connectTarget(req)?.port !== 443) return res.status(403).end()
 *   next()
 * }, tunnel())
 */
export function connectTarget(req: object): ConnectTarget | undefined {
  const state = (req as WithConnect)[kConnect]
  return state === undefined ? undefined : { host: state.host, port: state.port }
}

/** How the app is run for a CONNECT request; `done` is the app's last resort (no route took it). */
export type RunConnect = (req: IncomingMessage, res: ServerResponse, done: (err?: unknown) => void) => void

/** An `http` or `https` server. */
export type ConnectServer = http.Server

/**
 * Install a 'connect' listener on `server` that runs each CONNECT request
 * through `run`. The request reaches the app with `req.method` 'CONNECT',
 * `req.url` '/', and its target in `connectTarget(req)`; its response is
 * written on the client's socket, which is closed after it unless a tunnel
 * took it over. A request no route takes gets 405; an error passed out of
 * the app gets its status (500 by default). Installing twice is harmless.
 */
export function installConnectWith<S extends ConnectServer>(server: S, run: RunConnect): S {
  const marked = server as S & { [kInstalled]?: true }
  if (marked[kInstalled] === true) return server
  Object.defineProperty(marked, kInstalled, { value: true })
  server.on('connect', function connect(req: IncomingMessage, socket: Duplex, head: Buffer) {
    socket.on('error', () => socket.destroy()) // a client gone mid-answer is nobody's error
    const target = parseAuthority(req.url ?? '')
    if (target === undefined) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const state: ConnectState = { ...target, socket, head, tunneled: false }
    ;(req as WithConnect)[kConnect] = state
    req.url = '/' // the authority form routes nowhere in Express or Koa
    const res = new http.ServerResponse(req)
    res.shouldKeepAlive = false
    res.assignSocket(socket as net.Socket)
    res.once('finish', () => {
      res.detachSocket(socket as net.Socket)
      if (!state.tunneled) socket.end()
    })
    socket.once('close', () => {
      if (!state.tunneled) res.destroy()
    })
    run(req, res, (err) => {
      if (state.tunneled || res.headersSent) return
      const status = httpStatus(err)
      res.statusCode = status
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end(`${http.STATUS_CODES[status] ?? 'Error'}\n`)
    })
  })
  return server
}

/** The status an error passed out of the app is answered with; 405 for none (no CONNECT route). */
function httpStatus(err: unknown): number {
  if (err === undefined || err === null) return 405
  const status = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : 500
}

/**
 * Where `tunnel()` connects: a fixed `host:port` (or `{ host, port }`), or a
 * function of the request and the target it asked for.
 *
 * @example
 * const toLocal: TunnelTarget<Request> = (req, { port }) => ({ host: '127.0.0.1', port })
 */
export type TunnelTarget<Req> =
  | string
  | ConnectTarget
  | ((req: Req, target: ConnectTarget) => string | ConnectTarget | Promise<string | ConnectTarget>)

/** Check a fixed tunnel target when `tunnel()` is created. */
export function checkTunnelTarget<Req>(target: TunnelTarget<Req> | undefined): TunnelTarget<Req> | undefined {
  if (target === undefined || typeof target === 'function') return target
  resolveTarget(target)
  return target
}

function resolveTarget(target: string | ConnectTarget): ConnectTarget {
  const parsed = typeof target === 'string' ? parseAuthority(target) : target
  if (
    parsed === undefined ||
    typeof parsed.host !== 'string' ||
    parsed.host === '' ||
    !Number.isInteger(parsed.port) ||
    parsed.port < 1 ||
    parsed.port > 65535
  ) {
    throw new TypeError(`tunnel target ${JSON.stringify(target)} is not host:port`)
  }
  return { host: parsed.host, port: parsed.port }
}

/**
 * Open the tunnel for a CONNECT request `installConnect()` delivered: connect
 * to the target (the request's own unless `target` says), then answer `200
 * Connection Established` and pipe both ways with backpressure. Resolves
 * once the tunnel is open; rejects with `proxy.upstream.failed` (502) when
 * the target cannot be reached, with nothing written yet.
 */
export async function openTunnel<Req>(req: IncomingMessage, from: Req, target: TunnelTarget<Req> | undefined): Promise<void> {
  const state = (req as WithConnect)[kConnect]
  if (state === undefined) throw new TypeError('tunnel() only answers a CONNECT request delivered by installConnect(server, app)')
  const own: ConnectTarget = { host: state.host, port: state.port }
  const chosen = target === undefined ? own : typeof target === 'function' ? await target(from, own) : target
  const { host, port } = resolveTarget(chosen)
  const { socket } = state
  if (socket.destroyed) return
  const upstream = net.connect({ host, port })
  await new Promise<void>((resolve, reject) => {
    const gone = (): void => {
      upstream.destroy()
      resolve()
    }
    socket.once('close', gone)
    upstream.once('connect', () => {
      socket.removeListener('close', gone)
      upstream.removeAllListeners('error')
      state.tunneled = true
      splice(socket, upstream, state.head)
      resolve()
    })
    upstream.once('error', (err) => {
      socket.removeListener('close', gone)
      reject(upstreamFailed(err))
    })
  })
}

/** Answer 200 on `client` and join it to `upstream` both ways; either closing or failing closes both. */
function splice(client: Duplex, upstream: net.Socket, head: Buffer): void {
  const res = (client as { _httpMessage?: ServerResponse | null })._httpMessage
  if (res !== undefined && res !== null) {
    res.statusCode = 200 // for loggers: the 200 itself is written raw, it frames no body
    res.detachSocket(client as net.Socket)
  }
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
  if (head.length > 0) upstream.write(head)
  const closeBoth = (): void => {
    client.destroy()
    upstream.destroy()
  }
  client.on('error', closeBoth)
  upstream.on('error', closeBoth)
  client.once('close', closeBoth)
  upstream.once('close', closeBoth)
  client.pipe(upstream)
  upstream.pipe(client)
}
