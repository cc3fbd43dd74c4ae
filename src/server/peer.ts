import type {IncomingMessage} from 'node:http'
import {isLoopbackAddress} from '../core/uris.js'

/** Did the request come from this machine (a loopback peer address)? */
export function isLoopbackPeer(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress
  return address !== undefined && isLoopbackAddress(address)
}
