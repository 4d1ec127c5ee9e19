/** Hash functions used across Sinew. keccak256 for everything a Solidity contract may
 * check (tx hashes, headers, Merkle trees); sha256 for content addressing (blobs). */
import { createHash } from 'node:crypto'
import { keccak_256 } from '@noble/hashes/sha3'
import { toHex, utf8, type Hex } from './encoding.ts'

export function keccak256Bytes(data: Uint8Array): Uint8Array {
  return keccak_256(data)
}

export function keccak256(data: Uint8Array | string): Hex {
  return toHex(keccak_256(typeof data === 'string' ? utf8(data) : data))
}

export function sha256Bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

export function sha256(data: Uint8Array | string): Hex {
  return ('0x' + createHash('sha256').update(typeof data === 'string' ? utf8(data) : data).digest('hex')) as Hex
}
