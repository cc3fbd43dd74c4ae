import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../cli/base-command.js'
import {DEFAULT_ISSUER} from '../core/authority.js'
import {parseDuration} from '../core/duration.js'
import {UsageError, UserError} from '../errors.js'

/** How often an authority that is not up yet is asked again. */
const RETRY_MS = 200

export default class Healthcheck extends BaseCommand<typeof Healthcheck> {
  static override description = `Wait until a passport authority answers GET /healthz (for container health checks and CI waits).
Exit 0 as soon as it answers 200; exit 1 with one sentence when it has not within --timeout.`

  static override examples = [
    '<%= config.bin %> healthcheck',
    '<%= config.bin %> healthcheck --url http://127.0.0.1:9000 --timeout 30s',
  ]

  static override flags = {
    url: Flags.string({
      description:
        "Base URL of the authority (default: the config file's issuer, else http://127.0.0.1:9000); a URL ending in /healthz is used as it is.",
      env: 'PASSPORT_URL',
    }),
    timeout: Flags.string({description: 'How long to keep trying: a duration such as 10s or 2m.', default: '10s'}),
  }

  async run(): Promise<{url: string; healthy: true; status: number}> {
    const target = healthUrl(this.flags.url ?? this.config_.issuer ?? DEFAULT_ISSUER)
    const timeout = parseDuration(this.flags.timeout, '--timeout')
    const deadline = performance.now() + timeout
    let last = 'no answer'
    for (;;) {
      const left = deadline - performance.now()
      try {
        const response = await fetch(target, {
          signal: AbortSignal.timeout(Math.ceil(Math.max(1, Math.min(left, 5000)))),
          redirect: 'manual',
        })
        await response.body?.cancel()
        if (response.status === 200) {
          if (!this.jsonEnabled()) this.log(`${target} answered 200.`)
          return {url: target, healthy: true, status: 200}
        }
        last = `status ${response.status}`
      } catch (error) {
        last = describe(error)
      }
      if (performance.now() + RETRY_MS >= deadline) break
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    }
    throw new UserError(`No passport authority answered ${target} within ${this.flags.timeout} (last try: ${last}).`)
  }
}

function healthUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`--url must be an absolute http(s) URL such as http://127.0.0.1:9000; got "${value}".`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url must be an http(s) URL; got "${value}".`)
  if (url.pathname.endsWith('/healthz')) return url.toString()
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}/healthz`
}

function describe(error: unknown): string {
  const cause = (error as {cause?: {code?: string}}).cause
  if (cause?.code === 'ECONNREFUSED') return 'connection refused'
  if ((error as {name?: string}).name === 'TimeoutError') return 'timed out'
  return cause?.code ?? (error as Error).message
}
