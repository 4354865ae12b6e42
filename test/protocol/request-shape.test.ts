/**
 * Buffering a body leaves the request object as fast as it found it: the
 * shim adds what it documents (`rawBody`, body-parser 1.x's `_body`, and
 * `req.body` on Express) and never removes a property again, which would put
 * the object in V8's dictionary mode for the rest of the request.
 */
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { spawnServer } from '../helpers/http.js'

let child: ChildProcess
let port: number

beforeAll(async () => {
  ;({ child, port } = await spawnServer(path.join(__dirname, 'request-shape-server.ts'), { flags: ['--allow-natives-syntax'] }))
}, 30_000)

afterAll(async () => {
  child.kill()
  if (child.exitCode === null) await once(child, 'exit')
})

it.each(['express4', 'express5', 'koa2', 'koa3'])('%s: the request keeps fast properties after its JSON body is parsed', async (name) => {
  for (let i = 0; i < 3; i++) {
    const reply = await fetch(`http://127.0.0.1:${port}/${name}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: i }),
    })
    expect(await reply.json()).toEqual({ fast: true, body: { n: i } })
  }
})
