import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {post, read} from '../fixtures/http.js'
import {startTestServer, type TestServer} from './harness.js'

/**
 * server/respond.ts picks HTML or JSON once per request, for every browser endpoint alike:
 * JSON when Accept names JSON and not HTML, or when the body is JSON (no HTML form sends one);
 * HTML when Accept names HTML; otherwise the endpoint's default (pages: HTML, unknown routes: JSON).
 */

let server: TestServer
let loginAs: TestServer

beforeAll(async () => {
  server = await startTestServer()
  loginAs = await startTestServer({loginAs: 'alice'})
})

afterAll(async () => {
  await server.close()
  await loginAs.close()
})

const noSession = 'Your session has expired or your browser did not send its cookie, so nothing was changed.'

function expectJsonError(
  reply: {status: number; headers: Headers; json: Record<string, unknown>},
  status: number,
  error: string,
): void {
  expect(reply.status).toBe(status)
  expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8')
  expect(reply.headers.get('cache-control')).toBe('no-store')
  expect(reply.json.error).toBe(error)
}

function expectPage(reply: {status: number; headers: Headers; text: string}, status: number): void {
  expect(reply.status).toBe(status)
  expect(reply.headers.get('content-type')).toBe('text/html; charset=utf-8')
  expect(reply.headers.get('x-frame-options')).toBe('DENY')
  expect(reply.text).toMatch(/^<!doctype html>/i)
}

describe('one responder: HTML or JSON, chosen once from the request', () => {
  test('a JSON body gets JSON errors without an Accept header (consent and device decisions alike); a form gets the page', async () => {
    for (const path of ['/oauth/authorize', '/oauth/device/approve']) {
      const json = await post(
        `${server.url}${path}`,
        {request_id: 'x', action: 'approve', user_code: 'BCDF-GHJK'},
        {json: true},
      )
      expectJsonError(json, 403, 'invalid_request')
      expect(json.json.error_description).toBe(
        `${noSession} Go back, reload the page and try again. JSON callers send the csrf token from the page or the JSON answer as 'csrf' or in an X-CSRF-Token header, with the session cookie.`,
      )
      // A JSON body is an API caller even when it also accepts HTML.
      expectJsonError(
        await post(
          `${server.url}${path}`,
          {action: 'approve'},
          {json: true, headers: {accept: 'text/html, application/json'}},
        ),
        403,
        'invalid_request',
      )
      const form = await post(`${server.url}${path}`, {request_id: 'x', action: 'approve'})
      expectPage(form, 403)
      expect(form.text).toContain('Request refused')
      expect(form.text).toContain(noSession)
    }
  })

  test('Accept: application/json gets JSON on the authorization and device pages, the sign-in outcome as 401 login_required', async () => {
    const authorize = await read(
      await fetch(
        `${server.url}/oauth/authorize?response_type=code&client_id=web&redirect_uri=${encodeURIComponent('http://localhost:3000/callback')}&scope=read`,
        {headers: {accept: 'application/json'}},
      ),
    )
    expectJsonError(authorize, 401, 'login_required')
    expect(authorize.json.error_description).toBe(
      'No user is signed in: open this URL in a browser to sign in, or start passport serve with --login-as SUB.',
    )
    const device = await read(await fetch(`${server.url}/oauth/device`, {headers: {accept: 'application/json'}}))
    expectJsonError(device, 401, 'login_required')
    // Without Accept, the same requests get the sign-in page.
    const page = await read(await fetch(`${server.url}/oauth/device`))
    expectPage(page, 200)
    expect(page.text).toContain('to connect a device')
  })

  test('a repeated user_code on the device page: 400 invalid_request as JSON for API callers, the entry page with the error for browsers', async () => {
    const url = `${loginAs.url}/oauth/device?user_code=BCDF-GHJK&user_code=LMNP-QRST`
    const json = await read(await fetch(url, {headers: {accept: 'application/json'}}))
    expectJsonError(json, 400, 'invalid_request')
    expect(json.json.error_description).toBe("The 'user_code' parameter is repeated; send it once.")
    const page = await read(await fetch(url))
    expectPage(page, 400)
    expect(page.text).toContain('The &quot;user_code&quot; parameter is repeated; send it once.')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
  })

  test('an unknown route: JSON by default, a page for browsers', async () => {
    const json = await read(await fetch(`${server.url}/nowhere`))
    expect(json.status).toBe(404)
    expect(json.json).toEqual({error: 'not_found', error_description: 'No route /nowhere.'})
    const page = await read(await fetch(`${server.url}/nowhere`, {headers: {accept: 'text/html'}}))
    expectPage(page, 404)
    expect(page.text).toContain('There is no page at /nowhere on this server.')
  })
})
