// passport-authority/vitest: a vitest globalSetup that starts an authority for the test run.
import type {} from 'vitest'

import type {ControlLocation} from './control/client.js'
import {startServer, type StartServerOptions} from './api.js'

export {controlClient} from './control/client.js'
export type {ControlClient, ControlLocation} from './control/client.js'

/** What the set-up provides to tests as `inject('passport')`. */
export interface ProvidedAuthority {
  issuer: string
  /** Base URL of the listening socket. */
  url: string
  /** The control API: hand it to `controlClient()`. */
  control: ControlLocation
}

declare module 'vitest' {
  export interface ProvidedContext {
    passport: ProvidedAuthority
  }
}

/** The part of vitest's TestProject the set-up uses. */
export interface Project {
  provide(key: 'passport', value: ProvidedAuthority): void
}

/**
 * A vitest `globalSetup`: starts an authority (`startServer` options; port 0, an in-memory
 * database and a fresh key unless told otherwise, the control API on), provides
 * `{issuer, url, control}` to tests as `inject('passport')`, and stops it after the run.
 *
 * ```ts
 * // passport.setup.ts, listed in vitest.config.ts under test.globalSetup
 * import {globalSetup} from 'passport-authority/vitest'
 * export default globalSetup({config: 'passport.config.json', loginAs: 'alice', autoApprove: true})
 * ```
 */
export function globalSetup(options: StartServerOptions = {}): (project: Project) => Promise<() => Promise<void>> {
  return async (project) => {
    const server = await startServer({port: 0, ...options, control: true})
    project.provide('passport', {issuer: server.issuer, url: server.url(), control: server.control!})
    return () => server.close()
  }
}
