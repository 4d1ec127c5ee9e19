import { describe, expect, it } from 'vitest'
import { canonicalJson, fromHex, toHex, uint256Word } from './encoding.ts'

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes bigints as strings', () => {
    expect(canonicalJson({ b: 1, a: { d: 2n, c: [true, null, 'x'] } })).toBe('{"a":{"c":[true,null,"x"],"d":"2"},"b":1}')
  })
  it('refuses floats and NaN', () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(/\$\.a/)
    expect(() => canonicalJson([NaN])).toThrow(/Not a canonical number/)
  })
  it('drops undefined fields so optional values do not change the bytes', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }))
  })
})

describe('hex', () => {
  it('round-trips and encodes uint256 words', () => {
    const bytes = new Uint8Array([0, 1, 254, 255])
    expect(toHex(bytes)).toBe('0x0001feff')
    expect(fromHex('0x0001feff')).toEqual(bytes)
    expect(toHex(uint256Word(258n))).toBe('0x' + '0'.repeat(60) + '0102')
    // Every limb boundary, against the hex of the number itself.
    for (const v of [0n, 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 128n + 5n, 10n ** 24n, 2n ** 192n - 1n, 2n ** 255n + 3n, 2n ** 256n - 1n])
      expect(toHex(uint256Word(v))).toBe('0x' + v.toString(16).padStart(64, '0'))
    expect(() => uint256Word(2n ** 256n)).toThrow(RangeError)
    expect(() => uint256Word(-1n)).toThrow(RangeError)
    expect(() => fromHex('0xabc')).toThrow(/Not a hex string/)
  })
})
