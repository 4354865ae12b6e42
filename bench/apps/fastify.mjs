// Fastify's JSON route: the reference line for small bodies.
import http from 'node:http'
import Fastify from 'fastify'

export async function json() {
  let server
  const app = Fastify({
    serverFactory(handler) {
      server = http.createServer(handler)
      return server
    },
  })
  app.post('/json', async (req) => req.body)
  await app.ready()
  return server
}
