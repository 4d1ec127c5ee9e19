/** Hash functions used across Sinew. keccak256 for everything a Solidity contract may
 * check (tx hashes, headers, Merkle trees); sha256 for content addressing (blobs).
 *
 * keccak256 runs through the `keccak` package's native binding (prebuilt for linux-x64,
 * about 3x faster than pure JS for the 32-128 byte inputs of Merkle trees and EIP-712);
 * where no binding loads, it falls back to @noble/hashes, which gives the same bytes. */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { keccak_256 } from '@noble/hashes/sha3'
import { toHex, utf8, type Hex } from './encoding.ts'

function loadNativeKeccak(): ((data: Uint8Array) => Uint8Array) | undefined {
  try {
    const require = createRequire(import.meta.url)
    const createKeccak = require('keccak/bindings.js') as (algorithm: string) => { update(d: Buffer): { digest(): Buffer } }
    const probe = createKeccak('keccak256').update(Buffer.from('abc')).digest()
    if (toHex(probe) !== toHex(keccak_256(utf8('abc')))) return undefined
    return (data) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      const out = createKeccak('keccak256').update(buf).digest()
      return new Uint8Array(out.buffer, out.byteOffset, 32)
    }
  } catch {
    return undefined
  }
}

const nativeKeccak = loadNativeKeccak()

/** keccak256 of bytes, as bytes. */
export const keccak256Bytes: (data: Uint8Array) => Uint8Array = nativeKeccak ?? ((data) => keccak_256(data))

export function keccak256(data: Uint8Array | string): Hex {
  return toHex(keccak256Bytes(typeof data === 'string' ? utf8(data) : data))
}

export function sha256Bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

export function sha256(data: Uint8Array | string): Hex {
  return ('0x' + createHash('sha256').update(typeof data === 'string' ? utf8(data) : data).digest('hex')) as Hex
}
