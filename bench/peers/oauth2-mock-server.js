#!/usr/bin/env node
// Peer: oauth2-mock-server on 127.0.0.1, signing RS256 with the bench's RSA-2048 key.
// It accepts client_credentials from any client (it does not check secrets) and keeps no state.
//   node bench/peers/oauth2-mock-server.js --key-dir D    → {"issuer":…,"port":…,"token_path":"/token"}
import {createPrivateKey} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {OAuth2Server} from 'oauth2-mock-server'

const {values: opts} = parseArgs({options: {'key-dir': {type: 'string'}}})
const jwk = createPrivateKey(readFileSync(join(opts['key-dir'], 'oauth-private.key'), 'utf8')).export({format: 'jwk'})

const server = new OAuth2Server()
await server.issuer.keys.add({...jwk, alg: 'RS256', kid: 'bench', use: 'sig'})
await server.start(0, '127.0.0.1')
const {port} = server.address()
process.stdout.write(`${JSON.stringify({issuer: server.issuer.url, port, token_path: '/token'})}\n`)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void server.stop().finally(() => process.exit(0)))
