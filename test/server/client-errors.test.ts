import {request} from 'node:http'
import {connect, createServer, type Server, type Socket} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'

/**
 * Requests node:http cannot parse (issue 18 finding 12): the 431/400 answers are written on the
 * raw socket, so a HEAD must get no body however its bytes arrive (one packet or several).
 */
let port: number
let close: () => Promise<void>

beforeAll(async () => {
  const running = await startServer()
  port = running.port
  close = () => running.close()
})

afterAll(async () => {
  await close?.()
})

/** One turn of the event loop: the server (in this process) reads what was written before it. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Writes `packets` one by one on a raw socket, letting the server read each before the next (the
 * server runs in this process, and loopback delivers a write at once), and returns everything the
 * server sent until it closed the connection.
 */
function exchange(packets: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let received = ''
    socket.setEncoding('latin1')
    socket.on('data', (data: string) => (received += data))
    // The server may close while later packets are still on their way: the answer is what counts.
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
    )
    socket.on('close', () => resolve(received))
    socket.once('connect', () => {
      void (async () => {
        for (const packet of packets) {
          if (socket.destroyed || socket.writableEnded) return
          await new Promise<void>((done) => socket.write(packet, () => done()))
          await turn()
          await turn()
        }
      })()
    })
  })
}

function parse(answer: string): {statusLine: string; headers: Record<string, string>; body: string} {
  const end = answer.indexOf('\r\n\r\n')
  expect(end, answer).toBeGreaterThan(0)
  const [statusLine, ...lines] = answer.slice(0, end).split('\r\n')
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  )
  return {statusLine: statusLine!, headers, body: answer.slice(end + 4)}
}

const PAD = 'a'.repeat(8 * 1024)
/** Over node:http's 32 KiB header limit, so the parser itself refuses (clientError). */
const bigHeaders = (count = 6) => Array.from({length: count}, (_, i) => `X-Pad-${i}: ${PAD}\r\n`)
const TOO_LARGE = '{"error":"invalid_request","error_description":"The request line or headers are too large."}'

/** The body-less answer every request that may be HEAD gets. */
function expectBodyless(answer: string, statusLine: string): void {
  const {statusLine: line, headers, body} = parse(answer)
  expect(line).toBe(statusLine)
  expect(headers).toEqual({connection: 'close', 'content-length': '0', 'cache-control': 'no-store'})
  expect(body).toBe('')
}

describe('answers to requests node:http cannot parse (issue 18 finding 12)', () => {
  it('checklist 149: HEAD with oversized headers gets a 431 without a body, in one packet or several', async () => {
    expectBodyless(
      await exchange([`HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n${bigHeaders().join('')}\r\n`]),
      'HTTP/1.1 431 Request Header Fields Too Large',
    )
    // The request line first, then the headers in packets: the failing packet is not the request's start.
    expectBodyless(
      await exchange(['HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n', ...bigHeaders(), '\r\n']),
      'HTTP/1.1 431 Request Header Fields Too Large',
    )
    // A second request on a keep-alive connection, and one pipelined behind a GET in the same packet.
    const second = await exchange([
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
      `HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n${bigHeaders().join('')}\r\n`,
    ])
    expect(second.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true)
    expectBodyless(second.slice(second.indexOf('HTTP/1.1 431')), 'HTTP/1.1 431 Request Header Fields Too Large')
    const pipelined = await exchange([
      `GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: localhost\r\n${bigHeaders().join('')}\r\n`,
    ])
    expectBodyless(pipelined.slice(pipelined.indexOf('HTTP/1.1 431')), 'HTTP/1.1 431 Request Header Fields Too Large')
  })

  it('checklist 149: a malformed HEAD gets a 400 without a body, in one packet or several', async () => {
    expectBodyless(
      await exchange(['HEAD /healthz HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n']),
      'HTTP/1.1 400 Bad Request',
    )
    expectBodyless(
      await exchange(['HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n', 'no colon here\r\n\r\n']),
      'HTTP/1.1 400 Bad Request',
    )
  })

  it('checklist 149: a GET whose request line is in the failing packet gets the JSON error; split over packets it gets the body-less answer', async () => {
    const {statusLine, headers, body} = parse(
      await exchange([`GET /healthz HTTP/1.1\r\nHost: localhost\r\n${bigHeaders().join('')}\r\n`]),
    )
    expect(statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large')
    expect(headers).toEqual({
      connection: 'close',
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(TOO_LARGE.length),
      'cache-control': 'no-store',
    })
    expect(body).toBe(TOO_LARGE)
    const malformed = parse(await exchange(['GET /healthz HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n']))
    expect([malformed.statusLine, malformed.body]).toEqual([
      'HTTP/1.1 400 Bad Request',
      '{"error":"invalid_request","error_description":"The HTTP request is malformed."}',
    ])
    // The server cannot tell this GET from a HEAD: a correct answer for both.
    expectBodyless(
      await exchange(['GET /healthz HTTP/1.1\r\nHost: localhost\r\n', ...bigHeaders(), '\r\n']),
      'HTTP/1.1 431 Request Header Fields Too Large',
    )
  })

  describe('through a proxy that forwards in 4 KiB packets', () => {
    let proxy: Server
    let proxyPort: number
    beforeAll(async () => {
      proxy = createServer((client: Socket) => {
        const upstream = connect(port, '127.0.0.1')
        let queue = Promise.resolve()
        client.on('data', (data: Buffer) => {
          queue = queue.then(async () => {
            for (let at = 0; at < data.length && !upstream.destroyed; at += 4096) {
              upstream.write(data.subarray(at, at + 4096))
              await turn()
              await turn()
            }
          })
        })
        upstream.on('data', (data: Buffer) => client.write(data))
        upstream.on('end', () => client.end())
        upstream.on('error', () => client.destroy())
        client.on('error', () => upstream.destroy())
      })
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
      proxyPort = (proxy.address() as {port: number}).port
    })
    afterAll(async () => {
      await new Promise((resolve) => proxy.close(resolve))
    })

    it('checklist 149: node:http and fetch (undici) read the HEAD 431 without a connection error (was HPE_CLOSED_CONNECTION)', async () => {
      const headers = {'x-pad': 'a'.repeat(40 * 1024)}
      const events: string[] = []
      await new Promise<void>((resolve) => {
        const req = request({host: '127.0.0.1', port: proxyPort, path: '/healthz', method: 'HEAD', headers}, (res) => {
          events.push(`status ${res.statusCode}`)
          res.on('data', (data: Buffer) => events.push(`body ${data.length}`))
        })
        req.on('error', (error: NodeJS.ErrnoException) => events.push(`error ${error.code}`))
        req.on('close', resolve)
        req.end()
      })
      expect(events).toEqual(['status 431'])

      const head = await fetch(`http://127.0.0.1:${proxyPort}/healthz`, {method: 'HEAD', headers})
      expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([431, '0', ''])
      const after = await fetch(`http://127.0.0.1:${proxyPort}/healthz`, {method: 'HEAD'})
      expect(after.status).toBe(200)
    })
  })
})
