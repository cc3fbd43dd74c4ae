import {
  GRANT_AUTHORIZATION_CODE,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_DEVICE_CODE,
  GRANT_REFRESH_TOKEN,
  GRANT_TOKEN_EXCHANGE,
} from '../clients.js'
import {authorizationCodeGrant} from './authorization-code.js'
import {clientCredentialsGrant} from './client-credentials.js'
import {deviceCodeGrant} from './device-code.js'
import {refreshTokenGrant} from './refresh-token.js'
import {tokenExchangeGrant} from './token-exchange.js'
import type {Grant} from './types.js'

export type {Grant, GrantInput, GrantParams} from './types.js'

/** The grants the token endpoint serves, by `grant_type`. */
export const GRANTS: ReadonlyMap<string, Grant> = new Map<string, Grant>([
  [GRANT_AUTHORIZATION_CODE, authorizationCodeGrant],
  [GRANT_CLIENT_CREDENTIALS, clientCredentialsGrant],
  [GRANT_REFRESH_TOKEN, refreshTokenGrant],
  [GRANT_DEVICE_CODE, deviceCodeGrant],
  [GRANT_TOKEN_EXCHANGE, tokenExchangeGrant],
])
