import * as v from 'valibot'

import {claimMappingProblem, userClaimProblem} from './claims.js'
import {jwksProblem, jwksUriProblem} from './client-keys.js'
import {DURATION_PATTERN, parseDuration} from './duration.js'
import {nameMap, SCOPE_TOKEN} from './names.js'
import {subjectProblem} from './subjects.js'
import {clientIdProblem, ISSUER_RULE, isIssuerUrl, resourceUriProblem} from './uris.js'

/**
 * `passport.config.json` as a valibot schema: what `parseConfig` checks and what
 * `passport.config.schema.json` (scripts/config-schema.mjs) tells editors. Every rule comes from its
 * own module (uris, subjects, claims, client-keys, duration); this file only places them.
 *
 * Each issue's message is the tail of one sentence, `"<path>" <message>`: `must be …`, `is not a
 * subject: …`. {@link configProblem} adds the file and the path.
 */

const must = (expected: string) => `must be ${expected}.`

/** A message for a strictObject: `what` when the value is not an object, `one of …` for an unknown key. */
function objectMessage(
  what: string,
  keys: readonly string[],
  missing?: (key: string) => string,
): (issue: v.BaseIssue<unknown>) => string {
  return (issue) => {
    if (issue.kind === 'schema' && issue.type === 'strict_object' && issue.expected === 'never')
      return must(`one of ${keys.join(', ')} (unknown key)`)
    if (issue.expected?.startsWith('"') && missing) return missing(issue.expected.slice(1, -1))
    return must(what)
  }
}

/** A check that adds the message `problem` returns, if any (the one-rule modules answer "why not"). */
function problem<T>(why: (value: T) => string | undefined, message: (problem: string) => string) {
  return v.rawCheck<T>(({dataset, addIssue}) => {
    if (!dataset.typed) return
    const found = why(dataset.value)
    if (found !== undefined) addIssue({message: message(found)})
  })
}

const bool = (description: string) => v.pipe(v.boolean(must('true or false')), v.description(description))
const stringArray = (item: string, array: string, description: string) =>
  v.pipe(v.array(v.string(must(item)), must(array)), v.description(description))

const durationMessage = (issue: v.BaseIssue<unknown>) =>
  must(`milliseconds or a duration like "15m", "1h", "30d" (got ${JSON.stringify(issue.input)})`)
const lifetime = (description: string) =>
  v.pipe(
    v.union(
      [
        v.pipe(v.number(durationMessage), v.integer(durationMessage), v.minValue(1, durationMessage)),
        v.pipe(v.string(durationMessage), v.regex(DURATION_PATTERN, durationMessage)),
      ],
      durationMessage,
    ),
    v.check((value) => isDuration(value), durationMessage),
    v.description(`${description}: milliseconds or a duration such as "90s", "15m", "1h", "30d", "2w".`),
  )

function isDuration(value: unknown): boolean {
  try {
    parseDuration(value)
    return true
  } catch {
    return false
  }
}

/**
 * A JSON object keyed by names (users, scopes, claims, resources, a user's claims). valibot's
 * `v.record` skips the keys `__proto__`, `constructor` and `prototype` (neither checks nor returns
 * them), while they are ordinary names here (checklist 110): this one walks `Object.keys` into a
 * null-prototype map, checking each key with `key` and each value with `value`.
 */
function nameRecord<TValue extends v.GenericSchema>(key: v.GenericSchema<string>, value: TValue, message: string) {
  return v.pipe(
    v.custom<Record<string, unknown>>(
      (input) => typeof input === 'object' && input !== null && !Array.isArray(input),
      message,
    ),
    v.rawTransform(({dataset, addIssue, NEVER}) => {
      const input = dataset.value
      const output = nameMap<v.InferOutput<TValue>>()
      for (const name of Object.keys(input)) {
        const item = {
          type: 'object',
          origin: 'value',
          input,
          key: name,
          value: input[name],
        } as unknown as v.ObjectPathItem
        const keyResult = v.safeParse(key, name, {abortEarly: true})
        if (!keyResult.success) {
          addIssue({message: keyResult.issues[0].message, path: [item]})
          return NEVER
        }
        const valueResult = v.safeParse(value, input[name], {abortEarly: true})
        if (!valueResult.success) {
          const sub = valueResult.issues[0]
          addIssue({message: sub.message, path: [item, ...(sub.path ?? [])] as [v.ObjectPathItem]})
          return NEVER
        }
        output[name] = valueResult.output
      }
      return output
    }),
  )
}

/** The same shape as `v.record`, for the JSON schema only (editors do not walk `__proto__`). */
function jsonRecord<TValue extends v.GenericSchema>(key: v.GenericSchema<string>, value: TValue, message: string) {
  return v.pipe(
    v.record(key, value, message),
    v.transform((input) => input as Record<string, v.InferOutput<TValue>>),
  )
}

type RecordOf = typeof nameRecord

/**
 * A JSON object with known keys. `v.strictObject` alone takes an array for an object (`[]` has no
 * unknown key): this refuses it with the object's own message first.
 */
function plainObject<TEntries extends v.ObjectEntries>(
  entries: TEntries,
  message: (issue: v.BaseIssue<unknown>) => string,
) {
  return Object.assign(
    v.pipe(
      v.custom<Record<string, unknown>>(
        (input) => typeof input === 'object' && input !== null && !Array.isArray(input),
        message,
      ),
      v.strictObject(entries, message),
    ),
    {entries},
  )
}

/** `v.strictObject`, for the JSON schema only (its `type: "object"` already excludes arrays). */
function jsonObject<TEntries extends v.ObjectEntries>(
  entries: TEntries,
  message: (issue: v.BaseIssue<unknown>) => string,
) {
  return v.strictObject(entries, message) as unknown as ReturnType<typeof plainObject<TEntries>>
}

type ObjectOf = typeof plainObject

function buildSchema(record: RecordOf, object: ObjectOf) {
  const USER_KEYS = ['name', 'email', 'email_verified', 'claims'] as const

  const user = object(
    {
      name: v.optional(v.pipe(v.string(must('a string')), v.description('Full name (the name claim).'))),
      email: v.optional(v.pipe(v.string(must('a string')), v.description('Email address (the email claim).'))),
      email_verified: v.optional(bool('Whether the email address is verified (the email_verified claim).')),
      claims: v.optional(
        v.pipe(
          record(
            v.pipe(
              v.string(),
              problem(userClaimProblem, (p) => `is not allowed: ${p}.`),
            ),
            v.unknown(),
            must('an object of claim names to values'),
          ),
          v.description(
            'Custom claims of this user (claim name → JSON value); the "claims" key at the top level says which scope releases each.',
          ),
        ),
      ),
    },
    objectMessage('an object with name, email, email_verified and claims', USER_KEYS),
  )

  /** The scope a custom claim is released with; that it names a known scope is checked with the whole file. */
  const CLAIM_SCOPE = v.pipe(
    v.unknown(),
    v.description('The name of the scope that releases this claim (a configured scope or profile, email, openid).'),
  )

  const CLIENT_KEYS = [
    'id',
    'name',
    'secret',
    'redirectUris',
    'grants',
    'scopes',
    'autoApprove',
    'requirePar',
    'jwks',
    'jwksUri',
    'requireDpop',
    'postLogoutRedirectUris',
  ] as const

  const client = v.pipe(
    object(
      {
        id: v.pipe(
          v.string(must('a client id string')),
          problem(clientIdProblem, must),
          v.description('Client id: 1–128 printable ASCII characters without spaces or ":".'),
        ),
        name: v.optional(
          v.pipe(
            v.string(must('a non-empty string')),
            v.minLength(1, must('a non-empty string')),
            v.description('Display name (default: the id).'),
          ),
        ),
        secret: v.optional(
          v.pipe(
            v.string(must('a string of at least 8 characters (omit it for a public client)')),
            v.minLength(8, must('a string of at least 8 characters (omit it for a public client)')),
            v.description('Client secret (stored hashed); omit it for a public client.'),
          ),
        ),
        redirectUris: v.optional(
          stringArray('a URI string', 'an array of URI strings', 'Redirect URIs, matched exactly.'),
        ),
        grants: v.optional(
          stringArray(
            'a grant type string',
            'an array of grant type strings',
            'Grant types the client may use, e.g. "authorization_code", "refresh_token", "client_credentials".',
          ),
        ),
        scopes: v.optional(stringArray('a scope name', 'an array of scope names', 'Scopes the client may ask for.')),
        autoApprove: v.optional(bool('Skip the consent screen.')),
        requirePar: v.optional(bool('Accept only pushed authorization requests (RFC 9126).')),
        jwks: v.optional(
          v.pipe(
            v.unknown(),
            problem(jwksProblem, (p) => must(`${p} (the client's public keys for private_key_jwt)`)),
            v.description('Public keys for private_key_jwt (RFC 7523): a JWK Set {"keys": [...]}.'),
          ),
        ),
        jwksUri: v.optional(
          v.pipe(
            v.string(must("the https URL of the client's JWK Set (http only on loopback): it is not a string")),
            problem(jwksUriProblem, (p) => must(`the https URL of the client's JWK Set (http only on loopback): ${p}`)),
            v.description("URL of the client's JWK Set for private_key_jwt (https; http only on loopback)."),
          ),
        ),
        requireDpop: v.optional(bool('Issue only DPoP-bound tokens (RFC 9449).')),
        postLogoutRedirectUris: v.optional(
          stringArray(
            'a URI string',
            'an array of URI strings (where end_session may send the person after signing out)',
            'Where end_session may send the person after signing out (exact match; redirect URIs count too).',
          ),
        ),
      },
      objectMessage('an object with id, name, secret, redirectUris, grants, scopes, autoApprove', CLIENT_KEYS, (key) =>
        key === 'id' ? must('a client id string') : must('present'),
      ),
    ),
    v.rawCheck(({dataset, addIssue}) => {
      if (!dataset.typed) return
      const c = dataset.value
      const at = (key: string) =>
        [{type: 'object', origin: 'value', input: c, key, value: c[key as keyof typeof c]}] as unknown as [
          v.ObjectPathItem,
        ]
      if (c.jwks !== undefined && c.jwksUri !== undefined)
        addIssue({message: must('absent when jwks is given (one or the other)'), path: at('jwksUri')})
      else if ((c.jwks !== undefined || c.jwksUri !== undefined) && c.secret !== undefined)
        addIssue({
          message: must('absent for a client that authenticates with private_key_jwt (jwks / jwksUri)'),
          path: at('secret'),
        })
    }),
  )

  const RESOURCE_KEYS = ['name', 'scopes'] as const

  const resource = object(
    {
      name: v.optional(
        v.pipe(
          v.string(must('a non-empty string')),
          v.minLength(1, must('a non-empty string')),
          v.description('Display name (default: the URI).'),
        ),
      ),
      scopes: v.optional(
        stringArray(
          'a scope name',
          'an array of scope names',
          'The scopes a token for this resource may carry (known scopes).',
        ),
      ),
    },
    objectMessage('an object with an optional "name" and "scopes"', RESOURCE_KEYS),
  )

  return v.pipe(
    object(
      {
        $schema: v.optional(
          v.pipe(v.string(must('a string')), v.description('The JSON schema of this file, for editors.')),
        ),
        issuer: v.optional(
          v.pipe(
            v.string(must(ISSUER_RULE)),
            v.check(isIssuerUrl, must(ISSUER_RULE)),
            v.description(`The issuer (iss): ${ISSUER_RULE}.`),
          ),
        ),
        scopes: v.optional(
          v.pipe(
            record(
              v.pipe(
                v.string(),
                v.regex(SCOPE_TOKEN, must('a scope name of printable characters without spaces or quotes')),
              ),
              v.string(must('a description string')),
              must('an object mapping scope names to descriptions'),
            ),
            v.description(
              'Scopes (name → description); replaces the default read, write, admin. openid, profile, email and offline_access are always known.',
            ),
          ),
        ),
        tokensExpireIn: v.optional(lifetime('Access token lifetime (default 15d)')),
        refreshTokensExpireIn: v.optional(lifetime('Refresh token lifetime (default 30d)')),
        personalAccessTokensExpireIn: v.optional(lifetime('Personal access token lifetime (default 180d)')),
        authCodesExpireIn: v.optional(lifetime('Authorization code lifetime (default 10m)')),
        deviceCodesExpireIn: v.optional(lifetime('Device code lifetime (default 10m)')),
        idTokensExpireIn: v.optional(lifetime('ID token lifetime (default 1h)')),
        keyPath: v.optional(
          v.pipe(
            v.string(must('a directory path')),
            v.minLength(1, must('a directory path')),
            v.description('Directory of the signing keys, relative to this file (default: storage/).'),
          ),
        ),
        database: v.optional(
          v.pipe(
            v.string(must('a file path or ":memory:"')),
            v.minLength(1, must('a file path or ":memory:"')),
            v.description(
              'SQLite database file, relative to this file, or ":memory:" (default: storage/passport.sqlite).',
            ),
          ),
        ),
        users: v.optional(
          v.pipe(
            record(
              v.pipe(
                v.string(),
                problem(subjectProblem, (p) => `is not a subject: ${p}`),
              ),
              user,
              must('an object mapping subjects to {name, email, claims}'),
            ),
            v.description('Users by subject (sub), with their profile and custom claims.'),
          ),
        ),
        claims: v.optional(
          v.pipe(
            record(
              v.pipe(
                v.string(),
                problem(claimMappingProblem, (p) => `cannot be mapped: ${p}.`),
              ),
              CLAIM_SCOPE,
              must('an object mapping custom claim names to the scope that releases them, e.g. {"role": "profile"}'),
            ),
            v.description(
              'Which scope releases each custom user claim (claim name → scope name); unlisted claims come with profile.',
            ),
          ),
        ),
        clients: v.optional(
          v.pipe(
            v.array(client, must('an array of client objects')),
            v.rawCheck(({dataset, addIssue}) => {
              if (!dataset.typed) return
              const seen = new Set<string>()
              for (const [index, c] of dataset.value.entries()) {
                if (seen.has(c.id)) {
                  const path = [
                    {type: 'array', origin: 'value', input: dataset.value, key: index, value: c},
                    {type: 'object', origin: 'value', input: c, key: 'id', value: c.id},
                  ] as unknown as [v.ArrayPathItem, v.ObjectPathItem]
                  addIssue({message: must(`unique ("${c.id}" appears twice)`), path})
                  return
                }
                seen.add(c.id)
              }
            }),
            v.description('Clients, upserted into the database on every run (secrets stored hashed).'),
          ),
        ),
        resources: v.optional(
          v.pipe(
            record(
              v.pipe(
                v.string(),
                problem(resourceUriProblem, (p) => must(`keyed by an absolute URI without a fragment (${p})`)),
              ),
              resource,
              must(
                'an object mapping resource URIs to {name, scopes}, e.g. {"http://localhost:3000/mcp": {"name": "My MCP server", "scopes": ["read"]}}',
              ),
            ),
            v.description('RFC 8707 resources by URI (MCP servers and APIs tokens may be issued for).'),
          ),
        ),
        registration: v.optional(
          v.pipe(
            v.union(
              [
                v.boolean(),
                object(
                  {
                    initialAccessToken: v.optional(
                      v.pipe(
                        v.string(must('a token of at least 16 printable ASCII characters without spaces')),
                        v.regex(
                          /^[\x21-\x7e]{16,}$/,
                          must('a token of at least 16 printable ASCII characters without spaces'),
                        ),
                      ),
                    ),
                  },
                  objectMessage('true, false, or {"initialAccessToken": "…"}', ['initialAccessToken']),
                ),
              ],
              must('true, false, or {"initialAccessToken": "…"}'),
            ),
            v.description(
              'RFC 7591 dynamic registration: true (default), false, or {"initialAccessToken": "…"} to require a bearer token.',
            ),
          ),
        ),
        clientIdMetadataDocuments: v.optional(
          v.pipe(
            v.union(
              [
                v.boolean(),
                object(
                  {allowPrivateNetworks: v.optional(v.boolean(must('true or false')))},
                  objectMessage('true, false, or {"allowPrivateNetworks": true}', ['allowPrivateNetworks']),
                ),
              ],
              must('true, false, or {"allowPrivateNetworks": true}'),
            ),
            v.description('Client ID metadata documents: true (default), false, or {"allowPrivateNetworks": true}.'),
          ),
        ),
      },
      (issue) => (issue.expected === 'never' ? 'is not a known key.' : must('a JSON object')),
    ),
    v.description('passport configuration (passport.config.json); every key is optional.'),
  )
}

/** `passport.config.json` as parsed by `parseConfig`. */
export const configSchema = buildSchema(nameRecord, plainObject)

/** The schema `passport.config.schema.json` is generated from (scripts/config-schema.mjs). */
export function configSchemaForJson() {
  return buildSchema(jsonRecord as unknown as RecordOf, jsonObject)
}

export type ConfigInput = v.InferOutput<typeof configSchema>

/** The keys `passport.config.json` may hold, in the schema's order. */
export const CONFIG_KEYS: readonly string[] = Object.keys(configSchema.entries)

/**
 * The first problem with `raw`, as one sentence naming `where` and the path, or the validated
 * value. `known` gives the scopes a claim mapping or resource may name.
 */
export function checkConfig(
  raw: unknown,
  where: string,
  known: (scopes: Record<string, string> | undefined) => Readonly<Record<string, string>>,
): {problem: string} | {value: ConfigInput} {
  const result = v.safeParse(configSchema, raw, {abortEarly: true})
  if (!result.success) return {problem: describe(result.issues[0], where)}
  const value = result.output
  const scopes = known(value.scopes)
  for (const [name, scope] of Object.entries(value.claims ?? {})) {
    if (typeof scope !== 'string' || !Object.hasOwn(scopes, scope)) {
      return {
        problem: `${where}: ${JSON.stringify(`claims.${name}`)} ${must(`the name of a known scope (one of ${Object.keys(scopes).join(', ')}; got ${JSON.stringify(scope)})`)}`,
      }
    }
  }
  for (const [uri, entry] of Object.entries(value.resources ?? {})) {
    for (const scope of entry.scopes ?? []) {
      if (!Object.hasOwn(scopes, scope))
        return {
          problem: `${where}: ${JSON.stringify(`resources.${uri}.scopes`)} ${must(`an array of known scopes (unknown "${scope}"; known: ${Object.keys(scopes).join(', ')})`)}`,
        }
    }
  }
  return {value}
}

function describe(issue: v.BaseIssue<unknown>, where: string): string {
  let path = issue.path ?? []
  let chosen = issue
  // A union (true/false or an object): report the object's own problem when the value is an object.
  while (chosen.type === 'union' && chosen.issues) {
    const nested = chosen.issues.find((sub) => (sub.path?.length ?? 0) > 0)
    if (!nested) break
    path = [...path, ...(nested.path ?? [])]
    chosen = nested
  }
  if (path.length === 1 && chosen.type === 'strict_object' && chosen.expected === 'never' && issue === chosen) {
    return `${where}: unknown key ${JSON.stringify(path[0].key)} (known keys: ${CONFIG_KEYS.filter((key) => key !== '$schema').join(', ')}).`
  }
  return `${where}: ${JSON.stringify(dotted(path))} ${chosen.message}`
}

/** `clients[0].redirectUris`, `users.alice.claims.role`; `(top level)` for the file itself. */
function dotted(path: readonly v.IssuePathItem[]): string {
  if (path.length === 0) return '(top level)'
  return path
    .map((item, index) =>
      typeof item.key === 'number' ? `[${item.key}]` : `${index === 0 ? '' : '.'}${String(item.key)}`,
    )
    .join('')
}
