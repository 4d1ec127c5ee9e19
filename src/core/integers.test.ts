import { describe, expect, it } from 'vitest'
import { formatUnits, largestRemainderSplit, parseUint, parseUnits } from './integers.ts'

describe('parseUint', () => {
  it('accepts plain decimals up to the bound', () => {
    expect(parseUint('0', 64, 'nonce')).toBe(0n)
    expect(parseUint(((1n << 256n) - 1n).toString(), 256, 'amount')).toBe((1n << 256n) - 1n)
  })
  it.each([
    ['-1', /negative/],
    ['1.5', /fractional/],
    ['1e3', /fractional or exponent/],
    ['01', /not a plain decimal/],
    [' 1', /not a plain decimal/],
    [(1n << 256n).toString(), /above the uint256 maximum/],
  ])('refuses %s', (value, message) => {
    expect(() => parseUint(value, 256, 'amount')).toThrow(message)
  })
  it('refuses non-strings and names the field', () => {
    try {
      parseUint(5, 64, 'nonce')
      expect.unreachable()
    } catch (e: any) {
      expect(e.code).toBe('invalid_field')
      expect(e.details.field).toBe('nonce')
    }
  })
})

describe('largestRemainderSplit', () => {
  it('sums exactly and gives leftovers to the largest remainders, ties by id', () => {
    const out = largestRemainderSplit(10n, [
      { id: 'b', weight: 1n },
      { id: 'a', weight: 1n },
      { id: 'c', weight: 1n },
    ])
    expect(out).toEqual([
      { id: 'b', amount: 3n },
      { id: 'a', amount: 4n },
      { id: 'c', amount: 3n },
    ])
  })
  it('is proportional', () => {
    const out = largestRemainderSplit(1000n, [
      { id: 'x', weight: 7500n },
      { id: 'y', weight: 2500n },
    ])
    expect(out.map((o) => o.amount)).toEqual([750n, 250n])
  })
  it('random inputs always sum to the total', () => {
    let seed = 42
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed
    }
    for (let t = 0; t < 200; t++) {
      const total = BigInt(rnd())
      const weights = Array.from({ length: 1 + (rnd() % 9) }, (_, i) => ({ id: 'id' + i, weight: BigInt(rnd() % 1000) + 1n }))
      const out = largestRemainderSplit(total, weights)
      expect(out.reduce((a, o) => a + o.amount, 0n)).toBe(total)
    }
  })
})

describe('units', () => {
  it('round-trips', () => {
    expect(parseUnits('1.5')).toBe(1_500_000_000_000_000_000n)
    expect(formatUnits(1_500_000_000_000_000_000n)).toBe('1.5')
    expect(formatUnits(0n)).toBe('0')
  })
})
