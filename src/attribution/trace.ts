/**
 * trace and attribute: the maximal spans of an output that occur in the index, with the
 * documents that contain them, and the integer weights that credit each output token to
 * the earliest document of the longest span covering it (docs/attribution.md §3-4).
 */
import { largestRemainderSplit } from '../core/index.ts'
import { hits, longestPrefix, occurs, positions } from './search.ts'
import { TOKENIZER_VERSION } from './tokenizer.ts'
import { byCodeUnits, docOf, encode, type IndexView, intOption } from './view.ts'

export const METHOD_VERSION = 'sinew-poa/1'
export const DEFAULT_MIN_SPAN_TOKENS = 8
export const DEFAULT_MAX_SPAN_COUNT = 100

export type TraceOptions = { minSpanTokens?: number; maxSpanCount?: number }

export type TraceSpan = {
  /** Character offsets (UTF-16 code units) into the output text, end exclusive. */
  start: number
  end: number
  text: string
  /** Output token range [tokenStart, tokenStart + tokens). */
  tokenStart: number
  tokens: number
  /** Occurrences in the index. */
  count: number
  /** Ids of the documents containing the span, in build order. */
  docs: string[]
  /** The earliest document (build order) containing the span. */
  creditedTo: string
}

export type TraceResult = {
  method: string
  outputTokens: number
  spans: TraceSpan[]
}

export type AttributionSpan = {
  start: number
  end: number
  text: string
  tokens: number
  count: number
  docs: string[]
  creditedTo: string
}

export type Attribution = {
  method: string
  outputTokens: number
  coverageBps: number
  spans: AttributionSpan[]
  weights: { doc: string; bps: number }[]
}

type SpanParams = { minSpanTokens: number; maxSpanCount: number }

const spanParams = (o: TraceOptions): SpanParams => ({
  minSpanTokens: intOption(o.minSpanTokens, 'minSpanTokens', 1, DEFAULT_MIN_SPAN_TOKENS),
  maxSpanCount: intOption(o.maxSpanCount, 'maxSpanCount', 1, DEFAULT_MAX_SPAN_COUNT),
})

/** The method id: everything a stranger needs to recompute a trace of this index. */
export function method(indexId: string, o: TraceOptions = {}): string {
  const p = spanParams(o)
  return [
    METHOD_VERSION,
    `tokenizer=${TOKENIZER_VERSION}`,
    `index=${indexId}`,
    `minSpanTokens=${p.minSpanTokens}`,
    `maxSpanCount=${p.maxSpanCount}`,
    'spans=maximal',
    'credit=longest-span,earliest-doc',
    'coverage=floor-bps',
    'weights=largest-remainder-bps,ties-doc-id',
  ].join(';')
}

export function trace(view: IndexView, output: string, o: TraceOptions = {}): TraceResult {
  const p = spanParams(o)
  const { shards, docIds, vocabSize } = view
  const { ids, starts, ends } = encode(view, output)
  const m = ids.length
  // Only maximal spans of at least minSpanTokens matter. A span starting at i is maximal
  // iff it reaches past every span starting earlier (`reach`), so it must be at least
  // need = max(minSpanTokens, reach - i + 1) long: one existence test of that prefix (which
  // stops at the first shard that has it) rules most positions out before any
  // longest-match search. Spans dropped by maxSpanCount still count for maximality.
  const spans: TraceSpan[] = []
  let reach = 0
  let runEnd = 0 // end of the run of known tokens from i
  for (let i = 0; i < m; i++) {
    if (ids[i] >= vocabSize) continue
    if (runEnd <= i) {
      runEnd = i
      while (runEnd < m && ids[runEnd] < vocabSize) runEnd++
    }
    const need = Math.max(p.minSpanTokens, reach - i + 1)
    if (i + need > runEnd || !occurs(shards, ids, i, need)) continue
    const len = longestPrefix(shards, ids, i, runEnd - i, need)
    reach = i + len
    const { total, ranges } = hits(shards, ids, i, len)
    if (total === 0 || total > p.maxSpanCount) continue
    const docs = [...new Set(positions(shards, ranges).map((g) => docOf(view, g)))].sort((a, b) => a - b)
    const end = ends[i + len - 1]
    spans.push({
      start: starts[i],
      end,
      text: output.slice(starts[i], end),
      tokenStart: i,
      tokens: len,
      count: total,
      docs: docs.map((d) => docIds[d]),
      creditedTo: docIds[docs[0]],
    })
  }
  return { method: method(view.indexId, p), outputTokens: m, spans }
}

export function attribute(view: IndexView, output: string, o: TraceOptions = {}): Attribution {
  const t = trace(view, output, o)
  const m = t.outputTokens
  // Each token goes to the longest span covering it; on equal length the earlier span.
  const best = new Int32Array(m).fill(-1)
  t.spans.forEach((s, k) => {
    for (let j = s.tokenStart; j < s.tokenStart + s.tokens; j++) {
      if (best[j] < 0 || t.spans[best[j]].tokens < s.tokens) best[j] = k
    }
  })
  const perDoc = new Map<string, number>()
  let credited = 0
  for (let j = 0; j < m; j++) {
    if (best[j] < 0) continue
    credited++
    const d = t.spans[best[j]].creditedTo
    perDoc.set(d, (perDoc.get(d) ?? 0) + 1)
  }
  const docs = [...perDoc.keys()].sort(byCodeUnits)
  const split =
    credited === 0
      ? []
      : largestRemainderSplit(
          10_000n,
          docs.map((d) => ({ id: d, weight: BigInt(perDoc.get(d)!) })),
        )
  const weights = split.map((a) => ({ doc: a.id, bps: Number(a.amount) })).sort((a, b) => b.bps - a.bps || byCodeUnits(a.doc, b.doc))
  return {
    method: t.method,
    outputTokens: m,
    coverageBps: m === 0 ? 0 : Math.floor((credited * 10_000) / m),
    spans: t.spans.map((s) => ({
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: s.tokens,
      count: s.count,
      docs: s.docs,
      creditedTo: s.creditedTo,
    })),
    weights,
  }
}
