import {describe, expect, it} from 'vitest'

import {userClaims} from '../../src/core/claims.js'
import {parseConfig} from '../../src/core/config.js'
import {CONFIG} from './harness.js'

/** The top-level "claims" mapping and user claims: validation and the one function that releases claims. */

const fails = (raw: unknown) => () => parseConfig(raw, '/p/passport.config.json')

describe('configuration: "claims" and users\' claims', () => {
  it('maps custom claims to known scopes; unmapped ones follow profile', () => {
    const config = parseConfig(CONFIG)
    expect(config.claims).toEqual({groups: 'groups', tenant: 'openid'})
    expect(parseConfig({}).claims).toEqual({})
  })

  it('refuses, with one sentence each: unknown scopes, standard or protocol claims as keys, a non-object', () => {
    expect(fails({claims: {role: 'admins'}})).toThrow(
      '/p/passport.config.json: "claims.role" must be the name of a known scope (one of openid, profile, email, offline_access, read, write, admin; got "admins").',
    )
    expect(fails({claims: {role: ['profile']}})).toThrow(
      '"claims.role" must be the name of a known scope (one of openid, profile, email, offline_access, read, write, admin; got ["profile"]).',
    )
    expect(fails({claims: {name: 'openid'}})).toThrow(
      '/p/passport.config.json: "claims.name" cannot be mapped: "name" is a standard claim of the profile scope and always released with it.',
    )
    expect(fails({claims: {email: 'profile'}})).toThrow(
      '"claims.email" cannot be mapped: "email" is configured with the user\'s own "email" key, not under "claims".',
    )
    expect(fails({claims: {sub: 'profile'}})).toThrow(
      '"claims.sub" cannot be mapped: "sub" is set by passport itself and cannot be configured.',
    )
    expect(fails({claims: ['role']})).toThrow(
      '"claims" must be an object mapping custom claim names to the scope that releases them, e.g. {"role": "profile"}.',
    )
    // A scope configured in the same file is known.
    expect(parseConfig({scopes: {team: 'Your team'}, claims: {team_id: 'team'}}).claims).toEqual({team_id: 'team'})
  })

  it("refuses protocol claims and email under a user's claims", () => {
    expect(fails({users: {alice: {claims: {aud: 'x'}}}})).toThrow(
      '/p/passport.config.json: "users.alice.claims.aud" is not allowed: "aud" is set by passport itself and cannot be configured.',
    )
    expect(fails({users: {alice: {claims: {email_verified: true}}}})).toThrow(
      '"users.alice.claims.email_verified" is not allowed: "email_verified" is configured with the user\'s own "email_verified" key, not under "claims".',
    )
  })
})

describe('userClaims: the one function behind id tokens and userinfo', () => {
  const config = parseConfig({
    ...CONFIG,
    scopes: {...CONFIG.scopes, phone: 'Your phone number'},
    users: {...CONFIG.users, pat: {claims: {phone_number: '+1 555', name: 'From claims'}}},
  })

  it('releases each claim with its scope only', () => {
    expect(userClaims(config, 'alice', ['openid'])).toEqual({})
    expect(userClaims(config, 'alice', ['openid', 'read'])).toEqual({})
    expect(userClaims(config, 'alice', ['openid', 'profile'])).toEqual({
      name: 'Alice Example',
      given_name: 'Alice',
      preferred_username: 'ally',
      role: 'admin',
    })
    expect(userClaims(config, 'alice', ['openid', 'email'])).toEqual({
      email: 'alice@example.test',
      email_verified: true,
    })
    expect(userClaims(config, 'alice', ['openid', 'groups'])).toEqual({groups: ['dev', 'ops']})
    expect(userClaims(config, 'bob', ['openid'])).toEqual({tenant: 'acme'})
    // The seed's wildcard releases everything.
    expect(userClaims(config, 'bob', ['*'])).toEqual({
      name: 'Bob',
      tenant: 'acme',
      email: 'bob@example.test',
      email_verified: false,
    })
  })

  it('phone_number follows the OIDC phone scope; "name" under claims is a profile claim when the user has no name', () => {
    expect(userClaims(config, 'pat', ['openid', 'profile'])).toEqual({name: 'From claims'})
    expect(userClaims(config, 'pat', ['openid', 'phone'])).toEqual({phone_number: '+1 555'})
  })

  it('an unknown subject (ad-hoc user) and inherited object keys get nothing', () => {
    expect(userClaims(config, 'carol', ['openid', 'profile', 'email'])).toEqual({})
    expect(userClaims(config, 'constructor', ['openid', 'profile', 'email'])).toEqual({})
    expect(userClaims(config, '__proto__', ['openid', 'profile', 'email'])).toEqual({})
  })
})
