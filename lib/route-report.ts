/**
 * The migration report both adapters' `describeRoutes()` return: one row per
 * route with its body mode, its effective options and, when the body record
 * is on, what actually arrived there; and `formatRoutes()`, which prints it
 * as a table.
 */
import bytes from 'bytes'
import type { BodyStats } from './body-record.js'
import type { StreamingConfig } from './config.js'
import type { Parser } from './parsers.js'
import type { TypeMatcher } from './options.js'

/** How a route reads its request body, as far as the shim can tell from the app. */
export type RouteMode = 'streaming' | 'buffered' | 'unknown'

/** One body parser of a buffered route, with its effective options. */
export interface ParserReport {
  /** `'json'`, `'urlencoded'`, `'text'`, `'raw'` (Koa: `'json'`, `'urlencoded'` for forms, `'text'` for text and xml). */
  kind: string
  /** Largest body accepted, in bytes, after decoding. */
  limit: number
  /** Idle gap between chunks, in ms, before 408; `false` for none. */
  timeout: number | false
}

/** A route's effective options: the route's own over the shim's over the defaults. */
export interface RouteOptions {
  /** Largest body accepted, in bytes; for a buffered route, the largest of its parsers' limits; `null` for no limit. */
  limit: number | null
  /**
   * Streaming: the media types accepted (`null`: any; `'(function)'` for a function).
   * Buffered: the kinds of body parsed (`'json'`, `'urlencoded'`, …); others are left unread.
   */
  types: string[] | null
  /** Idle gap between chunks, in ms, before 408; `false` for none. For a buffered route, the longest of its parsers'. */
  timeout: number | false
  /** Buffered routes: each parser, in the order they are tried. */
  parsers?: ParserReport[]
}

/** One row of the report. Plain data: `JSON.stringify()` gives the JSON form. */
export interface RouteReport {
  /** `'GET'`, `'POST'`, …; `'ALL'` for `app.all()`, `router.use()` and mounted middleware. */
  method: string
  /** The route's full path pattern (`'/api/files/:name'`). */
  path: string
  mode: RouteMode
  /** Why the mode is `unknown`, or how a buffered body is read when stream-shim does not read it. */
  reason?: string
  /** Effective options, when stream-shim reads the body. */
  options?: RouteOptions
  /** What arrived, when `recordBodies(app)` is on and a body did. */
  bodies?: BodyStats
}

/** The options of a streaming route, reported. `types` is the raw option (route's, else the shim's). */
export function streamingOptions(config: StreamingConfig, types: TypeMatcher | undefined): RouteOptions {
  return {
    limit: reportLimit(config.limit),
    types: types === undefined ? null : typeof types === 'function' ? ['(function)'] : typeof types === 'string' ? [types] : [...types],
    timeout: config.timeout > 0 ? config.timeout : false,
  }
}

/** The options of a buffered route, reported from its parsers. */
export function bufferedOptions(parsers: readonly Parser[]): RouteOptions {
  const list = parsers.map((parser) => ({
    kind: parser.kind,
    limit: parser.limit,
    timeout: parser.timeout > 0 ? parser.timeout : (false as const),
  }))
  const limits = list.map((parser) => parser.limit)
  const timeouts = list.map((parser) => parser.timeout).filter((t): t is number => t !== false)
  return {
    limit: limits.length === 0 ? null : reportLimit(Math.max(...limits)),
    types: [...new Set(list.map((parser) => parser.kind))],
    timeout: timeouts.length === 0 ? false : Math.max(...timeouts),
    parsers: list,
  }
}

function reportLimit(limit: number): number | null {
  return Number.isFinite(limit) ? limit : null
}

/**
 * Attach recorded bodies to the rows, by `'METHOD path'` key. A record for
 * a method an `ALL` row serves gets a row of its own (a copy of the `ALL`
 * row); a record no row takes (a route the report cannot list, or no route
 * at all) gets an `unknown` row.
 */
export function attachBodies(
  rows: RouteReport[],
  keys: readonly string[],
  stats: (key: string) => BodyStats | undefined,
  reasonFor: (key: string) => string,
): RouteReport[] {
  const byKey = new Map(rows.map((row) => [`${row.method} ${row.path}`, row]))
  const out = [...rows]
  for (const key of keys) {
    const bodies = stats(key)
    if (bodies === undefined) continue
    const row = byKey.get(key)
    if (row !== undefined) {
      row.bodies = bodies
      continue
    }
    const space = key.indexOf(' ')
    const method = space < 0 ? key : key.slice(0, space)
    const path = space < 0 ? '' : key.slice(space + 1)
    const all = byKey.get(`ALL ${path}`)
    const extra: RouteReport = all !== undefined
      ? { ...all, method, bodies }
      : { method, path, mode: 'unknown', reason: reasonFor(key), bodies }
    byKey.set(key, extra)
    out.push(extra)
  }
  return out
}

/** A buffered route is worth streaming when bodies were refused with 413 there or one reached 1 MiB. */
function candidate(row: RouteReport): boolean {
  return row.mode === 'buffered' && row.bodies !== undefined && (row.bodies.tooLarge > 0 || row.bodies.maxBytes >= 1024 * 1024)
}

function size(value: number | null | undefined): string {
  if (value === null) return 'none'
  if (value === undefined) return ''
  return bytes.format(value, { unitSeparator: ' ' }) ?? String(value)
}

/**
 * The report as a plain-text table, one line per route, with what arrived
 * (when recorded) and, at the end, the buffered routes worth streaming.
 *
 * @example
 * console.log(formatRoutes(describeRoutes(app)))
 */
export function formatRoutes(rows: readonly RouteReport[]): string {
  const recorded = rows.some((row) => row.bodies !== undefined)
  const header = ['METHOD', 'PATH', 'MODE', 'LIMIT', 'TYPES', 'TIMEOUT']
  if (recorded) header.push('BODIES', 'MAX', 'P95', 'BUFFER MS', 'P95 MS', '413')
  header.push('NOTE')
  const lines = rows.map((row) => {
    const o = row.options
    const cells = [
      row.method,
      row.path,
      row.mode,
      o === undefined ? '' : size(o.limit),
      o === undefined ? '' : o.types === null ? 'any' : o.types.join(','),
      o === undefined ? '' : o.timeout === false ? 'none' : `${o.timeout} ms`,
    ]
    if (recorded) {
      const b = row.bodies
      cells.push(
        b === undefined ? '' : String(b.count),
        b === undefined ? '' : size(b.maxBytes),
        b === undefined ? '' : size(b.p95Bytes),
        b === undefined ? '' : b.totalMs.toFixed(1),
        b === undefined ? '' : b.p95Ms.toFixed(1),
        b === undefined ? '' : String(b.tooLarge),
      )
    }
    cells.push([candidate(row) ? 'candidate to stream' : undefined, row.reason].filter((note) => note !== undefined).join('; '))
    return cells
  })
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((cells) => cells[i].length)))
  const format = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd()
  const out = [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)]
  const candidates = rows.filter(candidate)
  if (candidates.length > 0) {
    out.push('', `Candidates to stream (413s, or a body of 1 MiB or more): ${candidates.map((row) => `${row.method} ${row.path}`).join(', ')}`)
  }
  return out.join('\n') + '\n'
}
