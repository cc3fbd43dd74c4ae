#!/usr/bin/env node
// The cold-start reference for `passport token`: load jose, read the private key, sign one
// RS256 access token, print it. Everything a token-minting CLI cannot avoid, nothing else.
//   node bench/cold/jose-sign.js path/to/oauth-private.key
import {createPrivateKey, randomUUID} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {SignJWT} from 'jose'

const key = createPrivateKey(readFileSync(process.argv[2], 'utf8'))
const now = Math.floor(Date.now() / 1000)
const token = await new SignJWT({client_id: '__cli__', scope: 'read', scopes: ['read']})
  .setProtectedHeader({alg: 'RS256', typ: 'at+jwt', kid: 'bench'})
  .setIssuer('http://127.0.0.1:9000')
  .setSubject('a')
  .setAudience('__cli__')
  .setJti(randomUUID())
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(key)
process.stdout.write(`${token}\n`)
