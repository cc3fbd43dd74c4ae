import type {IncomingMessage} from 'node:http'
import {isIP} from 'node:net'
import {isLoopbackAddress} from '../core/uris.js'

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

