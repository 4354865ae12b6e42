// Type-level tests of the migration report: describeRoutes(), recordBodies(), formatRoutes().
import express from 'express'
import Koa from 'koa'
import * as forExpress from '../../adapters/express/index.js'
import * as forKoa from '../../adapters/koa/index.js'
import type { BodyStats, RouteMode, RouteReport } from '../../adapters/express/index.js'

const rows: RouteReport[] = forExpress.describeRoutes(express())
const koaRows: forKoa.RouteReport[] = forKoa.describeRoutes(new Koa())
const recording: boolean = forExpress.recordBodies(express()) && forKoa.recordBodies(new Koa())
const table: string = forExpress.formatRoutes(rows) + forKoa.formatRoutes(koaRows)

for (const row of rows) {
  const mode: RouteMode = row.mode
  const limit: number | null | undefined = row.options?.limit
  const types: string[] | null | undefined = row.options?.types
  const timeout: number | false | undefined = row.options?.timeout
  const stats: BodyStats | undefined = row.bodies
  const p95: number | undefined = stats?.p95Bytes
  // @ts-expect-error a mode is one of three words
  const wrong: RouteMode = 'parsed'
  void [mode, limit, types, timeout, p95, wrong]
}

// @ts-expect-error formatRoutes takes the rows, not the app
forExpress.formatRoutes(express())

export { recording, table }
