/** Hash functions used across Sinew. keccak256 for everything a Solidity contract may
 * check (tx hashes, headers, Merkle trees); sha256 for content addressing (blobs).
 *
 * keccak256 runs on hash-wasm's WebAssembly Keccak with one reused hasher: about 1.2M
 * hashes/s of 32-128 bytes here, against ~0.4M through the native `keccak` binding (four
 * N-API calls per hash) and ~0.1M for pure JS. Merkle trees and EIP-712 hash such small
 * inputs by the million, so this is the ledger's hot path. Reuse is safe because each call
 * runs init -> update -> digest synchronously. A probe against @noble/hashes checks the
 * WASM path at load; where it cannot load or disagrees, @noble/hashes (same bytes) is used. */
import { createHash } from 'node:crypto'
import { keccak_256 } from '@noble/hashes/sha3'
import { createKeccak } from 'hash-wasm'
import { toHex, utf8, type Hex } from './encoding.ts'

async function loadWasmKeccak(): Promise<((data: Uint8Array) => Uint8Array) | undefined> {
  try {
    const hasher = await createKeccak(256)
    const hash = (data: Uint8Array): Uint8Array => {
      hasher.init()
      hasher.update(data)
      return hasher.digest('binary')
    }
    for (const probe of ['', 'abc', 'x'.repeat(200)]) {
      const want = keccak_256(utf8(probe))
      const got = hash(utf8(probe))
      if (got.length !== 32 || got.some((b, i) => b !== want[i])) return undefined
    }
    return hash
  } catch {
    return undefined
  }
}

const wasmKeccak = await loadWasmKeccak()

/** True when keccak256 runs on WebAssembly (false: pure JS). */
export const wasmKeccakActive: boolean = wasmKeccak !== undefined

/** keccak256 of bytes, as 32 fresh bytes. */
export const keccak256Bytes: (data: Uint8Array) => Uint8Array = wasmKeccak ?? ((data) => keccak_256(data))

/** keccak256(src[srcOff, srcOff+len)) written into dst[dstOff, dstOff+32), for hot loops over arenas. */
export function keccak256Into(src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): void {
  dst.set(keccak256Bytes(src.subarray(srcOff, srcOff + len)), dstOff)
}

export function keccak256(data: Uint8Array | string): Hex {
  return toHex(keccak256Bytes(typeof data === 'string' ? utf8(data) : data))
}

export function sha256Bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

export function sha256(data: Uint8Array | string): Hex {
  return ('0x' +
    createHash('sha256')
      .update(typeof data === 'string' ? utf8(data) : data)
      .digest('hex')) as Hex
}
