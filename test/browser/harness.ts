import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Browser, type BrowserContext, chromium, type Page} from 'playwright-core'
import {expect} from 'vitest'

import {ROOT} from '../helpers.js'

/**
 * Browser tests drive Debian's Chromium through playwright-core (never a downloaded browser).
 * Every page visited is checked for console errors, requests leaving 127.0.0.1 and axe-core
 * violations of impact serious or critical.
 */

export const CHROMIUM = '/usr/bin/chromium'
/**
 * Screenshots are taken only with PASSPORT_SCREENSHOTS=1 (`npm run screenshots`), into
 * docs/images/: they assert nothing, so an ordinary test run neither touches the tracked images
 * nor spends the ~2 s they cost the page tests.
 */
export const SCREENSHOTS = process.env.PASSPORT_SCREENSHOTS === '1'
export const IMAGES = join(ROOT, 'docs', 'images')
export const VIEWPORT = {width: 1000, height: 700}

const AXE_SOURCE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

/** One Chromium for the whole file; fails with a clear message when it is not installed. */
export async function launchChromium(): Promise<{browser: Browser; close(): Promise<void>}> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Debian's Chromium at ${CHROMIUM}, which is missing: install it with "apt-get install -y chromium" (.ci/run does this).`,
    )
  }
  const profile = mkdtempSync(join(tmpdir(), 'passport-chromium-'))
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    // A fresh user-data dir every run (playwright passes it as --user-data-dir).
    env: {...process.env, HOME: profile},
  })
  return {
    browser,
    async close() {
      await browser.close()
      rmSync(profile, {recursive: true, force: true})
    },
  }
}

/** A fresh context and page whose console errors and off-host requests are recorded. */
export class Tab {
  readonly consoleErrors: string[] = []
  readonly foreignRequests: string[] = []

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(
    browser: Browser,
    options: {javaScriptEnabled?: boolean; colorScheme?: 'light' | 'dark'} = {},
  ): Promise<Tab> {
    const context = await browser.newContext({
      viewport: VIEWPORT,
      deviceScaleFactor: 1,
      colorScheme: options.colorScheme ?? 'light',
      javaScriptEnabled: options.javaScriptEnabled ?? true,
      locale: 'en-US',
      timezoneId: 'UTC',
    })
    const page = await context.newPage()
    const tab = new Tab(context, page)
    // Error pages are meant to answer 4xx, and Chromium logs "Failed to load resource" for any
    // 4xx document; the tests assert those statuses themselves. Every other console error counts
    // (a failing subresource, a CSP violation, a script error).
    const documents = new Set<string>()
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) documents.add(request.url())
    })
    page.on('console', (message) => {
      if (message.type() !== 'error') return
      const at = message.location().url
      if (
        message.text().startsWith('Failed to load resource: the server responded with a status of 4') &&
        documents.has(at)
      )
        return
      tab.consoleErrors.push(`${at || page.url()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => tab.consoleErrors.push(`${page.url()}: ${error.message}`))
    context.on('request', (request) => {
      const url = new URL(request.url())
      if (url.protocol === 'data:' || url.protocol === 'about:') return
      if (url.hostname !== '127.0.0.1') tab.foreignRequests.push(request.url())
    })
    return tab
  }

  /**
   * Runs axe-core on the current page: no serious or critical violations. axe is evaluated
   * through the DevTools protocol, which the page's CSP does not govern, so the CSP stays
   * enforced for everything else (a violation would show up as a console error).
   */
  async expectAccessible(label: string): Promise<void> {
    // Once per document: the same page checked again (say in dark mode) has axe already.
    if (!(await this.page.evaluate<boolean>("typeof axe === 'object'"))) await this.page.evaluate(AXE_SOURCE)
    // A string, evaluated in the page (the test code has no DOM types).
    const violations = await this.page.evaluate<
      Array<{id: string; impact: string | null; help: string; nodes: string[]}>
    >(`axe.run(document, {resultTypes: ['violations']}).then((result) =>
      result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target) + ': ' + n.failureSummary)})))`)
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    expect(bad, `axe violations on ${label}`).toEqual([])
  }

  /** At phone width (375 px) the page needs no horizontal scrolling (wide tables scroll inside their own box). */
  async expectFitsPhone(label: string): Promise<void> {
    await this.page.setViewportSize({width: 375, height: 700})
    const overflow = await this.page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    )
    await this.page.setViewportSize(VIEWPORT)
    expect(overflow, `horizontal overflow of ${label} at 375 px`).toBe(0)
  }

  /** No console errors and no request to anything but 127.0.0.1 during the whole tab. */
  expectClean(): void {
    expect(this.consoleErrors, 'console errors').toEqual([])
    expect(this.foreignRequests, 'requests leaving 127.0.0.1').toEqual([])
  }

  /**
   * Makes this tab as good as new for the next test, without a new context: a new one costs a
   * renderer process and compiling axe-core again (about 1 s a test). No cookies (so no session)
   * and no granted permissions are left, light colour scheme, the usual viewport, a blank page,
   * and the console errors and off-host requests recorded from here on only. passport's pages
   * keep nothing in web storage.
   */
  async reset(): Promise<void> {
    await this.page.goto('about:blank')
    await this.context.clearCookies()
    await this.context.clearPermissions()
    await this.page.emulateMedia({colorScheme: 'light'})
    await this.page.setViewportSize(VIEWPORT)
    this.consoleErrors.length = 0
    this.foreignRequests.length = 0
  }

  async screenshot(name: string, fullPage = false): Promise<void> {
    if (!SCREENSHOTS) return
    mkdirSync(IMAGES, {recursive: true})
    await this.page.screenshot({path: join(IMAGES, name), fullPage, animations: 'disabled', caret: 'hide'})
  }

  async close(): Promise<void> {
    await this.context.close()
  }
}

/** A stand-in client application on 127.0.0.1: its callback page records what it received. */
export async function startClientApp(): Promise<{url: string; callbacks: URLSearchParams[]; close(): Promise<void>}> {
  const callbacks: URLSearchParams[] = []
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end()
      return
    }
    if (url.pathname === '/callback') callbacks.push(url.searchParams)
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Client app</title></head><body><main><h1>Client app callback</h1><p id="query">${url.searchParams.has('code') ? 'code received' : `error: ${url.searchParams.get('error') ?? 'none'}`}</p></main></body></html>`
    res.writeHead(url.pathname === '/callback' ? 200 : 404, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    callbacks,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
