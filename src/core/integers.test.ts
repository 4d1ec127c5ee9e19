import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareCodeUnits, largestRemainderOracle } from '../../test/oracles.ts'
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

describe('largestRemainderSplit against an independent oracle (every row, not just the sum)', () => {
  const split = (total: bigint, weights: { id: string; weight: bigint }[]) => largestRemainderSplit(total, weights).map((a) => a.amount)
  /** Unique ids: the tie-break is by id, so two rows with one id would be ambiguous. */
  const rows = (weight: fc.Arbitrary<bigint>, id: fc.Arbitrary<string> = fc.string({ maxLength: 6, unit: 'grapheme' })) =>
    fc.uniqueArray(fc.record({ id, weight }), { minLength: 1, maxLength: 40, selector: (r) => r.id })
  const params = { seed: 20261211, numRuns: 500 }
  /** Every split of `totals` over `weightRows` equals the oracle's, row by row. */
  const agrees = (totals: fc.Arbitrary<bigint>, weightRows: fc.Arbitrary<{ id: string; weight: bigint }[]>) =>
    fc.assert(
      fc.property(totals, weightRows, (total, w) => {
        fc.pre(w.some((r) => r.weight > 0n) || total === 0n)
        expect(split(total, w)).toEqual(largestRemainderOracle(total, w))
      }),
      params,
    )

  it('the oracle itself on hand-worked cases', () => {
    // [total, "id:weight …", expected rows, why]
    const cases: [bigint, string, bigint[], string][] = [
      [10n, 'b:1 a:1 c:1', [3n, 4n, 3n], '3.33… each, one unit left, to the smallest id'],
      [7n, 'x:1 y:2 z:4', [1n, 2n, 4n], '1, 2, 4 exactly'],
      [8n, 'x:1 y:2 z:4', [1n, 2n, 5n], '1.14, 2.29, 4.57: one unit to the .57'],
      [100n, 'p:3333 q:3333 r:3334', [33n, 33n, 34n], '33.33, 33.33, 33.34: the unit to the .34'],
    ]
    for (const [total, weights, expected, why] of cases) {
      const rows = weights.split(' ').map((pair) => ({ id: pair.split(':')[0], weight: BigInt(pair.split(':')[1]) }))
      expect(largestRemainderOracle(total, rows), why).toEqual(expected)
    }
  })

  it('random totals and weights', () => agrees(fc.bigInt({ min: 0n, max: 10n ** 30n }), rows(fc.bigInt({ min: 0n, max: 10_000n }))))

  it('small weights and totals, where remainders differ by a single unit', () =>
    agrees(fc.bigInt({ min: 0n, max: 20n }), rows(fc.bigInt({ min: 0n, max: 6n }), fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'))))

  it('adversarial: totals smaller than the row count, all-equal weights (every remainder ties), zero weights', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 50n }), fc.bigInt({ min: 1n, max: 3n }), fc.integer({ min: 1, max: 60 }), (total, weight, n) => {
        const w = Array.from({ length: n }, (_, i) => ({ id: `c${(i * 7919) % 1000}`.padEnd(6, String(i % 10)), weight: i % 5 === 4 ? 0n : weight }))
        fc.pre(new Set(w.map((r) => r.id)).size === n)
        const got = split(total, w)
        expect(got).toEqual(largestRemainderOracle(total, w))
        w.forEach((r, i) => r.weight === 0n && expect(got[i]).toBe(0n))
      }),
      params,
    )
  })

  it('adversarial: huge totals (uint256) and weights, bps weights summing to 10 000', () => {
    agrees(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), rows(fc.bigInt({ min: 1n, max: 1n << 128n })))
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.array(fc.integer({ min: 1, max: 9999 }), { minLength: 1, maxLength: 30 }), (total, cuts) => {
        // Cut 10 000 at sorted points: positive bps that sum to exactly 10 000, as receipts carry.
        const points = [...new Set(cuts)].sort((a, b) => a - b)
        const bps = [...points, 10_000].map((p, i) => BigInt(p - (i === 0 ? 0 : points[i - 1])))
        const w = bps.map((weight, i) => ({ id: `0x${(0xfff - i).toString(16)}`, weight }))
        expect(split(total, w)).toEqual(largestRemainderOracle(total, w))
      }),
      params,
    )
  })

  it('ties are broken by id in UTF-16 code units: z, then a surrogate pair (U+10000), then U+FB00', () => {
    expect(compareCodeUnits('\u{10000}', '\ufb00')).toBeLessThan(0)
    const w = [
      { id: '\ufb00', weight: 1n },
      { id: '\u{10000}', weight: 1n },
      { id: 'z', weight: 1n },
    ]
    expect(split(1n, w)).toEqual([0n, 0n, 1n])
    expect(split(2n, w)).toEqual(largestRemainderOracle(2n, w))
    expect(split(2n, w)).toEqual([0n, 1n, 1n]) // by code point U+FB00 would come first: [1n, 0n, 1n]
  })
})

describe('units', () => {
  it('round-trips', () => {
    expect(parseUnits('1.5')).toBe(1_500_000_000_000_000_000n)
    expect(formatUnits(1_500_000_000_000_000_000n)).toBe('1.5')
    expect(formatUnits(0n)).toBe('0')
  })
})
