import {createHash, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

import {parseInstant} from '../core/clock.js'
import {parseDuration} from '../core/duration.js'
import {InvalidInputError} from '../errors.js'
import {readBody} from '../server/http.js'
import {ControlInputError, type Fault, protocolFault} from './faults.js'
import type {Control} from './index.js'
import {checkUser} from './users.js'

/** Where the control API lives (`serve --control`, `startServer({control: true})`). */
export const CONTROL_PREFIX = '/_passport/'

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...headers})
  res.end(text)
}

function sendInvalid(res: ServerResponse, error: unknown): void {
  const field = error instanceof ControlInputError ? error.field : undefined
  send(res, 400, {
    error: 'invalid_request',
    error_description: (error as Error).message,
    ...(field === undefined ? {} : {field}),
  })
}

/** The SHA-256 of both sides, compared in constant time whatever their lengths. */
function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b) && presented.length === expected.length
}

/** A JSON object body; anything else is a 400 naming `body`. */
async function readObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  const body = await readBody(req)
  if (type !== 'application/json')
    throw new ControlInputError(
      'body',
      `"body" must be JSON (Content-Type: application/json${type === '' ? '' : `, not ${type}`}).`,
    )
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new ControlInputError('body', '"body" is not valid JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ControlInputError('body', '"body" must be a JSON object.')
  return parsed as Record<string, unknown>
}

function only(body: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(body))
    if (!allowed.includes(key))
      throw new ControlInputError(
        key,
        `"${key}" is not accepted here; send ${allowed.map((k) => `"${k}"`).join(' or ')}.`,
      )
}

function faultView(fault: Fault): Record<string, unknown> {
  const {kind, remaining, ...rest} = fault
  return {kind, ...rest, ...(Number.isFinite(remaining) ? {remaining} : {persistent: true})}
}

/**
 * Answers a request under `/_passport/`: the control API of `serve --control`. Every call needs
 * `Authorization: Bearer <control_token>`; bodies are checked whole before anything is applied.
 */
export async function handleControlApi(
  control: Control,
  token: string,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  const header = req.headers.authorization ?? ''
  const match = /^Bearer +(\S+) *$/i.exec(header)
  if (!match || !tokenMatches(match[1]!, token)) {
    req.resume()
    send(
      res,
      401,
      {
        error: 'invalid_token',
        error_description: match
          ? 'The control token is wrong.'
          : 'The control API needs Authorization: Bearer <control_token> (printed as control_token in the JSON start line).',
      },
      {
        'WWW-Authenticate': 'Bearer realm="passport-control"',
      },
    )
    return
  }
  const path = pathname.slice(CONTROL_PREFIX.length)
  const method = req.method ?? ''
  const allow = (methods: string) => {
    req.resume()
    send(
      res,
      405,
      {error: 'invalid_request', error_description: `${method} is not allowed on ${pathname}; use ${methods}.`},
      {Allow: methods},
    )
  }
  try {
    if (path === 'clock') {
      if (method === 'GET') return send(res, 200, {now: new Date(control.authority.clock.now()).toISOString()})
      if (method !== 'POST') return allow('GET, POST')
      const body = await readObject(req)
      only(body, ['advance', 'set'])
      if ((body.advance === undefined) === (body.set === undefined))
        throw new ControlInputError(
          'advance',
          'Send exactly one of "advance" (a duration such as "16d") or "set" (an ISO 8601 date-time).',
        )
      const clock = control.authority.clock
      if (body.advance !== undefined) {
        if (typeof body.advance !== 'string' && typeof body.advance !== 'number')
          throw new ControlInputError('advance', '"advance" must be a duration such as "16d" or milliseconds.')
        clock.advance(field('advance', () => parseDuration(body.advance, '"advance"')))
      } else {
        if (typeof body.set !== 'string' && typeof body.set !== 'number')
          throw new ControlInputError('set', '"set" must be an ISO 8601 date-time such as "2027-01-01T00:00:00Z".')
        const at = field('set', () =>
          parseInstant(typeof body.set === 'number' ? String(body.set) : (body.set as string), '"set"'),
        )
        clock.set(at)
      }
      return send(res, 200, {now: new Date(clock.now()).toISOString()})
    }
    if (path === 'faults') {
      if (method === 'GET') return send(res, 200, {faults: control.faults.list().map(faultView)})
      if (method === 'DELETE') {
        const cleared = control.faults.list().length
        control.faults.clear()
        return send(res, 200, {cleared})
      }
      if (method !== 'POST') return allow('GET, POST, DELETE')
      const body = await readObject(req)
      const {endpoint, ...spec} = body
      let fault: Fault
      if (spec.fault !== undefined && endpoint === undefined) {
        const {fault: name, ...options} = spec
        fault = protocolFault(name, options)
      } else {
        if (endpoint === undefined)
          throw new ControlInputError(
            'endpoint',
            `"endpoint" is missing; send one of ${[...control.endpoints].join(', ')} (or "fault": NAME).`,
          )
        if (typeof endpoint !== 'string') throw new ControlInputError('endpoint', '"endpoint" must be a string.')
        fault = control.faults.check(endpoint, spec)
      }
      control.faults.add(fault)
      return send(res, 201, {fault: faultView(fault)})
    }
    if (path.startsWith('users/')) {
      if (method !== 'PUT' && method !== 'DELETE') return allow('PUT, DELETE')
      let sub: string
      try {
        sub = decodeURIComponent(path.slice('users/'.length))
      } catch {
        throw new ControlInputError('sub', '"sub" in the path is not valid percent-encoding.')
      }
      if (sub.includes('/') && !path.slice('users/'.length).includes('%2F'))
        throw new ControlInputError('sub', '"sub" must be one path segment (percent-encode a "/").')
      const users = control.authority.config.users
      if (method === 'DELETE') {
        req.resume()
        if (!Object.hasOwn(users, sub))
          return send(res, 404, {
            error: 'not_found',
            error_description: `No user ${JSON.stringify(sub)} is configured.`,
          })
        delete users[sub]
        return send(res, 200, {sub, deleted: true})
      }
      const body = await readObject(req)
      const checked = checkUser(sub, body)
      users[checked.sub] = checked.user
      return send(res, 200, {sub: checked.sub, ...checked.user})
    }
    if (path === 'requests') {
      if (method === 'DELETE') {
        control.requests.clear()
        return send(res, 200, {cleared: true})
      }
      if (method !== 'GET') return allow('GET, DELETE')
      return send(res, 200, {requests: control.requests.list()})
    }
    req.resume()
    send(res, 404, {
      error: 'not_found',
      error_description: `No control route ${pathname}; there are /_passport/clock, /_passport/faults, /_passport/users/{sub} and /_passport/requests.`,
    })
  } catch (error) {
    if (error instanceof ControlInputError || error instanceof InvalidInputError) return sendInvalid(res, error)
    throw error
  }
}

/** Runs a check, naming `name` as the field of what it throws. */
function field<T>(name: string, check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof InvalidInputError && !(error instanceof ControlInputError))
      throw new ControlInputError(name, error.message)
    throw error
  }
}
