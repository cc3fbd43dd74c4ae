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
