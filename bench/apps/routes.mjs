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

/** How many groups an app of `count` routes has, and the indexes of its middle and last. */
function groupsOf(count) {
  const groups = Math.ceil(count / GROUP)
  return { groups, mid: (groups - 1) >> 1, last: groups - 1 }
}

/** The paths whose route `r<k>` exists in an app of `count` routes (fewer than ten make a group short). */
function existing(paths, count) {
  return paths.filter((path) => Number(/r(\d+)/.exec(path)[1]) < Math.min(GROUP, count))
}

/** Paths that exist for GET in an app of `count` routes: the first, middle and last groups. */
export function samplePaths(count) {
  const { mid, last } = groupsOf(count)
  const paths = [`/api/g0/r0`, `/api/g${mid}/r1/42`, `/api/g${mid}/r2/7/items/9`, `/api/g${last}/r4/x/y`, `/api/g${last}/r6/1234`, `/api/g${last}/r7/5/items/6`]
  return existing(paths, count)
}

/** A GET path to a param route in group `n % groups` that is new each time `n` is. */
export function distinctPath(count, n) {
  return `/api/g${n % groupsOf(count).groups}/r1/${n}`
}

/** PUT paths with a body, to buffered routes (a `route()` chain and a `router.all`) in the first, middle and last groups. */
export function putPaths(count) {
  const { mid, last } = groupsOf(count)
  return existing([`/api/g0/r2/1/items/2`, `/api/g${mid}/r2/7/items/9`, `/api/g${last}/r4/x/y`, `/api/g${mid}/r4/a/b`], count)
}

/** A PUT path to the `router.all('/r4/:a/:b')` route of group `n % groups`, new each time `n` is. */
export function distinctPutPath(count, n) {
  return `/api/g${n % groupsOf(count).groups}/r4/${n}/x`
}

/** `count` routes, with `streamShim()` mounted first, or else `express.json()` (the app before the shim). */
export function manyRoutes({ count, shim }) {
  const app = express()
  app.use(shim ? streamShim() : express.json())
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
