/**
 * The development-time body record: per route, what the buffered bodies that
 * actually arrived looked like (how many, how large, how long they took to
 * buffer, how many were refused with 413), so that the legacy routes worth
 * moving to `streaming()` stand out.
 *
 * Off until an adapter's `recordBodies(app)` turns it on, and never on when
 * `NODE_ENV` is `production`. Off, it costs one property read per buffered
 * body (`bodyRecord.track` is undefined). Memory is bounded: a fixed number
 * of routes per app, and a fixed reservoir of samples per route for the
 * 95th percentiles.
 */
import type { IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'

/** What arrived on one route, as `describeRoutes()` reports it. */
export interface BodyStats {
  /** Bodies buffered and handed to the route (parsed or not). */
  count: number
  /** The largest decoded body, in bytes. */
  maxBytes: number
  /** The 95th percentile of decoded body sizes, in bytes (over a sample of at most 512 bodies). */
  p95Bytes: number
  /** Time spent buffering bodies, in ms, summed over all of them. */
  totalMs: number
  /** The 95th percentile of the time one body took to buffer, in ms. */
  p95Ms: number
  /** Bodies refused with 413 (over the limit, or too many form parameters). */
  tooLarge: number
  /** Bodies that failed otherwise (aborted, timed out, unparseable), by error `type`. */
  failed: Record<string, number>
}

/** Where one request's body is recorded: its app's table, under its route's key. */
export interface RecordTarget {
  readonly table: BodyRecordTable
  readonly key: string
}

/** Finds the table and route key for a request; one per adapter. */
export type RouteKeyer = (req: IncomingMessage) => RecordTarget | undefined

const RESERVOIR = 512
const MAX_ROUTES = 1000
/** The key samples go under once an app's table holds MAX_ROUTES routes. */
export const OTHER_ROUTES = '(other routes)'

/** A fixed-size uniform sample (Vitter's algorithm R) of a stream of numbers. */
class Reservoir {
  private readonly values: number[] = []
  private seen = 0

  add(value: number): void {
    this.seen++
    if (this.values.length < RESERVOIR) this.values.push(value)
    else {
      const slot = Math.floor(Math.random() * this.seen)
      if (slot < RESERVOIR) this.values[slot] = value
    }
  }

  percentile(p: number): number {
    if (this.values.length === 0) return 0
    const sorted = [...this.values].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
  }
}

class RouteRecord {
  count = 0
  maxBytes = 0
  totalMs = 0
  tooLarge = 0
  readonly failed: Record<string, number> = {}
  readonly sizes = new Reservoir()
  readonly times = new Reservoir()

  stats(): BodyStats {
    return {
      count: this.count,
      maxBytes: this.maxBytes,
      p95Bytes: this.sizes.percentile(95),
      totalMs: round(this.totalMs),
      p95Ms: round(this.times.percentile(95)),
      tooLarge: this.tooLarge,
      failed: { ...this.failed },
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** One app's record: route key (`'POST /api/items'`) to what arrived there. */
export class BodyRecordTable {
  private readonly routes = new Map<string, RouteRecord>()

  private route(key: string): RouteRecord {
    let record = this.routes.get(key)
    if (record === undefined) {
      if (this.routes.size >= MAX_ROUTES) key = OTHER_ROUTES
      record = this.routes.get(key) ?? new RouteRecord()
      this.routes.set(key, record)
    }
    return record
  }

  /** A body buffered in `ms` milliseconds: `bytes` long, or refused with `err`. */
  add(key: string, ms: number, bytes: number | undefined, err?: unknown): void {
    const record = this.route(key)
    if (err === undefined) {
      record.count++
      record.totalMs += ms
      record.times.add(ms)
      const size = bytes ?? 0
      record.sizes.add(size)
      if (size > record.maxBytes) record.maxBytes = size
      return
    }
    const status = (err as { status?: unknown } | null)?.status
    if (status === 413) {
      record.tooLarge++
      return
    }
    const type = (err as { type?: unknown } | null)?.type
    const name = typeof type === 'string' ? type : 'error'
    record.failed[name] = (record.failed[name] ?? 0) + 1
  }

  /** The stats recorded under `key`, if any body arrived there. */
  get(key: string): BodyStats | undefined {
    return this.routes.get(key)?.stats()
  }

  /** Every route key with a record. */
  keys(): string[] {
    return [...this.routes.keys()]
  }
}

/**
 * The hook `beginBufferedThen()` calls: `track` is undefined while no app is
 * recorded, so the buffered path pays one property read.
 */
export const bodyRecord: { track: ((req: IncomingMessage) => ((err?: unknown) => void) | undefined) | undefined } = {
  track: undefined,
}

const keyers: RouteKeyer[] = []

/** Whether a record may be kept at all: never in production. */
export function recordingAllowed(): boolean {
  return process.env.NODE_ENV !== 'production'
}

/** Turn the record on with `keyer` (an adapter's), once per keyer. */
export function addRouteKeyer(keyer: RouteKeyer): void {
  if (!keyers.includes(keyer)) keyers.push(keyer)
  bodyRecord.track = track
}

function targetOf(req: IncomingMessage): RecordTarget | undefined {
  for (const keyer of keyers) {
    const target = keyer(req)
    if (target !== undefined) return target
  }
  return undefined
}

/** Start recording one body: returns the function to call when it is read (or failed), if its route is recorded. */
function track(req: IncomingMessage): ((err?: unknown) => void) | undefined {
  const target = targetOf(req)
  if (target === undefined) return undefined
  const start = performance.now()
  return (err) => {
    if (err === undefined) target.table.add(target.key, performance.now() - start, (req as { rawBody?: Buffer }).rawBody?.length)
    else target.table.add(target.key, performance.now() - start, undefined, err)
  }
}
