import { describe, expect, it } from 'vitest'
import { keccak_256 } from '@noble/hashes/sha3'
import { keccak256, keccak256Bytes, keccak256Into, sha256, wasmKeccakActive } from './hash.ts'
import { toHex } from './encoding.ts'

describe('hash', () => {
  it('keccak256 matches the known vectors', () => {
    expect(keccak256('')).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470')
    expect(keccak256('abc')).toBe('0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45')
  })
  it('the WASM path is active and gives the same bytes as the pure-JS one on many lengths and views', () => {
    expect(wasmKeccakActive).toBe(true)
    const backing = new Uint8Array(400).map((_, i) => (i * 31 + 7) & 0xff)
    for (let len = 0; len < 300; len += 7) {
      const view = backing.subarray(3, 3 + len)
      expect(toHex(keccak256Bytes(view))).toBe(toHex(keccak_256(view)))
    }
  })
  it('returns fresh bytes: a later hash does not overwrite an earlier result', () => {
    const first = keccak256Bytes(new Uint8Array([1]))
    const copy = toHex(first)
    keccak256Bytes(new Uint8Array([2]))
    expect(toHex(first)).toBe(copy)
    const dst = new Uint8Array(40)
    keccak256Into(new Uint8Array([9, 1, 9]), 1, 1, dst, 4)
    expect(toHex(dst.subarray(4, 36))).toBe(copy)
  })
  it('sha256 matches the known vector', () => {
    expect(sha256('abc')).toBe('0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})
