/** The account value: abi.encode(uint256 balance, uint256 nonce), read back exactly. */
import { describe, expect, it } from 'vitest'
import { toHex } from '../core/index.ts'
import { decodeAccount, encodeAccount } from './accounts.ts'

describe('account encoding', () => {
  it('is the two uint256 words, and decodes back, also from a view into a larger buffer', () => {
    const values = [0n, 1n, 2n ** 64n - 1n, 2n ** 64n, 10n ** 24n, 2n ** 200n + 7n, 2n ** 256n - 1n]
    for (const balance of values) {
      for (const nonce of [0n, 5n, 2n ** 64n + 1n]) {
        const bytes = encodeAccount({ balance, nonce })
        expect(toHex(bytes)).toBe(`0x${balance.toString(16).padStart(64, '0')}${nonce.toString(16).padStart(64, '0')}`)
        expect(decodeAccount(bytes)).toEqual({ balance, nonce })
        const padded = new Uint8Array(80)
        padded.set(bytes, 9)
        expect(decodeAccount(padded.subarray(9, 73))).toEqual({ balance, nonce })
      }
    }
    expect(() => decodeAccount(new Uint8Array(63))).toThrow(/64 bytes/)
  })
})
