import {InvalidInputError} from '../errors.js'

/**
 * Faults a test injects on purpose: HTTP faults per endpoint (an OAuth error answer, a delay, a
 * dropped connection) and named protocol faults (a response that is well-formed but wrong in one
 * precise way a client must catch). Each is one-shot by default, `times: N`, or `persistent`
 * until cleared.
 */

/** The named protocol faults and the endpoint whose response each one spoils. */
export const PROTOCOL_FAULTS = {
  /** The authorization response's `iss` (RFC 9207) names another issuer. */
  'wrong-iss': 'authorize',
  /** The id token's `aud` is not the client. */
  'id-token-wrong-aud': 'token',
  /** The id token's `nonce` is not the one the client sent. */
  'id-token-wrong-nonce': 'token',
  /** The id token expired an hour ago. */
  'id-token-expired': 'token',
  /** The access token and id token are signed by a key the JWKS does not publish. */
  'unpublished-key': 'token',
  /** The discovery metadata lacks `code_challenge_methods_supported`. */
  'metadata-without-pkce': 'discovery',
  /** The token response lacks `token_type`. */
  'token-response-without-token-type': 'token',
} as const

export type ProtocolFaultName = keyof typeof PROTOCOL_FAULTS

export const PROTOCOL_FAULT_NAMES = Object.keys(PROTOCOL_FAULTS) as ProtocolFaultName[]

export function isProtocolFault(name: unknown): name is ProtocolFaultName {
  return typeof name === 'string' && Object.hasOwn(PROTOCOL_FAULTS, name)
}

/** What `faults.inject(endpoint, spec)` takes. */
export interface FaultSpec {
  /** Answer with this HTTP status (400–599) instead of serving the request. */
  status?: number
  /** The OAuth `error` of that answer; default by status (503 temporarily_unavailable, 5xx server_error, 4xx invalid_request). */
  error?: string
  /** Its `error_description`. */
  description?: string
  /** Wait this long (ms, at most 60,000) first; alone, the request is then served normally. */
  delayMs?: number
  /** Close the connection without an answer. */
  drop?: boolean
  /** How many requests it hits; default 1. */
  times?: number
  /** Hit every request until cleared. */
  persistent?: boolean
}

/** What a protocol fault takes. */
export interface ProtocolFaultOptions {
  times?: number
  persistent?: boolean
}

export interface HttpFault {
  kind: 'http'
  endpoint: string
  status?: number
  error?: string
  description?: string
  delayMs?: number
  drop?: boolean
  /** Hits left; Infinity when persistent. */
  remaining: number
}

export interface ProtocolFault {
  kind: 'protocol'
  name: ProtocolFaultName
  endpoint: string
  remaining: number
}

export type Fault = HttpFault | ProtocolFault

const OAUTH_TEXT = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/
const MAX_DELAY_MS = 60_000

/** A validation failure that names the field (the control API answers it as a 400). */
export class ControlInputError extends InvalidInputError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

function bad(field: string, message: string): never {
  throw new ControlInputError(field, `"${field}" ${message}`)
}

function readRemaining(options: {times?: unknown; persistent?: unknown}): number {
  if (options.persistent !== undefined && typeof options.persistent !== 'boolean')
    bad('persistent', 'must be true or false.')
  if (options.times !== undefined) {
    if (!Number.isSafeInteger(options.times) || (options.times as number) < 1)
      bad('times', `must be a whole number of at least 1; got ${JSON.stringify(options.times)}.`)
    if (options.persistent === true)
      bad('times', 'and "persistent" exclude each other: a persistent fault hits every request until cleared.')
    return options.times as number
  }
  return options.persistent === true ? Number.POSITIVE_INFINITY : 1
}

/** Checks an HTTP fault; throws {@link ControlInputError} naming the field. */
export function httpFault(endpoint: string, spec: FaultSpec): HttpFault {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    bad('fault', 'must be an object such as {"status": 503}.')
  const known = new Set(['status', 'error', 'description', 'delayMs', 'drop', 'times', 'persistent'])
  for (const key of Object.keys(spec))
    if (!known.has(key)) bad(key, `is not a fault setting; use ${[...known].join(', ')}.`)
  const fault: HttpFault = {kind: 'http', endpoint, remaining: readRemaining(spec)}
  if (spec.status !== undefined) {
    if (!Number.isSafeInteger(spec.status) || spec.status < 400 || spec.status > 599)
      bad('status', `must be an HTTP error status from 400 to 599; got ${JSON.stringify(spec.status)}.`)
    fault.status = spec.status
  }
  if (spec.error !== undefined) {
    if (typeof spec.error !== 'string' || !OAUTH_TEXT.test(spec.error))
      bad('error', 'must be a non-empty OAuth error code (printable ASCII without " or \\).')
    if (spec.status === undefined) bad('error', 'needs a "status" to answer with.')
    fault.error = spec.error
  }
  if (spec.description !== undefined) {
    if (typeof spec.description !== 'string' || !OAUTH_TEXT.test(spec.description))
      bad('description', 'must be a non-empty error_description (printable ASCII without " or \\).')
    if (spec.status === undefined) bad('description', 'needs a "status" to answer with.')
    fault.description = spec.description
  }
  if (spec.delayMs !== undefined) {
    if (!Number.isSafeInteger(spec.delayMs) || spec.delayMs < 0 || spec.delayMs > MAX_DELAY_MS)
      bad('delayMs', `must be whole milliseconds from 0 to ${MAX_DELAY_MS}; got ${JSON.stringify(spec.delayMs)}.`)
    fault.delayMs = spec.delayMs
  }
  if (spec.drop !== undefined) {
    if (typeof spec.drop !== 'boolean') bad('drop', 'must be true or false.')
    if (spec.drop && spec.status !== undefined)
      bad('drop', 'and "status" exclude each other: a dropped connection has no answer.')
    if (spec.drop) fault.drop = true
  }
  if (fault.status === undefined && fault.delayMs === undefined && !fault.drop)
    bad('status', 'is missing: a fault needs a "status", a "delayMs" or "drop": true.')
  return fault
}

/** Checks a protocol fault by name; throws {@link ControlInputError} naming the field. */
export function protocolFault(name: unknown, options: ProtocolFaultOptions = {}): ProtocolFault {
  if (!isProtocolFault(name))
    bad('fault', `must be one of ${PROTOCOL_FAULT_NAMES.join(', ')}; got ${JSON.stringify(name)}.`)
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    bad('fault', 'options must be an object such as {"times": 2}.')
  for (const key of Object.keys(options))
    if (key !== 'times' && key !== 'persistent')
      bad(key, 'is not a setting of a protocol fault; use times or persistent.')
  return {kind: 'protocol', name, endpoint: PROTOCOL_FAULTS[name], remaining: readRemaining(options)}
}

/** The default OAuth error for an injected status. */
export function defaultError(status: number): string {
  if (status === 503) return 'temporarily_unavailable'
  if (status >= 500) return 'server_error'
  if (status === 401) return 'invalid_client'
  if (status === 429) return 'slow_down'
  return 'invalid_request'
}

/**
 * The armed faults, by endpoint. `size` is 0 when nothing is armed: the server's one check per
 * request when test control is on.
 */
export class FaultRegistry {
  private readonly byEndpoint = new Map<string, Fault[]>()
  private readonly order = new WeakMap<Fault, number>()
  private added = 0
  size = 0

  constructor(private readonly endpoints: () => ReadonlySet<string>) {}

  /**
   * Arms a fault: `inject("token", {status: 503, error: "temporarily_unavailable"})`, or a named
   * protocol fault `inject("wrong-iss")` (also `inject("authorize", {fault: "wrong-iss"})`).
   * Nothing is armed when the input is wrong.
   */
  inject(target: string, spec: FaultSpec & {fault?: ProtocolFaultName} = {}): Fault {
    const fault = this.check(target, spec)
    this.add(fault)
    return fault
  }

  /** Validates without arming (the control API checks a whole body before it applies anything). */
  check(target: string, spec: object = {}): Fault {
    if (isProtocolFault(target)) return protocolFault(target, spec)
    if (typeof spec === 'object' && spec !== null && 'fault' in spec) {
      const {fault: name, ...options} = spec as Record<string, unknown>
      const fault = protocolFault(name, options)
      if (target !== fault.endpoint)
        bad(
          'endpoint',
          `must be ${fault.endpoint} for the ${fault.name} fault (or left out); got ${JSON.stringify(target)}.`,
        )
      return fault
    }
    const endpoints = this.endpoints()
    if (typeof target !== 'string' || !endpoints.has(target)) {
      bad(
        'endpoint',
        `must be one of ${[...endpoints].join(', ')} (or a protocol fault: ${PROTOCOL_FAULT_NAMES.join(', ')}); got ${JSON.stringify(target)}.`,
      )
    }
    return httpFault(target, spec)
  }

  add(fault: Fault): void {
    this.order.set(fault, this.added++)
    const list = this.byEndpoint.get(fault.endpoint)
    if (list) list.push(fault)
    else this.byEndpoint.set(fault.endpoint, [fault])
    this.size++
  }

  clear(): void {
    this.byEndpoint.clear()
    this.size = 0
  }

  /** The armed faults, oldest first (for the control API). */
  list(): Fault[] {
    return [...this.byEndpoint.values()].flat().sort((a, b) => this.order.get(a)! - this.order.get(b)!)
  }

  /** Takes the first armed HTTP fault of an endpoint (one hit). */
  takeHttp(endpoint: string): HttpFault | undefined {
    const list = this.byEndpoint.get(endpoint)
    const fault = list?.find((f): f is HttpFault => f.kind === 'http')
    if (!fault) return undefined
    this.hit(fault)
    return fault
  }

  /** The armed protocol faults of an endpoint (not yet hit: {@link hit} when applied). */
  protocolFaults(endpoint: string): ProtocolFault[] {
    return (this.byEndpoint.get(endpoint) ?? []).filter((f): f is ProtocolFault => f.kind === 'protocol')
  }

  /** One hit: a fault with none left is disarmed. False when it was already used up (by a concurrent request). */
  hit(fault: Fault): boolean {
    if (fault.remaining <= 0) return false
    fault.remaining -= 1
    if (fault.remaining > 0) return true
    const list = this.byEndpoint.get(fault.endpoint)
    const index = list?.indexOf(fault) ?? -1
    if (list && index >= 0) {
      list.splice(index, 1)
      this.size--
      if (list.length === 0) this.byEndpoint.delete(fault.endpoint)
    }
    return true
  }
}
