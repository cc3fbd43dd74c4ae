// passport-authority/jest: jest globalSetup / globalTeardown that run an authority for the test run.
import type {AuthorityHandle} from './control/handle.js'
import {startServer, type StartServerOptions} from './api.js'

export {controlClient} from './control/client.js'
export type {ControlClient, ControlLocation} from './control/client.js'

const RUNNING = Symbol.for('passport-authority.jest')

/**
 * A jest `globalSetup`: starts an authority (`startServer` options; port 0, in-memory database,
 * fresh key and the control API unless told otherwise) and passes it to the tests through the
 * environment: `PASSPORT_TEST_ISSUER`, `PASSPORT_TEST_URL`, `PASSPORT_CONTROL_URL` and
 * `PASSPORT_CONTROL_TOKEN`. Pair it with {@link globalTeardown}.
 *
 * ```js
 * // jest.setup.mjs, named by jest.config's globalSetup
 * import {globalSetup} from 'passport-authority/jest'
 * export default globalSetup({config: 'passport.config.json', loginAs: 'alice', autoApprove: true})
 * ```
 */
export function globalSetup(options: StartServerOptions = {}): () => Promise<void> {
  return async () => {
    const server = await startServer({port: 0, ...options, control: true})
    ;(globalThis as {[RUNNING]?: AuthorityHandle})[RUNNING] = server
    process.env.PASSPORT_TEST_ISSUER = server.issuer
    process.env.PASSPORT_TEST_URL = server.url()
    process.env.PASSPORT_CONTROL_URL = server.control!.url
    process.env.PASSPORT_CONTROL_TOKEN = server.control!.token
  }
}

/** A jest `globalTeardown`: stops the authority {@link globalSetup} started. */
export async function globalTeardown(): Promise<void> {
  const holder = globalThis as {[RUNNING]?: AuthorityHandle}
  const server = holder[RUNNING]
  delete holder[RUNNING]
  await server?.close()
}
