/**
 * Every error passport raises, in one module that imports nothing, so that every layer (store,
 * core, server, CLI) can import it without importing upward. The shape follows jose's
 * `util/errors.ts`: one base class; each class has a stable string code, both as a static
 * property (`InvalidTokenError.code`, to compare without an instance) and on every instance
 * (`error.code`). The CLI maps classes to exit codes in one place and the server maps
 * {@link OAuthError} to HTTP responses in one place.
 */
export class PassportError extends Error {
  static readonly code: string = 'ERR_PASSPORT'
  readonly code: string = 'ERR_PASSPORT'

  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A problem the user can fix: wrong input, missing file, unknown id. CLI exit code 1. */
export class UserError extends PassportError {
  static override readonly code: string = 'ERR_USER'
  override readonly code: string = 'ERR_USER'
}

/** The configuration file or an environment variable holds something invalid. */
export class ConfigError extends UserError {
  static override readonly code: string = 'ERR_CONFIG'
  override readonly code = 'ERR_CONFIG'
}

/** Keys are missing, unreadable or malformed. */
export class KeyError extends UserError {
  static override readonly code: string = 'ERR_KEYS'
  override readonly code = 'ERR_KEYS'
}

/** A named thing (client, token, device code) does not exist. */
export class NotFoundError extends UserError {
  static override readonly code: string = 'ERR_NOT_FOUND'
  override readonly code = 'ERR_NOT_FOUND'
}

/** Refusal to overwrite or a state conflict (key exists, code already decided). */
export class ConflictError extends UserError {
  static override readonly code: string = 'ERR_CONFLICT'
  override readonly code = 'ERR_CONFLICT'
}

/** A value given on the command line or through the library API is malformed. */
export class InvalidInputError extends UserError {
  static override readonly code: string = 'ERR_INVALID_INPUT'
  override readonly code: string = 'ERR_INVALID_INPUT'
}

/**
 * A subject (user id) breaks the subject rule of `core/subjects.ts`, or equals the id of the
 * client a user token would be issued to.
 */
export class SubjectError extends InvalidInputError {
  static override readonly code: string = 'ERR_SUBJECT'
  override readonly code: string = 'ERR_SUBJECT'
}

/** A required value is missing and cannot be asked for (no TTY). CLI exit code 2. */
export class UsageError extends PassportError {
  static override readonly code: string = 'ERR_USAGE'
  override readonly code = 'ERR_USAGE'
}

/**
 * An OAuth 2 protocol error (RFC 6749 §5.2, RFC 6750 §3.1, RFC 8628 §3.5) with the HTTP status it
 * is answered with. `error_description` must say exactly which check failed.
 */
export class OAuthError extends PassportError {
  override readonly code: string
  readonly status: number
  /** Extra response headers, e.g. `WWW-Authenticate` for `invalid_client`. */
  readonly headers: Record<string, string>

  constructor(error: string, description: string, status = 400, headers: Record<string, string> = {}) {
    super(description)
    this.code = error
    this.status = status
    this.headers = headers
  }

  get error(): string {
    return this.code
  }

  get description(): string {
    return this.message
  }

  toJSON(): {error: string; error_description: string} {
    return {error: this.code, error_description: this.message}
  }
}

export const invalidRequest = (d: string) => new OAuthError('invalid_request', d)
export const invalidGrant = (d: string) => new OAuthError('invalid_grant', d)
export const invalidScope = (d: string) => new OAuthError('invalid_scope', d)
export const unauthorizedClient = (d: string) => new OAuthError('unauthorized_client', d)
export const unsupportedGrantType = (d: string) => new OAuthError('unsupported_grant_type', d)
export const accessDenied = (d: string) => new OAuthError('access_denied', d)

/** Why a token failed verification: a stable word to branch on (the message is for people). */
export type InvalidTokenReason =
  /** Not a compact JWS / JWT, or its header or claims cannot be read. */
  | 'malformed'
  /** Signed with an algorithm or key type that is not accepted. */
  | 'algorithm'
  /** Signed by a key the authority does not publish (unknown `kid`). */
  | 'unknown_key'
  | 'signature'
  /** `typ` is not `at+jwt` (an id token, say). */
  | 'type'
  | 'issuer'
  | 'audience'
  | 'expired'
  /** A required claim is missing or has the wrong type or value. */
  | 'claim'
  /** Not recorded by the authority's database (unknown `jti`), or its record does not match. */
  | 'unrecorded'
  | 'revoked'
  /** RFC 9449: a DPoP-bound token without its valid proof, or an unbound one sent with the DPoP scheme. */
  | 'dpop'

/**
 * A bearer token failed verification (RFC 6750 §3.1 `invalid_token`). `reason` says which check
 * failed, as jose's `JWTClaimValidationFailed` does, so callers need not parse the message.
 */
export class InvalidTokenError extends UserError {
  static override readonly code: string = 'invalid_token'
  override readonly code = 'invalid_token'

  constructor(
    message: string,
    readonly reason: InvalidTokenReason,
    options?: {cause?: unknown},
  ) {
    super(message, options)
  }
}

/** A valid bearer token lacks a scope the resource needs (RFC 6750 §3.1 `insufficient_scope`). */
export class InsufficientScopeError extends UserError {
  static override readonly code: string = 'insufficient_scope'
  override readonly code = 'insufficient_scope'

  constructor(
    message: string,
    readonly scopes: string[],
  ) {
    super(message)
  }
}
