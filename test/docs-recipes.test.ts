import {readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {freePort, ROOT} from './helpers.js'
import {bashWithBackground, blockAfter, inProcessPassport, projectDir} from './recipes.js'

/**
 * Shell recipes of the README and docs/ not run elsewhere (issue 18 finding 14), each run as
 * written in one shell, in a project that installed passport-authority. What a recipe hands to the
 * reader's own code (`npm test`, `npm run test:integration`, their API) is a stand-in script here
 * that checks what it was given. Their `passport` commands run in this process (inProcessPassport),
 * a `serve` in the background as the built CLI.
 */

/** A stand-in for the reader's `npm test`: checks the tokens the recipe passes in. */
const CHECK_TOKENS = `
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
const reader = claims(process.env.API_TOKEN_READER), admin = claims(process.env.API_TOKEN_ADMIN)
const ok = reader.sub === 'alice' && reader.aud === 'https://api.example.test' && reader.scope === 'read' && reader.iss === 'http://127.0.0.1:9000'
  && admin.sub === 'root' && admin.role === 'admin' && admin.scope === 'read admin'
console.log(ok ? 'stand-in tests passed' : 'unexpected tokens: ' + JSON.stringify({reader, admin}))
process.exit(ok ? 0 : 1)
`

/** A stand-in for the reader's integration tests: discovery at the issuer, then a headless authorization request. */
const CHECK_ISSUER = `
const issuer = process.env.OIDC_ISSUER
const meta = await (await fetch(issuer + '/.well-known/openid-configuration')).json()
const query = new URLSearchParams({response_type: 'code', client_id: 'web', redirect_uri: 'http://localhost:3000/callback', scope: 'read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256'})
const res = await fetch(meta.authorization_endpoint + '?' + query, {redirect: 'manual'})
const code = new URL(res.headers.get('location')).searchParams.get('code')
console.log(meta.issuer === issuer && code ? 'integration stand-in passed' : 'unexpected: ' + res.status)
process.exit(meta.issuer === issuer && code ? 0 : 1)
`

/** Runs `script` under set -e in a project whose npm script `name` runs the stand-in `file`; returns its stdout. */
async function runWithStandIn(script: string, name: string, file: string, content: string): Promise<string> {
  const project = projectDir({[name]: `node ${file}`})
  const passport = await inProcessPassport()
  try {
    writeFileSync(join(project.dir, file), content)
    const ran = await bashWithBackground(`set -e\n${passport.prelude}\n${script}`, project.dir)
    expect(ran.status, ran.stderr + ran.stdout).toBe(0)
    return ran.stdout
  } finally {
    project.cleanup()
    await passport.close()
  }
}

describe('docs/tokens.md recipes, run as written', () => {
  it("the CI recipe 'minting tokens for an API's tests' up to its npm test (a stand-in test script checks the tokens), from scratch", async () => {
    const recipe = blockAfter('docs/tokens.md', "## Recipe: minting tokens for an API's tests")
    expect(recipe.trimEnd().endsWith('npm test')).toBe(true)
    expect(await runWithStandIn(recipe, 'test', 'check-tokens.cjs', CHECK_TOKENS)).toContain('stand-in tests passed')
  }, 120_000)

  it('a token in a curl call and personal access tokens after init; the signing-key algorithms from scratch', async () => {
    const curl = blockAfter('docs/tokens.md', '## `passport token`')
    const personal = blockAfter('docs/tokens.md', '## `passport token:personal`')
    const algorithms = blockAfter('docs/tokens.md', '## Signing keys and algorithms')
    // The reader's API on localhost:3000, here a stand-in on a free port that wants a bearer token.
    const seen: string[] = []
    const api = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization?.split('.').length === 3 ? 'jwt' : 'none'}`)
      res.end('{"me":"alice"}')
    })
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    const port = (api.address() as {port: number}).port
    const project = projectDir()
    const fresh = projectDir()
    const passport = await inProcessPassport()
    try {
      // After the README's set-up (init --yes): the reader's API on localhost:3000 is a stand-in on a free port.
      // Asynchronously: the stand-in API answers from this process.
      const ran = await bashWithBackground(
        [
          'set -e',
          passport.prelude,
          'npx passport init --yes > /dev/null',
          curl.replaceAll('localhost:3000', `127.0.0.1:${port}`),
          personal,
        ].join('\n'),
        project.dir,
      )
      expect(ran.status, ran.stderr).toBe(0)
      expect(seen).toEqual(['/api/me jwt'])
      expect(ran.stdout).toMatch(/^\{"me":"alice"\}eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/)
      // Choosing the algorithm is for a project's first keys: from scratch.
      const keys = await bashWithBackground(
        ['set -e', passport.prelude, algorithms, 'npx passport keys:jwks'].join('\n'),
        fresh.dir,
      )
      expect(keys.status, keys.stderr).toBe(0)
      const jwks = JSON.parse(keys.stdout.slice(keys.stdout.indexOf('{'))) as {keys: {alg: string}[]}
      expect(jwks.keys.map((key) => key.alg)).toEqual(['EdDSA', 'ES256'])
    } finally {
      project.cleanup()
      fresh.cleanup()
      await passport.close()
      await new Promise((resolve) => api.close(resolve))
    }
  }, 120_000)
})

describe('docs/cli.md, run as written', () => {
  it('every $ command of its transcripts, in order, in one shell from an empty project (protect, which serves until stopped, aside)', async () => {
    const text = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8')
    const commands = [...text.matchAll(/```console\n([\s\S]*?)```/g)].flatMap((block) =>
      block[1]!
        .split('\n')
        .filter((line) => line.startsWith('$ '))
        .map((line) => line.slice(2)),
    )
    const run = commands.filter((command) => !command.startsWith('passport protect '))
    expect(run.length).toBeGreaterThan(12)
    expect(commands.length - run.length).toBe(1)
    const project = projectDir()
    const passport = await inProcessPassport()
    try {
      const ran = await bashWithBackground(['set -e', passport.prelude, ...run].join('\n'), project.dir)
      expect(ran.status, ran.stderr).toBe(0)
      expect(ran.stdout).toContain('Deleted client "Shop" (shop) with all its tokens and codes.')
      expect(ran.stdout).toContain('New secret for "Service" (my-service):')
      expect(JSON.parse(readFileSync(join(project.dir, 'jwks.json'), 'utf8'))).toHaveProperty('keys')
    } finally {
      project.cleanup()
      await passport.close()
    }
  }, 180_000)
})

describe('README and docs/oidc.md serve recipes, run as written', () => {
  it("README 'Testing an OAuth / OpenID Connect client in CI': serve --port 0 in the background, then the reader's integration tests (a stand-in) against its issuer", async () => {
    const recipe = blockAfter('README.md', '### Testing an OAuth / OpenID Connect client in CI')
    expect(
      await runWithStandIn(
        `npx passport init --yes > /dev/null\n${recipe}`,
        'test:integration',
        'check-issuer.mjs',
        CHECK_ISSUER,
      ),
    ).toContain('integration stand-in passed')
  }, 120_000)

  it('docs/oidc.md: serve --port 0 --json writes the issuer, port and url', async () => {
    const recipe = blockAfter('docs/oidc.md', '## 2. Start the provider headless in CI')
    const project = projectDir()
    const passport = await inProcessPassport()
    try {
      const ran = await bashWithBackground(
        `set -e\n${passport.prelude}\n${recipe}\nuntil [ -s passport.json ]; do sleep 0.1; done\ncat passport.json`,
        project.dir,
      )
      expect(ran.status, ran.stderr).toBe(0)
      const line = JSON.parse(ran.stdout) as {issuer: string; port: number; url: string}
      expect(line.issuer).toBe(`http://127.0.0.1:${line.port}`)
      expect(line.url).toBe(line.issuer)
    } finally {
      project.cleanup()
      await passport.close()
    }
  }, 120_000)

  it('README device flow from a terminal, against a serve on the same project (its port 9000 swapped for a free one)', async () => {
    const recipe = blockAfter('README.md', '### The device flow from a terminal')
    const port = await freePort()
    const project = projectDir()
    const passport = await inProcessPassport()
    try {
      const serve = `npx passport init --yes > /dev/null\nnpx passport serve --port ${port} --quiet &\nnpx passport healthcheck --url http://127.0.0.1:${port} --timeout 60s > /dev/null`
      const ran = await bashWithBackground(
        `set -e\n${passport.prelude}\n${serve}\n${recipe.replaceAll('127.0.0.1:9000', `127.0.0.1:${port}`)}`,
        project.dir,
      )
      expect(ran.status, ran.stderr).toBe(0)
      const answer = JSON.parse(ran.stdout.slice(ran.stdout.lastIndexOf('{"access_token"'))) as {
        access_token: string
        token_type: string
        scope: string
      }
      expect([answer.token_type, answer.scope, answer.access_token.split('.').length]).toEqual(['Bearer', 'read', 3])
    } finally {
      project.cleanup()
      await passport.close()
    }
  }, 120_000)

  it('README key rotation, after init', async () => {
    const recipe = blockAfter('README.md', '### Key rotation')
    const project = projectDir()
    const passport = await inProcessPassport()
    try {
      const ran = await bashWithBackground(
        `set -e\n${passport.prelude}\nnpx passport init --yes > /dev/null\n${recipe}`,
        project.dir,
      )
      expect(ran.status, ran.stderr).toBe(0)
      expect(ran.stdout).toMatch(/^New key id: /m)
    } finally {
      project.cleanup()
      await passport.close()
    }
  }, 120_000)
})
