/**
 * Receipts and earnings read from the chain's history. Earnings are derived from the
 * committed RecordReceipt txs (their messages and results), scanned incrementally from the
 * store: nothing here is extra state, so any replica computes the same figures.
 */
import type { Hex } from '../core/index.ts'
import type { Store, TxRow } from '../store/index.ts'
import { TxTail } from './tx-tail.ts'

export type ReceiptView = {
  id: string
  tx: string
  height: string
  index: number
  timestamp: string
  model: string
  modelVersion: number
  payer: string
  apiKeyHash: string
  /** Head height and node time (ms) when the call was authorised: the key was valid then. */
  authorizedHeight: string
  authorizedAt: string
  requestHash: string
  outputHash: string
  promptTokens: number
  outputTokens: number
  finishReason: string
  method: string
  coverageBps: number
  spans: { start: number; end: number; tokens: number; contribution: string }[]
  weights: { contribution: string; datanet: string; author: string; bps: number }[]
  split: {
    fee: string
    treasury: string
    protocolFee: string
    contributorPool: string
    owner: string
    ownerAmount: string
    contributors: { contribution: string; author: string; amount: string }[]
  }
}

export function receiptView(row: TxRow, timestamp: bigint): ReceiptView {
  const m = JSON.parse(row.message)
  const r = JSON.parse(row.receipt).result
  return {
    id: m.id,
    tx: row.hash,
    height: row.height.toString(),
    index: row.index,
    timestamp: timestamp.toString(),
    model: m.model,
    modelVersion: Number(m.modelVersion),
    payer: r.payer,
    apiKeyHash: m.apiKeyHash,
    authorizedHeight: m.authorizedHeight,
    authorizedAt: m.authorizedAt,
    requestHash: m.requestHash,
    outputHash: m.outputHash,
    promptTokens: Number(m.promptTokens),
    outputTokens: Number(m.outputTokens),
    finishReason: m.finishReason,
    method: m.method,
    coverageBps: Number(m.coverageBps),
    spans: m.spans.map((s: any) => ({ start: Number(s.start), end: Number(s.end), tokens: Number(s.tokens), contribution: s.contribution })),
    weights: m.weights.map((w: any) => ({ contribution: w.contribution, datanet: w.datanet, author: w.author, bps: Number(w.bps) })),
    split: {
      fee: r.fee,
      treasury: r.treasury,
      protocolFee: r.protocolFee,
      contributorPool: r.contributorPool,
      owner: r.owner,
      ownerAmount: r.ownerAmount,
      contributors: r.contributors,
    },
  }
}

type Entry = {
  model: string
  datanet?: string
  contribution?: string
  role: 'contributor' | 'owner' | 'treasury'
  amount: bigint
  day: string
  receipt: string
  timestamp: string
}

/** One receipt that paid an account: its total to the account and in which roles. */
export type PayingReceipt = { receipt: string; model: string; timestamp: string; amount: string; roles: string[] }

export type Earnings = {
  address: string
  total: string
  receipts: number
  byRole: Record<string, string>
  byModel: Record<string, string>
  byDatanet: Record<string, string>
  byContribution: { contribution: string; datanet: string; amount: string }[]
  overTime: { day: string; amount: string }[]
  /** As a caller: fees paid. */
  spent: string
  calls: number
  /** The receipts that paid it, newest first, one page (`offset`, `limit`) of `receipts`. */
  paidBy: PayingReceipt[]
}

const day = (ms: bigint): string => new Date(Number(ms)).toISOString().slice(0, 10)

export class EarningsIndex {
  private readonly earned = new Map<string, Entry[]>()
  private readonly paid = new Map<string, { amount: bigint; calls: number }>()
  private readonly receiptCount = new Map<string, number>()
  private readonly tail: TxTail

  constructor(store: Store) {
    this.tail = new TxTail(store, (row, block) => {
      if (row.type === 'RecordReceipt') this.add(receiptView(row, block.timestamp))
    })
  }

  /** Catches up with the store's head. */
  update(): Promise<void> {
    return this.tail.update()
  }

  private push(address: string, e: Entry): void {
    if (e.amount === 0n) return
    let list = this.earned.get(address)
    if (!list) {
      list = []
      this.earned.set(address, list)
    }
    list.push(e)
  }

  private add(r: ReceiptView): void {
    const d = day(BigInt(r.timestamp))
    const at = { receipt: r.id, timestamp: r.timestamp }
    const datanetOf = new Map(r.weights.map((w) => [w.contribution, w.datanet]))
    const seen = new Set<string>()
    this.push(r.split.treasury, { model: r.model, role: 'treasury', amount: BigInt(r.split.protocolFee), day: d, ...at })
    seen.add(r.split.treasury)
    this.push(r.split.owner, { model: r.model, role: 'owner', amount: BigInt(r.split.ownerAmount), day: d, ...at })
    seen.add(r.split.owner)
    for (const c of r.split.contributors) {
      this.push(c.author, {
        model: r.model,
        datanet: datanetOf.get(c.contribution),
        contribution: c.contribution,
        role: 'contributor',
        amount: BigInt(c.amount),
        day: d,
        ...at,
      })
      seen.add(c.author)
    }
    for (const a of seen) this.receiptCount.set(a, (this.receiptCount.get(a) ?? 0) + 1)
    const p = this.paid.get(r.payer) ?? { amount: 0n, calls: 0 }
    this.paid.set(r.payer, { amount: p.amount + BigInt(r.split.fee), calls: p.calls + 1 })
  }

  earnings(address: Hex, page: { offset?: number; limit?: number } = {}): Earnings {
    const list = this.earned.get(address) ?? []
    const sum = (key: (e: Entry) => string | undefined) => {
      const m = new Map<string, bigint>()
      for (const e of list) {
        const k = key(e)
        if (k !== undefined) m.set(k, (m.get(k) ?? 0n) + e.amount)
      }
      return m
    }
    const obj = (m: Map<string, bigint>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.toString()]))
    const byContribution = new Map<string, { datanet: string; amount: bigint }>()
    for (const e of list) {
      if (!e.contribution) continue
      const c = byContribution.get(e.contribution) ?? { datanet: e.datanet ?? '', amount: 0n }
      c.amount += e.amount
      byContribution.set(e.contribution, c)
    }
    const paid = this.paid.get(address)
    return {
      address,
      total: list.reduce((a, e) => a + e.amount, 0n).toString(),
      receipts: this.receiptCount.get(address) ?? 0,
      byRole: obj(sum((e) => e.role)),
      byModel: obj(sum((e) => e.model)),
      byDatanet: obj(sum((e) => e.datanet)),
      byContribution: [...byContribution]
        .map(([contribution, c]) => ({ contribution, datanet: c.datanet, amount: c.amount }))
        .sort((a, b) => (b.amount > a.amount ? 1 : b.amount < a.amount ? -1 : a.contribution < b.contribution ? -1 : 1))
        .map((c) => ({ ...c, amount: c.amount.toString() })),
      overTime: [...sum((e) => e.day)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, v]) => ({ day: d, amount: v.toString() })),
      spent: (paid?.amount ?? 0n).toString(),
      calls: paid?.calls ?? 0,
      paidBy: payingReceipts(list, page.offset ?? 0, page.limit ?? 20),
    }
  }
}

/** The entries of one account grouped by receipt (entries are in chain order), newest first, one page. */
function payingReceipts(list: Entry[], offset: number, limit: number): PayingReceipt[] {
  const out: PayingReceipt[] = []
  let i = list.length - 1
  let skipped = 0
  while (i >= 0 && out.length < limit) {
    const receipt = list[i].receipt
    let amount = 0n
    const roles = new Set<string>()
    const { model, timestamp } = list[i]
    for (; i >= 0 && list[i].receipt === receipt; i--) {
      amount += list[i].amount
      roles.add(list[i].role)
    }
    if (skipped < offset) skipped++
    else out.push({ receipt, model, timestamp, amount: amount.toString(), roles: [...roles].sort() })
  }
  return out
}
