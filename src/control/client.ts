import {type FaultSpec, isProtocolFault, type ProtocolFaultName} from './faults.js'
import type {LoggedRequest} from './request-log.js'
import type {UserInput} from './users.js'

/** Where a running authority's control API is: `handle.control`, the `control_token` of `serve --control --json`. */
export interface ControlLocation {
  /** The API's base URL, e.g. http://127.0.0.1:9000/_passport */
  url: string
  token: string
}

/** The control API over HTTP, for tests in another process or worker than the authority. */
export interface ControlClient {
  /** Moves the clock forward (`"16d"`); resolves to the new now. */
  advance(duration: string | number): Promise<Date>
  /** Moves the clock to an instant; resolves to the new now. */
  set(date: Date | string): Promise<Date>
  now(): Promise<Date>
  /** `inject("token", {status: 503})`, `inject("wrong-iss")`. */
  inject(target: string, spec?: FaultSpec & {fault?: ProtocolFaultName}): Promise<void>
  clearFaults(): Promise<void>
  setUser(sub: string, user?: UserInput): Promise<void>
  requests(): Promise<LoggedRequest[]>
}

/**
 * A client of the control API (`serve --control`, `startServer({control: true})`, the vitest and
 * jest helpers). Every failure rejects with the API's `error_description`.
 */
export function controlClient(location: ControlLocation): ControlClient {
  const base = location.url.replace(/\/+$/, '')
  async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`${base}/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${location.token}`,
        ...(body === undefined ? {} : {'content-type': 'application/json'}),
      },
      ...(body === undefined ? {} : {body: JSON.stringify(body)}),
    })
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>
    if (!response.ok)
      throw new Error(
        `passport control ${method} /${path}: ${response.status} ${typeof answer.error_description === 'string' ? answer.error_description : response.statusText}`,
      )
    return answer
  }
  const now = (answer: Record<string, unknown>) => new Date(answer.now as string)
  return {
    advance: async (duration) => now(await call('POST', 'clock', {advance: duration})),
    set: async (date) => now(await call('POST', 'clock', {set: date instanceof Date ? date.toISOString() : date})),
    now: async () => now(await call('GET', 'clock')),
    async inject(target, spec = {}) {
      await call('POST', 'faults', isProtocolFault(target) ? {fault: target, ...spec} : {endpoint: target, ...spec})
    },
    async clearFaults() {
      await call('DELETE', 'faults')
    },
    async setUser(sub, user = {}) {
      await call('PUT', `users/${encodeURIComponent(sub)}`, user)
    },
    requests: async () => (await call('GET', 'requests')).requests as LoggedRequest[],
  }
}
