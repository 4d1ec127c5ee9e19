/**
 * Usage for a team: an account's keys (from GrantApiKey / GrantApiKeyWithControls txs) and its
 * calls (from RecordReceipt txs), scanned from the store into memory on first request and
 * incrementally after, summed per key, per model and per UTC day. A call's end-user id (`user`)
 * and tags (`metadata`) are the caller's own labels: they are not on the ledger (a team's
 * customers are nobody else's business) but in the store beside it, one meta entry per labelled
 * call (`call_labels:<receipt id>`), written by the gateway before the call's receipt: so every
 * receipt the index reads finds its labels there, across restarts, `store copy` included.
 * One index per store (`UsageIndex.of`), shared by every route that reads it.
 */

import type { Store } from '../store/index.ts'
import { receiptView } from './earnings.ts'
import { TxTail } from './tx-tail.ts'

/** What a caller attached to a call: its end-user id and tags. */
export type CallLabels = { user?: string; tags?: Record<string, string> }

type Call = { id: string; keyHash: string; model: string; day: string; promptTokens: number; outputTokens: number; fee: bigint; labels?: CallLabels }

/** The store meta key of a call's labels. */
const labelsKey = (receiptId: string) => `call_labels:${receiptId.toLowerCase()}`

/** Keeps a call's labels in the store, before its receipt is submitted (nothing is written for a call without labels). */
export async function recordCallLabels(store: Store, receiptId: string, labels: CallLabels): Promise<void> {
  if (labels.user === undefined && labels.tags === undefined) return
  await store.putMeta(labelsKey(receiptId), JSON.stringify({ user: labels.user, tags: labels.tags }))
}

const shared = new WeakMap<Store, UsageIndex>()

export type UsageFilter = { keyHash?: string; model?: string; from?: string; to?: string; user?: string; tag?: [string, string] }

export type UsageRow = { calls: number; promptTokens: number; outputTokens: number; spent: string }
export type UsageReport = UsageRow & {
  owner: string
  byKey: (UsageRow & { keyHash: string })[]
  byModel: (UsageRow & { model: string })[]
  byDay: (UsageRow & { day: string })[]
}

const day = (ms: bigint): string => new Date(Number(ms)).toISOString().slice(0, 10)

export class UsageIndex {
  private readonly keysOf = new Map<string, string[]>()
  private readonly calls = new Map<string, Call[]>()
  private readonly tail: TxTail
  /** Calls read since their labels were last looked up. */
  private unlabelled: Call[] = []
  private updating: Promise<void> = Promise.resolve()

  /** The one index of `store`. */
  static of(store: Store): UsageIndex {
    let index = shared.get(store)
    if (!index) {
      index = new UsageIndex(store)
      shared.set(store, index)
    }
    return index
  }

  constructor(private readonly store: Store) {
    this.tail = new TxTail(store, (row, block) => {
      if (row.type === 'GrantApiKey' || row.type === 'GrantApiKeyWithControls') {
        const owner = row.sender.toLowerCase()
        const list = this.keysOf.get(owner) ?? []
        list.push(JSON.parse(row.message).keyHash.toLowerCase())
        this.keysOf.set(owner, list)
      } else if (row.type === 'RecordReceipt') {
        const r = receiptView(row, block.timestamp)
        const key = r.apiKeyHash.toLowerCase()
        const list = this.calls.get(key) ?? []
        const call: Call = {
          id: r.id,
          keyHash: key,
          model: r.model,
          day: day(block.timestamp),
          promptTokens: r.promptTokens,
          outputTokens: r.outputTokens,
          fee: BigInt(r.split.fee),
        }
        list.push(call)
        this.unlabelled.push(call)
        this.calls.set(key, list)
      }
    })
  }

  /** Catches up with the store's head, the calls' labels included (one update at a time). */
  update(): Promise<void> {
    const run = this.updating.then(() => this.catchUp())
    this.updating = run.catch(() => undefined)
    return run
  }

  private async catchUp(): Promise<void> {
    await this.tail.update()
    const todo = this.unlabelled
    this.unlabelled = []
    for (const c of todo) {
      const v = await this.store.getMeta(labelsKey(c.id))
      if (v !== undefined) c.labels = JSON.parse(v) as CallLabels
    }
  }

  /** The keys `owner` granted, in the order granted. */
  keys(owner: string): string[] {
    return this.keysOf.get(owner.toLowerCase()) ?? []
  }

  /** The calls of `owner`'s keys that pass `filter`, summed. */
  report(owner: string, filter: UsageFilter): UsageReport {
    const total = row()
    const byKey = new Map<string, ReturnType<typeof row>>()
    const byModel = new Map<string, ReturnType<typeof row>>()
    const byDay = new Map<string, ReturnType<typeof row>>()
    for (const keyHash of this.keys(owner)) {
      if (filter.keyHash && filter.keyHash.toLowerCase() !== keyHash) continue
      byKey.set(keyHash, row())
      for (const c of this.calls.get(keyHash) ?? []) {
        if (filter.model && c.model !== filter.model) continue
        if ((filter.from && c.day < filter.from) || (filter.to && c.day > filter.to)) continue
        if (filter.user !== undefined && c.labels?.user !== filter.user) continue
        if (filter.tag && c.labels?.tags?.[filter.tag[0]] !== filter.tag[1]) continue
        for (const r of [total, byKey.get(keyHash)!, at(byModel, c.model), at(byDay, c.day)]) add(r, c)
      }
    }
    const rows = <K extends string>(m: Map<string, ReturnType<typeof row>>, name: K) =>
      [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, r]) => ({ [name]: k, ...out(r) }) as UsageRow & Record<K, string>)
    return { owner: owner.toLowerCase(), ...out(total), byKey: rows(byKey, 'keyHash'), byModel: rows(byModel, 'model'), byDay: rows(byDay, 'day') }
  }
}

const row = () => ({ calls: 0, promptTokens: 0, outputTokens: 0, spent: 0n })
const at = (m: Map<string, ReturnType<typeof row>>, k: string) => {
  let r = m.get(k)
  if (!r) {
    r = row()
    m.set(k, r)
  }
  return r
}
const add = (r: ReturnType<typeof row>, c: Call) => {
  r.calls++
  r.promptTokens += c.promptTokens
  r.outputTokens += c.outputTokens
  r.spent += c.fee
}
const out = (r: ReturnType<typeof row>): UsageRow => ({ calls: r.calls, promptTokens: r.promptTokens, outputTokens: r.outputTokens, spent: r.spent.toString() })
