/**
 * Attribution of one output over a model's Datanet versions (one attribution index each).
 * With one index this is exactly `index.attribute()` (docs/attribution.md §4). With several,
 * the spans of every index are pooled and the same rule applies: each output token goes to
 * the longest span covering it (equal length: the earlier start, then the index listed
 * first), the span's credit to its earliest document in that index; weights are credited
 * tokens per document in basis points, largest remainder, ties by document id.
 */
import { keccak256, largestRemainderSplit, type Hex } from '../core/index.ts'
import { tokenize, TOKENIZER_VERSION, type AttributionIndex, type TraceOptions } from '../attribution/index.ts'

/** The method of a model with no Datanet versions: tokens are counted, nothing is traced. */
export const NO_DATANETS_METHOD = `sinew-poa/1;tokenizer=${TOKENIZER_VERSION};index=none`

export type ReceiptSpan = { start: number; end: number; tokens: number; contribution: string }

export type ModelAttribution = {
  method: string
  outputTokens: number
  coverageBps: number
  /** Spans that won at least one token, in output order. */
  spans: ReceiptSpan[]
  /** Per contribution, bps desc then id; sums to 10 000 when non-empty. */
  weights: { contribution: string; datanet: string; bps: number }[]
}

export type NamedIndex = { ref: string; index: AttributionIndex }

/** The method id of a model's attribution: each index's method, in the model's order. */
export function combinedMethod(indexes: readonly NamedIndex[], opts?: TraceOptions): string {
  if (indexes.length === 0) return NO_DATANETS_METHOD
  if (indexes.length === 1) return indexes[0].index.method(opts)
  return indexes.map((x) => x.index.method(opts)).join('|')
}

/**
 * `uncreditedTokens`: output besides the text (a function call's arguments) that counts as
 * output tokens and that no Datanet is credited for: coverage is over the text and these.
 */
export function attributeOutput(indexes: readonly NamedIndex[], output: string, opts?: TraceOptions, uncreditedTokens = 0): ModelAttribution {
  if (indexes.length === 0)
    return { method: NO_DATANETS_METHOD, outputTokens: tokenize(output).length + uncreditedTokens, coverageBps: 0, spans: [], weights: [] }
  type S = { start: number; end: number; tokenStart: number; tokens: number; creditedTo: string; order: number }
  const all: S[] = []
  let m = 0
  indexes.forEach(({ index }, order) => {
    const t = index.trace(output, opts)
    m = t.outputTokens
    for (const s of t.spans) all.push({ start: s.start, end: s.end, tokenStart: s.tokenStart, tokens: s.tokens, creditedTo: s.creditedTo, order })
  })
  // Deterministic order: start token, then index order (within one index spans are in start order).
  all.sort((a, b) => a.tokenStart - b.tokenStart || a.order - b.order)
  const best = new Int32Array(m).fill(-1)
  all.forEach((s, k) => {
    for (let j = s.tokenStart; j < s.tokenStart + s.tokens; j++) {
      if (best[j] < 0 || all[best[j]].tokens < s.tokens) best[j] = k
    }
  })
  const perDoc = new Map<string, number>()
  const refOf = new Map<string, string>()
  const won = new Set<number>()
  let credited = 0
  for (let j = 0; j < m; j++) {
    if (best[j] < 0) continue
    credited++
    won.add(best[j])
    const d = all[best[j]].creditedTo
    perDoc.set(d, (perDoc.get(d) ?? 0) + 1)
    if (!refOf.has(d)) refOf.set(d, indexes[all[best[j]].order].ref)
  }
  const docs = [...perDoc.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const split =
    credited === 0
      ? []
      : largestRemainderSplit(
          10_000n,
          docs.map((d) => ({ id: d, weight: BigInt(perDoc.get(d)!) })),
        )
  const weights = split
    .map((a) => ({ contribution: a.id, datanet: refOf.get(a.id)!, bps: Number(a.amount) }))
    .filter((w) => w.bps > 0)
    .sort((a, b) => b.bps - a.bps || (a.contribution < b.contribution ? -1 : a.contribution > b.contribution ? 1 : 0))
  const total = m + uncreditedTokens
  return {
    method: combinedMethod(indexes, opts),
    outputTokens: total,
    coverageBps: total === 0 ? 0 : Math.floor((credited * 10_000) / total),
    spans: all
      .map((s, k) => ({ s, k }))
      .filter(({ k }) => won.has(k))
      .map(({ s }) => ({ start: s.start, end: s.end, tokens: s.tokens, contribution: s.creditedTo })),
    weights,
  }
}

/** A function call an answer makes: its id, the function's name and its arguments (a JSON string, as the model wrote it). */
export type AnswerToolCall = { id: string; name: string; arguments: string }

/** What a model answered: its text and the function calls it makes. */
export type Answer = { text: string; toolCalls: readonly AnswerToolCall[] }

/**
 * An answer's attribution (docs/gateway.md, "Tools"): the text is traced; each function
 * call's arguments count as output tokens (canonical tokens of the arguments string) that
 * no Datanet is credited for. Names and ids are not counted.
 */
export function attributeAnswer(indexes: readonly NamedIndex[], answer: Answer, opts?: TraceOptions): ModelAttribution {
  let toolTokens = 0
  for (const c of answer.toolCalls) toolTokens += tokenize(c.arguments).length
  return attributeOutput(indexes, answer.text, opts, toolTokens)
}

/**
 * A receipt's outputHash: keccak256 of the text; of an answer with function calls, keccak256 of
 * `{"content":text,"tool_calls":[{"id","name","arguments"},…]}` (JSON, keys in that order, calls in order).
 */
export function answerHash(answer: Answer): Hex {
  if (answer.toolCalls.length === 0) return keccak256(answer.text)
  return keccak256(JSON.stringify({ content: answer.text, tool_calls: answer.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) }))
}
