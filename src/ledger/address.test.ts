import { getAddress } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { checksumAddress, parseAddress } from './address.ts'

describe('addresses', () => {
  it('checksumAddress is EIP-55: the spec examples and viem getAddress on random addresses', () => {
    // From EIP-55 itself.
    for (const a of [
      '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
      '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
      '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
    ])
      expect(checksumAddress(a.toLowerCase())).toBe(a)
    for (let i = 0; i < 200; i++) {
      const a = privateKeyToAddress(generatePrivateKey())
      expect(checksumAddress(a.toLowerCase())).toBe(getAddress(a))
    }
  })

  it('parseAddress takes lower, upper and checksummed case, refuses a mixed case with a bad checksum', () => {
    const good = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'
    expect(parseAddress(good)).toBe(good.toLowerCase())
    expect(parseAddress(good.toLowerCase())).toBe(good.toLowerCase())
    expect(parseAddress('0x' + good.slice(2).toUpperCase())).toBe(good.toLowerCase())
    const bad = good.replace('aA', 'Aa')
    expect(() => parseAddress(bad, 'to')).toThrow(expect.objectContaining({ code: 'invalid_address', shortMessage: 'to has a bad EIP-55 checksum' }))
  })
})
