/**
 * Budgets that reset: an API key's spend per UTC day, ISO week (Monday 00:00 UTC) or calendar
 * month (the 1st, 00:00 UTC). Pure integer functions over ms since the epoch, shared by the
 * UpdateApiKey / RecordReceipt handlers (which keep and check the spend per period) and the
 * gateway (which reserves against it). Spec: docs/gateway.md, _Per-key controls_.
 */
export const BUDGET_WINDOWS = ['day', 'week', 'month'] as const
export type BudgetWindow = (typeof BUDGET_WINDOWS)[number]

const DAY_MS = 86_400_000n

export const isBudgetWindow = (w: string): w is BudgetWindow => (BUDGET_WINDOWS as readonly string[]).includes(w)

/** The start (ms, UTC) of the period of `window` that holds the instant `at` (ms). */
export function periodStart(window: BudgetWindow, at: bigint): bigint {
  const day = at >= 0n ? at / DAY_MS : (at - DAY_MS + 1n) / DAY_MS
  if (window === 'day') return day * DAY_MS
  // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
  if (window === 'week') return (day - ((((day + 3n) % 7n) + 7n) % 7n)) * DAY_MS
  const d = new Date(Number(at))
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1))
}

/** The start (ms, UTC) of the period after the one that holds `at`: when its budget resets. */
export function periodEnd(window: BudgetWindow, at: bigint): bigint {
  const start = periodStart(window, at)
  if (window === 'day') return start + DAY_MS
  if (window === 'week') return start + 7n * DAY_MS
  const d = new Date(Number(start))
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))
}
