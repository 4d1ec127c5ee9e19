/** Hash functions used across Sinew. keccak256 for everything a Solidity contract may
 * check (tx hashes, headers, Merkle trees); sha256 for content addressing (blobs).
 *
 * keccak256 runs on the `keccak` package's native sponge (prebuilt for linux-x64), with
 * one state object reused for every call: the package's public API builds a Transform
 * stream per hash, which costs more than hashing the 32-128 byte inputs of Merkle trees
 * and EIP-712 and, over millions of calls, piles up garbage. Reuse is safe because each
 * call runs absorb -> squeeze synchronously. A probe against @noble/hashes checks the
 * native path at load; where it does not load or disagrees, @noble/hashes (same bytes,
 * about 3x slower) is used. */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { keccak_256 } from '@noble/hashes/sha3'
import { toHex, utf8, type Hex } from './encoding.ts'

type KeccakState = {
  initialize(rate: number, capacity: number): void
  absorb(data: Buffer): void
  absorbLastFewBits(bits: number): void
  squeeze(length: number): Buffer
}

function loadNativeKeccak(): ((data: Buffer) => Buffer) | undefined {
  try {
    const require = createRequire(import.meta.url)
    const createKeccak = require('keccak/bindings.js') as (algorithm: string) => { _state?: KeccakState }
    // The package exposes its native state class only through an instance.
    const State = createKeccak('keccak256')._state?.constructor as (new () => KeccakState) | undefined
    if (typeof State !== 'function') return undefined
    const state = new State()
    const hash = (data: Buffer): Buffer => {
      state.initialize(1088, 512) // keccak256: rate 1088 bits, capacity 512
      state.absorb(data)
      state.absorbLastFewBits(0x01) // Keccak padding (SHA-3 would be 0x06)
      return state.squeeze(32)
    }
    for (const probe of ['', 'abc', 'x'.repeat(200)]) {
      if (!hash(Buffer.from(probe)).equals(Buffer.from(keccak_256(utf8(probe))))) return undefined
    }
    return hash
  } catch {
    return undefined
  }
}

const nativeKeccak = loadNativeKeccak()

/** True when keccak256 runs on the native binding (false: pure JS). */
export const nativeKeccakActive: boolean = nativeKeccak !== undefined

const asBuffer = (data: Uint8Array): Buffer => (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength))

/** keccak256 of bytes, as 32 fresh bytes. */
export const keccak256Bytes: (data: Uint8Array) => Uint8Array = nativeKeccak ? (data) => nativeKeccak(asBuffer(data)) : (data) => keccak_256(data)

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
  return ('0x' + createHash('sha256').update(typeof data === 'string' ? utf8(data) : data).digest('hex')) as Hex
}
