import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { largestRemainderOracle } from '../../test/oracles.ts'
import { computeFee, creditsByAuthor, splitFee } from './fees.ts'

const A = '0x00000000000000000000000000000000000000aa' as const
const B = '0x00000000000000000000000000000000000000bb' as const

describe('fees', () => {
  it('rounds the fee up to a whole base unit', () => {
    expect(computeFee(1_000_000n, 3n)).toBe(3n)
    expect(computeFee(1n, 1n)).toBe(1n)
    expect(computeFee(1n, 0n)).toBe(0n)
    expect(computeFee(1_500_001n, 2n)).toBe(4n)
    expect(computeFee(0n, 100n)).toBe(0n)
  })

  it('splits exactly: protocol floor, contributor pool floor by coverage, owner the rest', () => {
    const s = splitFee(10_001n, 500, 5000, 7500, [
      { contribution: 'c1', author: A, bps: 3333 },
      { contribution: 'c2', author: B, bps: 3333 },
      { contribution: 'c3', author: A, bps: 3334 },
    ])
    expect(s.protocolFee).toBe(500n)
    expect(s.contributorPool).toBe((9501n * 5000n * 7500n) / 100_000_000n)
    expect(s.contributors.reduce((a, c) => a + c.amount, 0n)).toBe(s.contributorPool)
    expect(s.protocolFee + s.contributorPool + s.ownerAmount).toBe(10_001n)
    expect(creditsByAuthor(s)).toEqual([
      { author: A, amount: s.contributors[0].amount + s.contributors[2].amount },
      { author: B, amount: s.contributors[1].amount },
    ])
  })

  it('gives the owner everything after the protocol fee when nothing is traced', () => {
    const s = splitFee(999n, 500, 10_000, 0, [])
    expect(s).toMatchObject({ protocolFee: 49n, contributorPool: 0n, ownerAmount: 950n, contributors: [] })
  })

  it('pays each contributor row what an independent oracle gives (random fees, shares, coverage, weights)', () => {
    const authors = [A, B]
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 9999 }), { minLength: 12, maxLength: 12 }),
        (fee, protocolBps, shareBps, coverageBps, ids, raw) => {
          // Positive bps summing to exactly 10 000 (the last row takes what is left, at least 1).
          const bps = ids.map((_, i) => (i < ids.length - 1 ? raw[i] : 0))
          let used = bps.reduce((a, b) => a + b, 0)
          for (let i = 0; used > 10_000 - 1 && i < bps.length - 1; i++) {
            const cut = Math.min(bps[i] - 1, used - (10_000 - 1))
            bps[i] -= cut
            used -= cut
          }
          bps[bps.length - 1] = 10_000 - used
          const weights = ids.map((id, i) => ({ contribution: `0x${id.toString(16).padStart(4, '0')}`, author: authors[i % 2], bps: bps[i] }))
          const s = splitFee(fee, protocolBps, shareBps, coverageBps, weights)
          const protocolFee = (fee * BigInt(protocolBps)) / 10_000n
          const pool = ((fee - protocolFee) * BigInt(shareBps) * BigInt(coverageBps)) / 100_000_000n
          expect(s.protocolFee).toBe(protocolFee)
          expect(s.contributorPool).toBe(pool)
          const expected = largestRemainderOracle(
            pool,
            weights.map((w) => ({ id: w.contribution, weight: BigInt(w.bps) })),
          )
          expect(s.contributors.map((c) => c.amount)).toEqual(expected)
          expect(s.contributors.map((c) => c.contribution)).toEqual(weights.map((w) => w.contribution))
          expect(s.ownerAmount).toBe(fee - protocolFee - pool)
        },
      ),
      { seed: 20261211, numRuns: 300 },
    )
  })
})
