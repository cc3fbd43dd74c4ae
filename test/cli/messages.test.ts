import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import {ROOT, tempDir} from '../helpers.js'
import {expectOneLineError, passport} from './support.js'

describe('what the CLI says when something is wrong', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('serve validates --issuer and --login-as like token does (usage errors)', async () => {
    expectOneLineError(
      await passport(dir, ['serve', '--issuer', 'not a url']),
      2,
      /^Error: --issuer must be an absolute http\(s\) URL without query or fragment, such as http:\/\/localhost:9000; got "not a url"\.$/,
    )
    expectOneLineError(
      await passport(dir, ['serve', '--login-as', '']),
      2,
      /^Error: --login-as "" is not a usable subject: Enter a subject/,
    )
    expectOneLineError(await passport(dir, ['serve', '--login-as', ' alice']), 2, /must not start or end with spaces/)
  })

  it('a port in use and an unresolvable --host get one line saying which and what to do', async () => {
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as {port: number}).port
    try {
      const taken = await passport(dir, ['serve', '--port', String(port), '--quiet'])
      const errors = taken.stderr.split('\n').filter((l) => l.startsWith('Error:'))
      expect(taken.code).toBe(1)
      expect(errors).toEqual([
        `Error: Port ${port} on 127.0.0.1 is already in use, perhaps by another passport serve (npm start serves on 9000); stop that process, or choose another port with --port (0 picks a free one).`,
      ])
      await expect(startServer({port})).rejects.toThrow(`Port ${port} on 127.0.0.1 is already in use`)
    } finally {
      holder.close()
    }
    const badHost = await passport(dir, ['serve', '--host', '999.1.1.1', '--port', '0', '--quiet'])
    expect(badHost.code).toBe(1)
    expect(badHost.stderr).toMatch(
      /^Error: --host 999\.1\.1\.1 is not an address or host name this machine can resolve \((ENOTFOUND|EAI_AGAIN|EAI_FAIL)\); use an interface address such as 127\.0\.0\.1/m,
    )
  })

  it('oclif parse errors in passport words: a missing argument, exclusive flags, a typo in a command', async () => {
    expectOneLineError(
      await passport(dir, ['client:show']),
      2,
      /^Error: passport client:show needs the argument ID \(Client id\); see passport client:show --help\.$/,
    )
    expectOneLineError(
      await passport(dir, ['client', 'x', '--public', '--device']),
      2,
      /^Error: --device and --public cannot be used together; see passport client --help\.$/,
    )
    expectOneLineError(
      await passport(dir, ['client', '--bogus']),
      2,
      /^Error: Nonexistent flag: --bogus; see passport client --help\.$/,
    )
    expectOneLineError(
      await passport(dir, ['tokne']),
      2,
      /^Error: "tokne" is not a passport command\. Did you mean "passport token"\? "passport help" lists them all\.$/,
    )
    expectOneLineError(
      await passport(dir, ['zzzzzzzzzz']),
      2,
      /^Error: "zzzzzzzzzz" is not a passport command\. "passport help" lists them all\.$/,
    )
  })

  it('-h is help, -v the version, and autocomplete is a command', async () => {
    const help = await passport(dir, ['client', '-h'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Create an OAuth client\./)
    const version = await passport(dir, ['-v'])
    expect(version.stdout).toMatch(/^passport-authority\/0\.\d+\.\d+ /)
    const autocomplete = await passport(dir, ['autocomplete', '--help'])
    expect(autocomplete.code).toBe(0)
    expect(autocomplete.stdout).toMatch(/autocomplete/)
  })

  it('the build does not ask oclif for updates, and the package has its MIT LICENSE', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
      license: string
    }
    expect(pkg.scripts.build).toContain('OCLIF_SKIP_NEW_VERSION_CHECK=true oclif manifest')
    expect(pkg.license).toBe('MIT')
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8')
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 passport contributors\n/)
  })
})
