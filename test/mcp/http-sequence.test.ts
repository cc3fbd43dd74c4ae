import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {freePort, ROOT, tempDir, writeJson} from '../helpers.js'
import {kitProtectedMcp, spawnPassport, type Spawned} from './sdk-support.js'

/**
 * docs/mcp.md "The exact HTTP sequence", replayed: every `http` request block is sent as written
 * (its ports swapped for free ones, `$NAME` filled in from earlier answers) and the answer is
 * checked against the `http` block after it, so the page and the test cannot drift apart.
 */
const DOC = readFileSync(join(ROOT, 'docs', 'mcp.md'), 'utf8')
const SECTION = (() => {
  const start = DOC.indexOf('\n## The exact HTTP sequence\n')
  const end = DOC.indexOf('\n## ', start + 1)
  if (start === -1 || end === -1) throw new Error('docs/mcp.md has no section "The exact HTTP sequence"')
  return DOC.slice(start, end)
})()
const BLOCKS = [...SECTION.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({lang: m[1]!, code: m[2]!}))

interface HttpMessage {
  /** `METHOD URL` or `HTTP/1.1 STATUS Reason`. */
  start: string[]
  headers: Array<[string, string]>
  body: string
}

function parseHttp(code: string): HttpMessage {
  const [head, ...rest] = code.trim().split(/\n\n/)
  const [start, ...headerLines] = head!.split('\n')
  const headers = headerLines.map((line): [string, string] => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()]
  })
  return {start: start!.split(' '), headers, body: rest.join('\n\n').trim()}
}

/** The step number each request block follows (`**N.**`), to name failures. */
function stepLabels(): string[] {
  const labels: string[] = []
  let current = '?'
  for (const part of SECTION.split(/(```\w+\n[\s\S]*?```)/)) {
    const step = [...part.matchAll(/\*\*(\d+)\.\*\*/g)].at(-1)
    if (step) current = step[1]!
    if (part.startsWith('```http\n') && !part.startsWith('```http\nHTTP/')) labels.push(current)
  }
  return labels
}

/** Fills `$NAME` from the values kept so far; a name never kept is a broken page. */
function fill(text: string, values: Map<string, string>): string {
  return text.replace(/\$([A-Z_]+)/g, (_, name: string) => {
    const value = values.get(name)
    if (value === undefined) throw new Error(`docs/mcp.md sends $${name} before any answer gave it`)
    return value
  })
}

/** A header template as a pattern: `…` any text, `$NAME` a value to keep. */
function headerPattern(template: string): {pattern: RegExp; names: string[]} {
  const names: string[] = []
  const source = template
    .split(/(\$[A-Z_]+|…)/)
    .map((part) => {
      if (part === '…') return '.*?'
      if (/^\$[A-Z_]+$/.test(part)) {
        names.push(part.slice(1))
        return '([^&"\\s,]+)'
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('')
  return {pattern: new RegExp(`^${source}$`), names}
}

/**
 * Checks an answer body against the page's: only the members shown, `"…"` any value, `"$NAME"`
 * any string (kept); arrays element by element.
 */
function matchJson(
  expected: unknown,
  actual: unknown,
  where: string,
  values: Map<string, string>,
  problems: string[],
): void {
  if (expected === '…') {
    if (actual === undefined) problems.push(`${where}: missing`)
    return
  }
  if (typeof expected === 'string' && /^\$[A-Z_]+$/.test(expected)) {
    if (typeof actual !== 'string' || actual === '')
      problems.push(`${where}: expected a string to keep as ${expected}, got ${JSON.stringify(actual)}`)
    else values.set(expected.slice(1), actual)
    return
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      problems.push(`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
      return
    }
    expected.forEach((item, i) => matchJson(item, actual[i], `${where}[${i}]`, values, problems))
    return
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      problems.push(`${where}: expected an object, got ${JSON.stringify(actual)}`)
      return
    }
    for (const [key, value] of Object.entries(expected))
      matchJson(value, (actual as Record<string, unknown>)[key], `${where}.${key}`, values, problems)
    return
  }
  if (expected !== actual)
    problems.push(`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
}

describe('docs/mcp.md: the exact HTTP sequence, replayed step by step', () => {
  let dir: {dir: string; cleanup: () => void}
  let kit: Awaited<ReturnType<typeof kitProtectedMcp>>
  let authority: Spawned
  let ports: (text: string) => string

  beforeAll(async () => {
    dir = tempDir('passport-mcp-sequence-')
    kit = await kitProtectedMcp()
    const map = new Map([
      ['9000', String(await freePort())],
      ['3000', new URL(kit.url).port],
    ])
    // 127.0.0.1:9000 and 127.0.0.1%3A9000 (in queries and forms) alike.
    ports = (text) => text.replace(/(?<=127\.0\.0\.1(?::|%3A))(9000|3000)\b/g, (port) => map.get(port)!)
    const [config, serve] = BLOCKS
    expect([config!.lang, serve!.lang]).toEqual(['json', 'sh'])
    writeJson(join(dir.dir, 'passport.config.json'), JSON.parse(config!.code))
    const args = ports(serve!.code).trim().split(/\s+/)
    expect(args.slice(0, 2)).toEqual(['passport', 'serve'])
    // `serve` without --port listens on 9000: the swapped port is given the same way.
    authority = await spawnPassport([...args.slice(1), '--port', map.get('9000')!, '--quiet'], dir.dir)
    kit.protectWith(authority.json.issuer as string)
  }, 60_000)

  afterAll(async () => {
    await authority?.stop()
    await kit?.close()
    dir?.cleanup()
  })

  it('has the config, the serve line and nine request/answer pairs', () => {
    const http = BLOCKS.filter((b) => b.lang === 'http')
    expect(BLOCKS.map((b) => b.lang)).toEqual(['json', 'sh', ...http.map(() => 'http')])
    expect(http).toHaveLength(18)
    http.forEach((block, i) => expect(block.code.startsWith('HTTP/1.1 ')).toBe(i % 2 === 1))
    expect(stepLabels()).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9'])
  })

  it('every request as the page writes it gets the answer the page shows', async () => {
    const http = BLOCKS.filter((b) => b.lang === 'http')
    const labels = stepLabels()
    const values = new Map<string, string>()
    const sent: Array<{step: string; request: HttpMessage}> = []
    for (let i = 0; i < http.length; i += 2) {
      const step = labels[i / 2]!
      const request = parseHttp(fill(ports(http[i]!.code), values))
      const expected = parseHttp(ports(http[i + 1]!.code))
      sent.push({step, request})
      const [method = '', url = ''] = request.start
      const response = await fetch(url, {
        method,
        headers: request.headers,
        redirect: 'manual',
        ...(request.body === '' ? {} : {body: request.body}),
      })
      const problems: string[] = []
      const status = Number(expected.start[1])
      if (response.status !== status) problems.push(`status: expected ${status}, got ${response.status}`)
      for (const [name, template] of expected.headers) {
        const actual = response.headers.get(name)
        if (name.toLowerCase() === 'content-type') {
          // Media type only; a charset parameter may follow.
          if (actual?.split(';')[0]!.trim() !== template) problems.push(`${name}: expected ${template}, got ${actual}`)
          continue
        }
        const {pattern, names} = headerPattern(template)
        const match = actual === null ? null : pattern.exec(actual)
        if (!match) problems.push(`${name}: expected ${template}, got ${actual}`)
        else names.forEach((key, n) => values.set(key, match[n + 1]!))
      }
      const text = await response.text()
      if (expected.body !== '') {
        let actual: unknown
        try {
          actual = JSON.parse(text)
        } catch {
          problems.push(`body: expected JSON, got ${text.slice(0, 200)}`)
        }
        matchJson(JSON.parse(expected.body), actual, 'body', values, problems)
      }
      expect(problems, `docs/mcp.md step ${step}: ${method} ${url}\n${text.slice(0, 500)}`).toEqual([])

      if (step === '6' || step === '8') {
        // The prose of steps 6 and 8: the access token's aud is the resource.
        expect(decodeJwt(values.get('ACCESS_TOKEN')!).aud).toBe(kit.resource)
      }
    }

    // Step 8's prose: the spent refresh token sent again is invalid_grant (and revokes the family).
    const refresh = sent.find((s) => s.step === '8')!.request
    const again = await fetch(refresh.start[1]!, {method: 'POST', headers: refresh.headers, body: refresh.body})
    expect(again.status).toBe(400)
    expect(((await again.json()) as {error: string}).error).toBe('invalid_grant')
  }, 60_000)
})
