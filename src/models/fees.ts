/**
 * Fees and their split: pure integer functions, used by the RecordReceipt handler (which
 * moves the money), by the gateway (which reserves the maximum charge) and by
 * `sinew receipt verify` (which recomputes a receipt). Spec: docs/gateway.md.
 */
import { BPS, largestRemainderSplit } from '../core/index.ts'
import type { Address } from '../ledger/index.ts'

export const TOKENS_PER_PRICE_UNIT = 1_000_000n

/** fee = ceil(pricePerMillion × outputTokens / 10^6): any paid output costs at least one base unit. */
export function computeFee(pricePerMillion: bigint, outputTokens: bigint): bigint {
  return (pricePerMillion * outputTokens + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT
}

/** A model version's prices, base units: per million output tokens, per million prompt tokens, per request. */
export type Prices = { pricePerMillion: string; promptPricePerMillion?: string; requestPrice?: string }

/**
 * The fee of one call: requestPrice + ceil((pricePerMillion × outputTokens +
 * promptPricePerMillion × promptTokens) / 10^6). One rounding, up, over both token prices; a
 * version without prompt or request prices (older terms) has them at 0, which is the output-only rule.
 */
export function callFee(prices: Prices, promptTokens: bigint, outputTokens: bigint): bigint {
  const tokens = BigInt(prices.pricePerMillion) * outputTokens + BigInt(prices.promptPricePerMillion ?? '0') * promptTokens
  return BigInt(prices.requestPrice ?? '0') + (tokens + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT
}

export type WeightInput = { contribution: string; author: Address; bps: number }

export type Split = {
  fee: bigint
  protocolFee: bigint
  contributorPool: bigint
  ownerAmount: bigint
  /** One row per weight, in the order given (contribution order of the receipt). */
  contributors: { contribution: string; author: Address; amount: bigint }[]
}

/**
 * protocolFee = floor(fee × protocolFeeBps / 10^4); rest = fee − protocolFee;
 * contributorPool = floor(rest × contributorShareBps × coverageBps / 10^8), split over the
 * weights by largest remainder (ties by contribution id); owner = rest − contributorPool.
 * The parts sum to `fee` exactly.
 */
export function splitFee(fee: bigint, protocolFeeBps: number, contributorShareBps: number, coverageBps: number, weights: readonly WeightInput[]): Split {
  const protocolFee = (fee * BigInt(protocolFeeBps)) / BPS
  const rest = fee - protocolFee
  let contributorPool = weights.length === 0 ? 0n : (rest * BigInt(contributorShareBps) * BigInt(coverageBps)) / (BPS * BPS)
  const shares = largestRemainderSplit(
    contributorPool,
    weights.map((w) => ({ id: w.contribution, weight: BigInt(w.bps) })),
  )
  const contributors = weights.map((w, i) => ({ contribution: w.contribution, author: w.author, amount: shares[i].amount }))
  if (weights.length === 0) contributorPool = 0n
  return { fee, protocolFee, contributorPool, ownerAmount: rest - contributorPool, contributors }
}

/** Sums contributor rows by author (several contributions may share one). Sorted by address. */
export function creditsByAuthor(split: Split): { author: Address; amount: bigint }[] {
  const by = new Map<Address, bigint>()
  for (const c of split.contributors) by.set(c.author, (by.get(c.author) ?? 0n) + c.amount)
  return [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([author, amount]) => ({ author, amount }))
}
