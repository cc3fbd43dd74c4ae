import {expect} from 'vitest'

/** RFC 6749 §5.2: `error` is 1*( %x20-21 / %x23-5B / %x5D-7E ). */
export const ERROR_CHARSET = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/
/** `error_description` uses the same set: no CR, LF, TAB, quote or backslash. */
export const DESCRIPTION_CHARSET = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

export {basic} from '../fixtures/oauth.js'

export interface Answer {
  status: number
  headers: Headers
  text: string
  json: Record<string, unknown>
}

/** fetch with a per-request timeout, never following redirects; the body read as text. */
export async function send(url: string, init: RequestInit & {timeoutMs?: number} = {}): Promise<Answer> {
  const {timeoutMs = 10_000, ...rest} = init
  const response = await fetch(url, {redirect: 'manual', ...rest, signal: AbortSignal.timeout(timeoutMs)})
  const text = await response.text()
  let json: Record<string, unknown> = {}
  if ((response.headers.get('content-type') ?? '').startsWith('application/json') && text) {
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      json = {}
    }
  }
  return {status: response.status, headers: response.headers, text, json}
}

export function form(url: string, body: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  return send(url, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded', ...headers},
    body: new URLSearchParams(body).toString(),
  })
}

/** An OAuth error document (RFC 6749 §5.2) with the RFC character sets. */
export function isOAuthError(json: Record<string, unknown>): boolean {
  const {error, error_description: description} = json
  if (typeof error !== 'string' || !ERROR_CHARSET.test(error)) return false
  if (description !== undefined && (typeof description !== 'string' || !DESCRIPTION_CHARSET.test(description)))
    return false
  return true
}

/**
 * Every credential a test file created, and every text a server or CLI showed outside the
 * places the contract allows a credential (logs, stderr, error bodies). `leaks()` lists which
 * secret turned up where.
 */
export class LeakScanner {
  private readonly secrets = new Map<string, string>()
  private readonly outputs: Array<{where: string; text: string}> = []

  secret(label: string, value: string | undefined | null): void {
    if (typeof value === 'string' && value.length >= 8) this.secrets.set(value, label)
  }

  output(where: string, text: string): void {
    if (text) this.outputs.push({where, text})
  }

  /** Records an error answer's body (4xx/5xx): it must not echo a credential. */
  answer(where: string, answer: Answer): Answer {
    if (answer.status >= 400) this.output(`${where} → ${answer.status}`, answer.text)
    return answer
  }

  /** The collected credentials as [value, label]. */
  entries(): Array<[string, string]> {
    return [...this.secrets]
  }

  get secretCount(): number {
    return this.secrets.size
  }

  get outputCount(): number {
    return this.outputs.length
  }

  leaks(): string[] {
    const found: string[] = []
    for (const {where, text} of this.outputs) {
      for (const [value, label] of this.secrets) {
        for (const form of variants(value)) {
          if (text.includes(form)) {
            found.push(`${label} in ${where}`)
            break
          }
        }
      }
    }
    return found
  }
}

/** The secret as it may appear: raw, URL-encoded, base64url of its bytes, and PEM body lines. */
function variants(value: string): string[] {
  const list = [value, encodeURIComponent(value)]
  if (value.includes('-----BEGIN')) {
    // Any 64-character base64 line of a PEM is as good as the key.
    for (const line of value.split('\n')) if (line.length >= 40 && !line.startsWith('-----')) list.push(line)
  }
  return list
}

export function expectNoLeaks(scanner: LeakScanner): void {
  expect(scanner.secretCount).toBeGreaterThan(0)
  expect(scanner.outputCount).toBeGreaterThan(0)
  expect(scanner.leaks()).toEqual([])
}

/** A seeded run: FUZZ_SEED (or a fresh one) is printed so a failure reproduces. */
export function seedFromEnv(name = 'FUZZ_SEED'): number {
  const given = process.env[name]
  const seed = given === undefined || given === '' ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0 : Number(given)
  if (!Number.isInteger(seed)) throw new Error(`${name} must be an integer`)
  return seed
}

/** A small deterministic PRNG (mulberry32) for the harnesses. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
