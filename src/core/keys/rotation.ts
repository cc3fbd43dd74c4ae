import type {Authority} from '../authority.js'
import {rotateKeys} from '../keys.js'

/**
 * How long a retired signing key stays in the JWKS after a rotation: until every token it may have
 * signed has expired — the latest expiry of the access tokens in the database, and an id token
 * signed just now (`idTokensExpireIn`). Commands and the library ask here instead of working it out.
 */
export function retiredKeyPublishUntil(authority: Pick<Authority, 'store' | 'config'>, now: number): number {
  const latest = authority.store.accessTokens.latestExpiry() ?? 0
  return Math.max(latest, now + authority.config.idTokensExpireIn)
}

/** Makes a new active key in `directory`; the retired one stays published for {@link retiredKeyPublishUntil}. */
export async function rotateSigningKey(
  authority: Pick<Authority, 'store' | 'config' | 'clock'>,
  directory: string,
  options: {alg?: string; bits?: number; now?: number} = {},
): Promise<Awaited<ReturnType<typeof rotateKeys>> & {publishUntil: number}> {
  const now = options.now ?? authority.clock.now()
  const publishUntil = retiredKeyPublishUntil(authority, now)
  const rotated = await rotateKeys(directory, publishUntil, {...options, now})
  return {...rotated, publishUntil}
}

/**
 * The span of clock time, around `at`, during which the published keys stay what they were at
 * `at`: from the latest retirement already passed (set the clock back before it and that key is
 * published again) until the next one (move the clock past it and that key leaves the JWKS).
 * A retired key is published while `now < publishUntil`.
 */
export function publishedKeysWindow(retirements: readonly number[], at: number): {from: number; until: number} {
  let from = Number.NEGATIVE_INFINITY
  let until = Number.POSITIVE_INFINITY
  for (const publishUntil of retirements) {
    if (publishUntil <= at) from = Math.max(from, publishUntil)
    else until = Math.min(until, publishUntil)
  }
  return {from, until}
}
