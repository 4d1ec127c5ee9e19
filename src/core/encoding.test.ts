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
    expect(() => fromHex('0xabc')).toThrow(/Not a hex string/)
  })
})
