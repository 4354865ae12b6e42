/**
 * Hostile bodies: prototype-pollution keys, too many parameters, deep nesting,
 * malformed JSON and bad charsets. Ours must answer each exactly as
 * body-parser does (on Express 4, the body-parser 1.x Express 4 bundles; 2.x
 * elsewhere), never touch `Object.prototype`, and keep serving on the same
 * kept-alive connection afterwards.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import bodyParser from 'body-parser'
import { Client } from 'undici'
import { json, text, urlencoded } from '../../adapters/express/parsers.js'
import { createServer, express4, prototypeName, type Flavor, type Middleware } from './parity-harness.js'

/** The reference parsers on `flavor`: Express 4's own (body-parser 1.x) there, body-parser 2 elsewhere. */
type Reference = Pick<typeof bodyParser, 'json' | 'urlencoded' | 'text'>
const referenceOn = (flavor: Flavor): Reference => (flavor === 'express4' ? express4 : bodyParser)

/** The prototype of every object in `value` (to 20 levels), by path; own properties only. */
function prototypes(value: unknown, path = '$', out: Record<string, string | null> = {}, depth = 0) {
  if (value === null || typeof value !== 'object' || depth > 20) return out
  out[path] = prototypeName(value)
  for (const key of Object.keys(value)) {
    prototypes(Object.getOwnPropertyDescriptor(value, key)!.value, `${path}.${key}`, out, depth + 1)
  }
  return out
}

/** How deeply objects and arrays nest in `value` (a scalar is 0), counted without recursion. */
function nesting(value: unknown): number {
  let deepest = 0
  const pending: Array<[unknown, number]> = [[value, 1]]
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!
    if (item === null || typeof item !== 'object') continue
    deepest = Math.max(deepest, depth)
    for (const key of Object.keys(item)) pending.push([Object.getOwnPropertyDescriptor(item, key)!.value, depth + 1])
  }
  return deepest
}

/**
 * Bodies nested deeper than this are reported by their depth, not echoed:
 * whether JSON.stringify can serialize them depends on the Node line (Node 26
 * can, 20 to 24 cannot), and jest's recursive `toEqual` overflows the stack
 * on them.
 */
const ECHO_DEPTH = 100

function respond(req: any, res: http.ServerResponse, err?: any): void {
  const body = req.body
  const depth = nesting(body)
  const summary = {
    rawType: typeof body,
    prototypes: prototypes(body),
    err: err === undefined ? undefined : { status: err.status, type: err.type, message: err.message, expose: err.expose },
  }
  const payload = JSON.stringify(depth > ECHO_DEPTH ? { ...summary, depth } : { ...summary, body })
  res.statusCode = err === undefined ? 200 : err.status ?? 500
  res.setHeader('Content-Type', 'application/json')
  res.end(payload)
}

interface Pair {
  servers: http.Server[]
  clients: Client[]
}

async function startPair(flavor: Flavor, reference: Middleware, ours: Middleware): Promise<Pair> {
  const servers = [createServer(flavor, reference, respond), createServer(flavor, ours, respond)]
  const clients: Client[] = []
  for (const server of servers) {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    // One kept-alive connection per server: "keeps serving" means on it too.
    clients.push(new Client(`http://127.0.0.1:${port}`, { pipelining: 1 }))
  }
  return { servers, clients }
}

async function stopPair(pair: Pair): Promise<void> {
  await Promise.all(pair.clients.map((client) => client.close()))
  for (const server of pair.servers) server.closeAllConnections()
  await Promise.all(pair.servers.map((server) => new Promise((resolve) => server.close(resolve))))
}

async function send(client: Client, contentType: string, body: string | Buffer) {
  const res = await client.request({ method: 'POST', path: '/', headers: { 'content-type': contentType }, body })
  return { status: res.statusCode, json: (await res.body.json()) as any }
}

function expectPrototypeUntouched(): void {
  expect(({} as any).polluted).toBeUndefined()
  expect((Object.prototype as any).polluted).toBeUndefined()
  expect(Object.keys(Object.prototype)).toEqual([])
}

interface Setup {
  name: string
  contentType: string
  reference: (parsers: Reference) => Middleware
  ours: () => Middleware
  /** A well-formed body and what it parses to, sent after each hostile one. */
  healthy: [string, unknown]
  hostile: Array<[string, string | Buffer, string?]>
}

const FORM = 'application/x-www-form-urlencoded'

function shorten(body: string): string {
  return body.length > 40 ? `${body.slice(0, 20)}… (${body.length} chars)` : body
}

const POLLUTING_FORMS = [
  '__proto__[polluted]=yes',
  '__proto__=yes',
  '__proto__.polluted=yes',
  'constructor[prototype][polluted]=yes',
  'constructor.prototype.polluted=yes',
  'a[__proto__][polluted]=yes',
  'a[constructor][prototype][polluted]=yes',
  '[__proto__][polluted]=yes',
  'prototype[polluted]=yes',
  'a=1&__proto__[polluted]=yes&a=2',
  '__proto__[]=yes&__proto__[]=no',
  'a[]=1&a[__proto__]=2',
  'toString=yes&hasOwnProperty=no&valueOf[x]=1',
  '%5F%5Fproto%5F%5F%5Bpolluted%5D=yes',
]

const setups: Setup[] = [
  {
    name: 'json()',
    contentType: 'application/json',
    reference: (parsers) => parsers.json(),
    ours: () => json(),
    healthy: ['{"ok":true}', { ok: true }],
    hostile: [
      ['{"__proto__":{"polluted":"yes"}}'],
      ['{"constructor":{"prototype":{"polluted":"yes"}}}'],
      ['{"a":{"__proto__":{"polluted":"yes"}},"prototype":{"polluted":1}}'],
      ['[{"__proto__":{"polluted":"yes"}}]'],
      ['{"__proto__":null}'],
      ['{'],
      ['{"a":1'],
      ['{"a":1,}'],
      ['{"a":\u0000}'],
      ['[' + '1,'.repeat(10) + ']'],
      ['\uFEFF\uFEFF{}'],
      ['"__proto__"'],
      ['['.repeat(5000) + ']'.repeat(5000)],
      ['{}', 'application/json; charset=latin1'],
      ['{}', 'application/json; charset=utf-7'],
      ['{}', 'application/json; charset=utf-nope'],
      ['{}', 'application/json; charset="'],
    ].map(([body, type]) => [shorten(body) + (type ? ` as ${type}` : ''), body, type] as [string, string, string?]),
  },
  {
    name: 'urlencoded()',
    contentType: FORM,
    reference: (parsers) => parsers.urlencoded(),
    ours: () => urlencoded(),
    healthy: ['ok=1', { ok: '1' }],
    hostile: [
      ...POLLUTING_FORMS.map((body) => [body, body] as [string, string]),
      ['1001 parameters', 'a=1&'.repeat(1000) + 'b=2'],
      ['charset=utf-16', 'a=1', `${FORM}; charset=utf-16`],
      ['charset=bogus', 'a=1', `${FORM}; charset=bogus`],
    ],
  },
  {
    name: 'urlencoded({ extended: true })',
    contentType: FORM,
    reference: (parsers) => parsers.urlencoded({ extended: true }),
    ours: () => urlencoded({ extended: true }),
    healthy: ['ok[deep]=1', { ok: { deep: '1' } }],
    hostile: [
      ...POLLUTING_FORMS.map((body) => [body, body] as [string, string]),
      ['1001 parameters', 'a[]=1&'.repeat(1000) + 'b=2'],
      ['depth 33', 'a' + '[b]'.repeat(33) + '=1'],
      ['depth 200', 'a' + '[b]'.repeat(200) + '=1'],
      ['array index 1e9', 'a[1000000000]=1'],
      ['200 array items', 'a[]=1&'.repeat(199) + 'a[]=2'],
      ['unbalanced brackets', 'a[b=1&c]]=2&[=3&]=4'],
      ['malformed percent-escapes', 'a=%&b=%zz&%E0%A4%A=1'],
      ['charset=latin1', 'a=1', `${FORM}; charset=latin1`],
    ],
  },
  {
    name: 'text()',
    contentType: 'text/plain',
    reference: (parsers) => parsers.text(),
    ours: () => text(),
    healthy: ['ok', 'ok'],
    hostile: [
      ['charset=bogus', 'x', 'text/plain; charset=bogus'],
      ['charset=utf-7', '+AGEAYgBj-', 'text/plain; charset=utf-7'],
      ['lone surrogate bytes', Buffer.from([0xed, 0xa0, 0x80]) as unknown as string],
      ['utf-16le odd length', Buffer.from([0x61, 0x00, 0x62]) as unknown as string, 'text/plain; charset=utf-16le'],
    ],
  },
]

const flavors: Flavor[] = ['express4', 'express5', 'node:http']

describe.each(flavors)('on %s', (flavor) => {
  describe.each(setups)('$name', (setup) => {
    let pair: Pair

    beforeAll(async () => {
      pair = await startPair(flavor, setup.reference(referenceOn(flavor)), setup.ours())
    })

    afterAll(async () => {
      await stopPair(pair)
      expectPrototypeUntouched()
    })

    // Every row has three entries, so that jest never mistakes the last parameter for `done`.
    const rows = setup.hostile.map(([name, body, type]) => [name, body, type ?? setup.contentType] as const)

    it.each(rows)('answers %j as body-parser does and keeps serving', async (_name, body, contentType) => {
      const [expected, actual] = await Promise.all(pair.clients.map((client) => send(client, contentType, body)))
      expect(actual).toEqual(expected)
      expectPrototypeUntouched()

      const [healthyBody, healthyResult] = setup.healthy
      for (const client of pair.clients) {
        const after = await send(client, setup.contentType, healthyBody)
        expect(after.status).toBe(200)
        expect(after.json.body).toEqual(healthyResult)
      }
    })
  })
})

describe('statuses and types of hostile bodies', () => {
  // Pinned, so that a change in body-parser itself shows up here too.
  let pair: Pair

  beforeAll(async () => {
    pair = await startPair('express5', bodyParser.urlencoded({ extended: true }), urlencoded({ extended: true }))
  })

  afterAll(() => stopPair(pair))

  it.each([
    [413, 'parameters.too.many', 'a=1&'.repeat(1000) + 'b=2', FORM],
    [400, 'querystring.parse.rangeError', 'a' + '[b]'.repeat(33) + '=1', FORM],
    [415, 'charset.unsupported', 'a=1', `${FORM}; charset=utf-16`],
  ])('gives %i %s', async (status, type, body, contentType) => {
    for (const client of pair.clients) {
      const res = await send(client, contentType, body)
      expect(res.status).toBe(status)
      expect(res.json.err.type).toBe(type)
    }
  })
})
