// Apps with many routes, for the cost of the shim's route lookup. Routes come
// in groups of ten, each group an express.Router() mounted under an /api
// router, with a mix of static paths, params, app.route() chains, router.all
// and streaming routes. The same app is built with and without streamShim().
import http from 'node:http'
import express from 'express'
import { expressShim } from '../lib/shim.mjs'

const { streamShim, streaming } = expressShim
const GROUP = 10

function ok(req, res) {
  res.end('ok')
}

/** Paths that exist for GET in an app of `count` routes: the first, middle and last groups. */
export function samplePaths(count) {
  const groups = Math.ceil(count / GROUP)
  const last = groups - 1
  const mid = last >> 1
  return [
    `/api/g0/r0`,
    `/api/g${mid}/r1/42`,
    `/api/g${mid}/r2/7/items/9`,
    `/api/g${last}/r4/x/y`,
    `/api/g${last}/r6/1234`,
    `/api/g${last}/r7/5/items/6`,
  ].filter((path) => Number(/r(\d+)/.exec(path)[1]) < Math.min(GROUP, count))
}

/** A GET path to a param route in group `n % groups` that is new each time `n` is. */
export function distinctPath(count, n) {
  const groups = Math.ceil(count / GROUP)
  return `/api/g${n % groups}/r1/${n}`
}

/** PUT paths with a body, to buffered routes (a `route()` chain and a `router.all`) in the first, middle and last groups. */
export function putPaths(count) {
  const groups = Math.ceil(count / GROUP)
  const last = groups - 1
  const mid = last >> 1
  return [`/api/g0/r2/1/items/2`, `/api/g${mid}/r2/7/items/9`, `/api/g${last}/r4/x/y`, `/api/g${mid}/r4/a/b`].filter(
    (path) => Number(/r(\d+)/.exec(path)[1]) < Math.min(GROUP, count),
  )
}

/** A PUT path to the `router.all('/r4/:a/:b')` route of group `n % groups`, new each time `n` is. */
export function distinctPutPath(count, n) {
  const groups = Math.ceil(count / GROUP)
  return `/api/g${n % groups}/r4/${n}/x`
}

/**
 * `count` routes; with `shim`, `streamShim()` mounted first; else, with
 * `parser`, `express.json()` app-wide (the app before the shim).
 */
export function manyRoutes({ count, shim, parser = false }) {
  const app = express()
  if (shim) app.use(streamShim())
  else if (parser) app.use(express.json())
  const api = express.Router()
  let made = 0
  for (let g = 0; made < count; g++) {
    const group = express.Router()
    for (let r = 0; r < GROUP && made < count; r++, made++) {
      switch (r % 5) {
        case 0:
          group.get(`/r${r}`, ok)
          break
        case 1:
          group.get(`/r${r}/:id`, ok)
          break
        case 2:
          group.route(`/r${r}/:id/items/:item`).get(ok).put(ok)
          break
        case 3:
          group.put(`/r${r}/:name`, streaming({ limit: '1mb' }, ok))
          break
        case 4:
          group.all(`/r${r}/:a/:b`, ok)
          break
      }
    }
    api.use(`/g${g}`, group)
  }
  app.use('/api', api)
  return http.createServer(app)
}
