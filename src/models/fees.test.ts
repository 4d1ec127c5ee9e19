import { describe, expect, it } from 'vitest'
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
})
