/**
 * An opened index as its queries see it: the shards, the documents and the vocabulary,
 * with the lookups every query shares (text to ids, a position to its document or token)
 * and the validation of their options. Read-only once opened.
 */
import { SinewError } from '../core/index.ts'
import { corrupt } from './format.ts'
import type { Shard } from './shards.ts'
import { doubled, normalizeToken, scanTokens } from './tokenizer.ts'

export type IndexView = {
  indexId: string
  shards: Shard[]
  /** Start position of each shard. */
  shardStarts: Float64Array
  docIds: string[]
  /** Start position of each document, then the total positions (documents + 1 entries). */
  docStarts: Float64Array
  /** Token strings by id (id 0 = the document separator, ""). */
  vocab: string[]
  vocabIds: Map<string, number>
  /** Vocabulary size: the id of every token not in it. */
  vocabSize: number
}

export type Encoded = { ids: Int32Array; starts: Uint32Array; ends: Uint32Array }

export function makeView(indexId: string, shards: Shard[], docIds: string[], docStarts: Float64Array, vocab: string[]): IndexView {
  const vocabIds = new Map<string, number>()
  for (let i = 1; i < vocab.length; i++) vocabIds.set(vocab[i], i)
  const shardStarts = Float64Array.from(shards, (s) => s.start)
  return { indexId, shards, shardStarts, docIds, docStarts, vocab, vocabIds, vocabSize: vocab.length }
}

/** Canonical-tokenizes `text` and maps tokens to the index's ids (unknown = vocabulary size). */
export function encode(view: IndexView, text: string): Encoded {
  const { vocabIds, vocabSize } = view
  let ids = new Int32Array(64)
  let starts = new Uint32Array(64)
  let ends = new Uint32Array(64)
  let n = 0
  scanTokens(text, (s, e, plain) => {
    if (n === ids.length) {
      ids = doubled(ids)
      starts = doubled(starts)
      ends = doubled(ends)
    }
    ids[n] = vocabIds.get(normalizeToken(text.slice(s, e), plain)) ?? vocabSize
    starts[n] = s
    ends[n] = e
    n++
  })
  return { ids: ids.subarray(0, n), starts: starts.subarray(0, n), ends: ends.subarray(0, n) }
}

export function hasUnknown(view: IndexView, ids: Int32Array): boolean {
  for (let i = 0; i < ids.length; i++) if (ids[i] >= view.vocabSize) return true
  return false
}

/** Index of the document holding global position g. */
export function docOf(view: IndexView, g: number): number {
  return lastAtMost(view.docStarts, view.docIds.length, g)
}

/** Token id at global position g. */
export function tokenAt(view: IndexView, g: number): number {
  const sh = view.shards[lastAtMost(view.shardStarts, view.shards.length, g)]
  const t = sh.tok.get(g - sh.start)
  if (t >= view.vocabSize) throw corrupt('token id out of range')
  return t
}

/** Largest i < count with starts[i] <= g (0 if none): starts ascend from starts[0] <= g. */
function lastAtMost(starts: Float64Array, count: number, g: number): number {
  let lo = 0
  let hi = count
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    if (starts[mid] <= g) lo = mid
    else hi = mid
  }
  return lo
}

/** An optional integer option >= min (default `dflt`); anything else is refused naming the field. */
export function intOption(v: unknown, name: string, min: number, dflt: number): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new SinewError({ code: 'invalid_field', message: `${name} must be an integer >= ${min}`, details: { field: name, value: v } })
  }
  return v
}

/** Orders strings by UTF-16 code units (locale-independent). */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
