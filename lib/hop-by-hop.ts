/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): the ones that describe one
 * connection, not the message, and that a proxy never forwards, in either
 * direction.
 */

/** Always hop-by-hop, whatever `Connection` says. `proxy-*` is matched by prefix. */
const ALWAYS = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings'])

/**
 * The names a message's `Connection` header lists (lower-cased): these are
 * hop-by-hop for that message too. `values` are the header's values as
 * received (one per field line).
 */
export function connectionTokens(values: string | readonly string[] | undefined): Set<string> {
  const tokens = new Set<string>()
  if (values === undefined) return tokens
  for (const value of typeof values === 'string' ? [values] : values) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase()
      if (name !== '') tokens.add(name)
    }
  }
  return tokens
}

/**
 * Whether the header `name` (lower-cased) is hop-by-hop for a message whose
 * `Connection` header lists `listed`. HTTP/2 pseudo-headers (`:path`) are
 * never forwarded as headers either.
 */
export function isHopByHop(name: string, listed: ReadonlySet<string>): boolean {
  return ALWAYS.has(name) || name.startsWith('proxy-') || name.startsWith(':') || listed.has(name)
}

/**
 * The end-to-end headers of a message given as Node's `rawHeaders` (a flat
 * name, value, name, value… list, names as sent), in order and with
 * repeats, as a flat list again. Names in `drop` (lower-cased) are left out
 * too.
 */
export function endToEndRaw(rawHeaders: readonly string[], drop: ReadonlySet<string> = new Set()): string[] {
  const connection: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'connection') connection.push(rawHeaders[i + 1])
  }
  const listed = connectionTokens(connection)
  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase()
    if (isHopByHop(name, listed) || drop.has(name)) continue
    out.push(rawHeaders[i], rawHeaders[i + 1])
  }
  return out
}

/**
 * The end-to-end headers of a message given as an object of lower-cased
 * names (Node's `headers`, undici's response headers), with repeated headers
 * as arrays.
 */
export function endToEnd(headers: Readonly<Record<string, string | string[] | undefined>>): [string, string | string[]][] {
  const listed = connectionTokens(headers.connection)
  const out: [string, string | string[]][] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name, listed)) continue
    out.push([name, value])
  }
  return out
}
