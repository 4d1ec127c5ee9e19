import { describe, expect, it } from 'vitest'
import { periodEnd, periodStart } from './budgets.ts'

const ms = (iso: string) => BigInt(Date.parse(iso))

describe('budget periods (UTC)', () => {
  it('a day runs from 00:00 UTC to the next', () => {
    expect(periodStart('day', ms('2026-12-02T23:59:59.999Z'))).toBe(ms('2026-12-02T00:00:00Z'))
    expect(periodEnd('day', ms('2026-12-02T00:00:00Z'))).toBe(ms('2026-12-03T00:00:00Z'))
  })
  it('a week starts on Monday', () => {
    // 2026-12-02 is a Wednesday; 2026-11-30 the Monday before it.
    expect(periodStart('week', ms('2026-12-02T10:00:00Z'))).toBe(ms('2026-11-30T00:00:00Z'))
    expect(periodStart('week', ms('2026-11-30T00:00:00Z'))).toBe(ms('2026-11-30T00:00:00Z'))
    expect(periodStart('week', ms('2026-11-29T23:59:59Z'))).toBe(ms('2026-11-23T00:00:00Z'))
    expect(periodEnd('week', ms('2026-12-06T23:00:00Z'))).toBe(ms('2026-12-07T00:00:00Z'))
  })
  it('a month starts on the 1st, whatever its length', () => {
    expect(periodStart('month', ms('2028-02-29T12:00:00Z'))).toBe(ms('2028-02-01T00:00:00Z'))
    expect(periodEnd('month', ms('2028-02-29T12:00:00Z'))).toBe(ms('2028-03-01T00:00:00Z'))
    expect(periodEnd('month', ms('2026-12-31T23:00:00Z'))).toBe(ms('2027-01-01T00:00:00Z'))
  })
})
