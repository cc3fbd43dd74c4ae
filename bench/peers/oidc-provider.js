#!/usr/bin/env node
// Peer: oidc-provider (node-oidc-provider) on 127.0.0.1 with one client_credentials client
// (client_secret_basic) and the bench's RSA-2048 key. Access tokens are JWTs (RS256, at+jwt)
// through resource indicators (RFC 8707): a default resource whose server info asks for
// accessTokenFormat "jwt"; without it, client-credentials tokens are opaque.
//   node bench/peers/oidc-provider.js --key-dir D [--opaque]   → {"issuer":…,"port":…,"token_path":"/token"}
import {createPrivateKey} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import Provider from 'oidc-provider'

const {values: opts} = parseArgs({
  options: {
    'key-dir': {type: 'string'},
    opaque: {type: 'boolean', default: false},
    'client-id': {type: 'string', default: 'bench'},
    'client-secret': {type: 'string', default: 'bench-secret-123'},
  },
})
const jwk = createPrivateKey(readFileSync(join(opts['key-dir'], 'oauth-private.key'), 'utf8')).export({format: 'jwk'})
const RESOURCE = 'urn:passport:bench'

const server = createServer()
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const {port} = server.address()
const issuer = `http://127.0.0.1:${port}`

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: opts['client-id'],
      client_secret: opts['client-secret'],
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'read',
    },
  ],
  jwks: {keys: [{...jwk, kid: 'bench', use: 'sig', alg: 'RS256'}]},
  scopes: ['read'],
  features: {
    devInteractions: {enabled: false},
    clientCredentials: {enabled: true},
    introspection: {enabled: true},
    resourceIndicators: {
      enabled: !opts.opaque,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read',
        audience: RESOURCE,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: {sign: {alg: 'RS256'}},
      }),
    },
  },
})
provider.on('server_error', (_ctx, error) => process.stderr.write(`oidc-provider server_error: ${error.message}\n`))
server.on('request', provider.callback())
process.stdout.write(`${JSON.stringify({issuer, port, token_path: '/token'})}\n`)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close()
    server.closeAllConnections?.()
    process.exit(0)
  })
}
