// Type-level tests of createServer() and createSecureServer(): `tsc -p test/types`
// must pass, and every @ts-expect-error line must really be an error.
import http from 'node:http'
import https from 'node:https'
import express from 'express'
import { createSecureServer, createServer } from '../../adapters/express/index.js'
import type { CreateSecureServerOptions, CreateServerOptions, ExpressApp } from '../../adapters/express/index.js'

const app = express()
const asApp: ExpressApp = app
const server: http.Server = createServer(app)
const tuned: http.Server = createServer(app, { keepAlive: true, maxHeaderSize: 16_384, requestTimeout: 60_000 })
const secure: https.Server = createSecureServer(app, { key: 'PEM', cert: 'PEM', minVersion: 'TLSv1.2' })
const options: CreateServerOptions = { noDelay: true }
const tls: CreateSecureServerOptions = { ...options, key: 'PEM', cert: 'PEM' }
void [asApp, server, tuned, secure, createServer(app, options), createSecureServer(app, tls)]

// @ts-expect-error the server provides IncomingMessage itself
createServer(app, { IncomingMessage: http.IncomingMessage })
// @ts-expect-error the server provides ServerResponse itself
createSecureServer(app, { ServerResponse: http.ServerResponse })
// @ts-expect-error a plain request listener is not an Express app
createServer((_req: http.IncomingMessage, res: http.ServerResponse) => res.end())
