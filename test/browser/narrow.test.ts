import type {Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {startFileServer} from '../fixtures/server.js'
import {launchChromium} from './harness.js'

/** The dashboard on a phone-sized screen (issue 18 finding 14: the endpoint table broke at 390 px). */

let chromium: {browser: Browser; close(): Promise<void>}
let server: {url: string; close(): Promise<void>}

beforeAll(async () => {
  server = await startFileServer(
    {
      port: 0,
      host: '127.0.0.1',
      config: {
        clients: [
          {
            id: 'web',
            name: 'Acme Shop',
            secret: 'web-secret-narrow-123',
            redirectUris: ['http://localhost:3000/a/rather/long/callback/path/that/does/not/wrap'],
          },
        ],
      },
    },
    'passport-narrow-',
  ).then((running) => ({url: running.handle.url(), close: () => running.close()}))
  chromium = await launchChromium()
})

afterAll(async () => {
  await chromium?.close()
  await server?.close()
})

describe('dashboard at 390 px', () => {
  test('checklist 147: the page has no horizontal overflow at 390 px, the endpoint table fits without sideways scrolling and each URL gets at least 200 px', async () => {
    const context = await chromium.browser.newContext({viewport: {width: 390, height: 844}, deviceScaleFactor: 1})
    try {
      const page = await context.newPage()
      const res = await page.goto(`${server.url}/`)
      expect(res?.status()).toBe(200)
      // A string, evaluated in the page (the test code has no DOM types).
      const widths = await page.evaluate<{
        scroll: number
        endpointTable: number
        endpointWrap: {scrollWidth: number; clientWidth: number}
        narrowestUrl: number
      }>(`(() => {
        const wrap = document.querySelector('.table-wrap')
        const table = document.querySelector('table')
        return {
          scroll: document.documentElement.scrollWidth,
          endpointTable: table.getBoundingClientRect().right,
          endpointWrap: {scrollWidth: wrap.scrollWidth, clientWidth: wrap.clientWidth},
          narrowestUrl: Math.min(...[...table.querySelectorAll('td code')].map((e) => e.getBoundingClientRect().width)),
        }
      })()`)
      expect(widths.scroll).toBeLessThanOrEqual(390)
      expect(widths.endpointTable).toBeLessThanOrEqual(390)
      // The endpoint table fits its box (no sideways scrolling) and each URL gets most of the
      // width, instead of a column a few characters wide that breaks every URL into many lines.
      expect(widths.endpointWrap.scrollWidth).toBeLessThanOrEqual(widths.endpointWrap.clientWidth)
      expect(widths.narrowestUrl).toBeGreaterThanOrEqual(200)
    } finally {
      await context.close()
    }
  })
})
