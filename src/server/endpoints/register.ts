import {repeatedJsonMember} from '../../core/json.js'
import {checkRegistration, initialAccessTokenMatches, saveRegisteredClient} from '../../core/registration.js'
import {OAuthError} from '../../errors.js'
import type {RequestContext} from '../context.js'
import {NO_STORE, readBody, sendJson} from '../http.js'

const UTF8 = new TextDecoder('utf-8', {fatal: true})

/**
 * `POST {prefix}/register` (RFC 7591 §3): a JSON object of client metadata in, 201 with the
 * registered metadata, `client_id`, `client_id_issued_at` and (confidential clients) the secret
 * out. Off with `"registration": false` / `serve --no-registration` (then 404, and discovery has no
 * `registration_endpoint`); with `"registration": {"initialAccessToken": …}` it needs that bearer.
 */
export async function handleRegister(ctx: RequestContext): Promise<void> {
  const {config, store} = ctx.authority
  if (!config.registration.enabled) {
    sendJson(ctx.res, 404, {
      error: 'not_found',
      error_description: 'Dynamic client registration is turned off ("registration": false or --no-registration).',
    })
    return
  }
  if (!initialAccessTokenMatches(config, ctx.req.headers.authorization)) {
    const presented = ctx.req.headers.authorization !== undefined
    const description = presented
      ? 'The initial access token is not valid for registration.'
      : 'Registration needs an initial access token: send Authorization: Bearer <token>.'
    throw new OAuthError('invalid_token', description, 401, {
      'WWW-Authenticate': presented ? `Bearer error="invalid_token", error_description="${description}"` : 'Bearer',
    })
  }
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  const body = await readBody(ctx.req)
  if (type !== 'application/json')
    throw new OAuthError(
      'invalid_client_metadata',
      `The registration request must be sent as application/json${type ? `, not ${type}` : ''} (RFC 7591 section 3.1).`,
    )
  let text: string
  let parsed: unknown
  try {
    text = UTF8.decode(body)
    parsed = JSON.parse(text)
  } catch {
    throw new OAuthError('invalid_client_metadata', 'The registration request body is not valid JSON (UTF-8).')
  }
  // JSON.parse keeps the last of repeated members: the repeated-parameter rule (SPEC §8) applies here too.
  const repeated = repeatedJsonMember(text)
  if (repeated !== undefined)
    throw new OAuthError(
      'invalid_client_metadata',
      `The registration request repeats the member ${repeated}; send each member once.`,
    )
  const {client, answer} = checkRegistration(config, parsed, ctx.authority.clock.now())
  const {evicted} = saveRegisteredClient(store, client)
  if (evicted.length > 0)
    ctx.options.log?.(
      `registration: the registered-client limit was reached; removed the oldest registration${evicted.length > 1 ? 's' : ''} ${evicted.join(', ')}`,
    )
  sendJson(ctx.res, 201, answer, {...NO_STORE})
}
