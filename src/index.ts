export {Authority, DEFAULT_DATABASE, DEFAULT_ISSUER} from './core/authority.js'
export type {AuthorityOptions} from './core/authority.js'
export {OffsetClock, parseInstant} from './core/clock.js'
export type {Clock} from './core/clock.js'
export {defaultConfig, loadConfig, parseConfig} from './core/config.js'
export type {ClientConfig, PassportConfig, UserConfig} from './core/config.js'
export {parseDuration, formatDuration} from './core/duration.js'
export {
  ConfigError,
  ConflictError,
  InsufficientScopeError,
  InvalidInputError,
  InvalidTokenError,
  KeyError,
  NotFoundError,
  OAuthError,
  PassportError,
  UsageError,
  UserError,
} from './errors.js'
export type {InvalidTokenReason} from './errors.js'
export {createPersonalAccessToken, GRANT_CLI, mintToken} from './core/mint.js'
export type {MintedToken, MintTokenOptions, PersonalAccessToken, PersonalAccessTokenOptions} from './core/mint.js'
export {
  generateKeys,
  keyLocation,
  loadKeys,
  publicJwks,
  rotateKeys,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from './core/keys.js'
export type {SigningKeys} from './core/keys.js'
export {tokenCan} from './core/scopes.js'
export {verifyAccessToken} from './core/verify.js'
export type {AccessTokenClaims, VerifiedAccessToken, VerifyAccessTokenOptions} from './core/verify.js'
export {startServer} from './api.js'
export type {StartServerOptions} from './api.js'
export {protectedResourceMetadataUrl, requireBearer} from './server/bearer.js'
export type {AuthorityEndpoints, AuthorityHandle} from './control/handle.js'
export {PROTOCOL_FAULT_NAMES} from './control/faults.js'
export type {Fault, FaultSpec, ProtocolFaultName} from './control/faults.js'
export type {LoggedRequest} from './control/request-log.js'
export type {UserInput} from './control/users.js'
export {controlClient} from './control/client.js'
export type {ControlClient, ControlLocation} from './control/client.js'
export type {BearerGuard, BearerRequest, RequireBearerOptions} from './server/bearer.js'
export {protectedResourceMetadata, protectedResourceMetadataHandler} from './server/protected-resource.js'
export type {ProtectedResourceMetadataOptions} from './server/protected-resource.js'
export {protect} from './server/protect.js'
export type {ProtectOptions, RunningProxy} from './server/protect.js'
