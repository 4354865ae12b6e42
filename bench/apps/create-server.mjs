// Express apps served by http.createServer(app) (what app.listen() does) or
// by stream-shim's createServer(app), whose requests and responses are born
// with the app's prototypes. Option `helper`: use createServer.
import http from 'node:http'
import express from 'express'
import { expressShim } from '../lib/shim.mjs'
import { SMALL_OBJECT } from './common.mjs'

const { createServer, streamShim } = expressShim

function serve(app, { helper }) {
  return helper ? createServer(app) : http.createServer(app)
}

/** A 1 KB JSON body parsed by streamShim() and echoed back. */
export function echo(options) {
  const app = express()
  app.use(streamShim())
  app.post('/json', (req, res) => res.json(req.body ?? SMALL_OBJECT))
  return serve(app, options)
}

/** A GET with no body, answered with a small JSON document; streamShim() mounted, as in a real app. */
export function get(options) {
  const app = express()
  app.use(streamShim())
  app.get('/hello/:name', (req, res) => res.json({ hello: req.params.name }))
  return serve(app, options)
}
