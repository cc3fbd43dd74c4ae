import type {IncomingMessage} from 'node:http'
import {isIP} from 'node:net'

/** Is this host a loopback address or `localhost` (what binding to it keeps on this machine)? */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  if (bare === 'localhost') return true
  return isIP(bare) !== 0 && isLoopbackAddress(bare)
}

/** Did the request come from this machine (a loopback peer address)? */
export function isLoopbackPeer(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress
  return address !== undefined && isLoopbackAddress(address)
}

function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1'
}
