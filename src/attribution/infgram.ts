/**
 * The ∞-gram over an index: infgram (the next-token distribution after the longest suffix
 * of a prompt that occurs followed by a token) and generate (sampling from it, token by
 * token, seeded and integer-exact).
 */
import { SinewError } from '../core/index.ts'
import { Detokenizer } from './detok.ts'
import { corrupt } from './format.ts'
import { SplitMix64, temperatureWeights } from './sampling.ts'
import { bound, range } from './search.ts'
import { saAt, type Shard } from './shards.ts'
import { byCodeUnits, encode, type IndexView, intOption } from './view.ts'

export type InfgramResult = {
  /** Length in tokens of the longest prompt suffix that has a continuation in the data. */
  suffixTokens: number
  /** Occurrences of that suffix followed by a token (not by the end of a document). */
  total: number
  /** Next tokens by count (descending), ties by token string. */
  next: { token: string; count: number }[]
}

export type GenerateOptions = { maxTokens?: number; seed?: number | bigint; temperature?: number }
export type GenerateResult = { text: string; tokens: number; finishReason: 'length' | 'stop' }

type Ranges = [number, number][]

/**
 * Per-shard SA ranges of q[from..from+len): `all` its occurrences, `real` those followed by
 * a real token (not a separator: id 0 sorts first, so those are the tail of each range),
 * and `total`, how many real ones there are. len = 0: every position.
 */
function continuations(shards: readonly Shard[], q: Int32Array, from: number, len: number): { total: number; real: Ranges; all: Ranges } {
  const withSeparator = new Int32Array(len + 1)
  withSeparator.set(q.subarray(from, from + len))
  let total = 0
  const all: Ranges = []
  const real: Ranges = []
  for (const sh of shards) {
    const [lo, hi] = len === 0 ? [0, sh.n] : range(sh, q, from, len)
    all.push([lo, hi])
    const first = lo === hi ? lo : bound(sh, withSeparator, 0, len + 1, lo, hi, len, true)
    total += hi - first
    real.push([first, hi])
  }
  return { total, real, all }
}

/**
 * Longest suffix length l <= maxL of q[0..m) with a real continuation. The property is
 * monotone in l (a suffix of a suffix that occurs occurs too, followed by the same token), so
 * the answer is found by galloping up from 0 (1, 2, 4, … until a length fails) and then a
 * binary search below that length: probes cost about their length, so this is about
 * O(l log l) token comparisons for the answer l, however long the context is.
 */
function longestSuffix(shards: readonly Shard[], q: Int32Array, m: number, maxL: number): number {
  const top = Math.min(m, maxL)
  const feasible = (l: number) => continuations(shards, q, m - l, l).total > 0
  let lo = 0 // always feasible unless the index is empty of tokens
  let hi = top
  for (let step = 1; lo < top; step *= 2) {
    const probe = Math.min(top, lo + step)
    if (!feasible(probe)) {
      hi = probe - 1
      break
    }
    lo = probe
  }
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (feasible(mid)) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** The token that follows the first l tokens of the suffix at SA index j (0 at the end of the shard). */
function following(sh: Shard, j: number, l: number): number {
  const p = saAt(sh, j)
  return p + l < sh.n ? sh.tok.get(p + l) : 0
}

/** Distinct next tokens and their counts within per-shard ranges of suffixes sharing q[from..from+l). */
function distribution(shards: readonly Shard[], q: Int32Array, from: number, l: number, ranges: Ranges): Map<number, number> {
  const counts = new Map<number, number>()
  const next = new Int32Array(l + 1)
  next.set(q.subarray(from, from + l))
  shards.forEach((sh, i) => {
    let [j, hi] = ranges[i]
    while (j < hi) {
      const t = following(sh, j, l)
      next[l] = t
      const end = bound(sh, next, 0, l + 1, j, hi, l, true)
      counts.set(t, (counts.get(t) ?? 0) + (end - j))
      j = end
    }
  })
  return counts
}

export function infgram(view: IndexView, prompt: string, o: { limit?: number } = {}): InfgramResult {
  const limit = intOption(o.limit, 'limit', 0, 100)
  const { ids } = encode(view, prompt)
  const m = ids.length
  const l = longestSuffix(view.shards, ids, m, m)
  const { total, real } = continuations(view.shards, ids, m - l, l)
  const dist = distribution(view.shards, ids, m - l, l, real)
  const next = [...dist.entries()]
    .map(([t, c]) => ({ token: view.vocab[t], count: c }))
    .sort((a, b) => b.count - a.count || byCodeUnits(a.token, b.token))
    .slice(0, limit)
  return { suffixTokens: l, total, next }
}

/**
 * The ∞-gram generator, one token id at a time (never 0: drawing a separator ends it). Each
 * step samples among every occurrence of the longest context suffix that has a continuation
 * in the data. While it copies a run of a document that suffix grows by one token a step, and
 * its occurrences are those of the previous suffix followed by the token just drawn: a
 * sub-range of the previous ranges, found by comparing that one token (`extend`), so a step
 * costs a few binary searches whatever the suffix's length. Only when the run reaches a
 * document's end is the suffix searched afresh. Both ways give the same ranges, so the same
 * text for a seed.
 */
function* generateIds(view: IndexView, promptIds: Int32Array, o: GenerateOptions): Generator<number, 'length' | 'stop', undefined> {
  const maxTokens = intOption(o.maxTokens, 'maxTokens', 0, 64)
  const temperature = o.temperature ?? 1
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new SinewError({ code: 'invalid_field', message: 'temperature must be a finite number >= 0', details: { field: 'temperature' } })
  }
  const seed = o.seed ?? 0
  if (typeof seed !== 'bigint' && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
    throw new SinewError({ code: 'invalid_field', message: 'seed must be a safe integer or a bigint', details: { field: 'seed' } })
  }
  const { shards, vocab, vocabSize } = view
  const rng = new SplitMix64(seed)
  // Every token fits, and one scratch slot after them (extend's probe).
  const ctx = new Int32Array(promptIds.length + maxTokens + 2)
  ctx.set(promptIds)
  let m = promptIds.length
  let prevL = m
  /** The ranges of this step's suffix (length prevL + 1) when the last draw extended a run. */
  let carried: Ranges | undefined
  for (let produced = 0; produced < maxTokens; produced++) {
    const l = carried ? prevL + 1 : longestSuffix(shards, ctx, m, prevL + 1)
    // Sample over all occurrences of the suffix, including those that end a document
    // (id 0): drawing one of those stops generation.
    const all = carried ?? continuations(shards, ctx, m - l, l).all
    let next: number
    if (temperature === 1) {
      const total = all.reduce((a, [lo, hi]) => a + hi - lo, 0)
      let r = Number(rng.below(BigInt(total)))
      let s = 0
      while (r >= all[s][1] - all[s][0]) {
        r -= all[s][1] - all[s][0]
        s++
      }
      next = following(shards[s], all[s][0] + r, l)
    } else {
      const dist = [...distribution(shards, ctx, m - l, l, all).entries()].sort((a, b) => a[0] - b[0])
      if (temperature === 0) {
        // Greedy: highest count, ties by token string (the separator "" first).
        next = dist.reduce((b, e) => (e[1] > b[1] || (e[1] === b[1] && vocab[e[0]] < vocab[b[0]]) ? e : b))[0]
      } else {
        const w = temperatureWeights(
          dist.map((e) => e[1]),
          temperature,
        )
        const sum = w.reduce((a, b) => a + b, 0n)
        let r = rng.below(sum)
        let k = 0
        while (r >= w[k]) {
          r -= w[k]
          k++
        }
        next = dist[k][0]
      }
    }
    if (next === 0) return 'stop'
    if (next >= vocabSize) throw corrupt('token id out of range')
    ctx[m++] = next
    prevL = l
    carried = extend(shards, ctx, m, l, all)
    yield next
  }
  return 'length'
}

/**
 * The ranges of ctx[m-l-1..m) (the suffix `all` holds the occurrences of, plus the token just
 * drawn) within `all`, if that longer suffix has a continuation that is not a document's end;
 * else undefined (`longestSuffix` then searches afresh, and finds a shorter one). The suffixes
 * in `all` share their first l tokens with it, so each search compares from token l on.
 * Uses ctx[m] as scratch.
 */
function extend(shards: readonly Shard[], ctx: Int32Array, m: number, l: number, all: Ranges): Ranges | undefined {
  const from = m - l - 1
  ctx[m] = 0
  let real = 0
  const out: Ranges = []
  shards.forEach((sh, i) => {
    const [lo0, hi0] = all[i]
    if (lo0 === hi0) return void out.push([lo0, lo0])
    const lo = bound(sh, ctx, from, l + 1, lo0, hi0, l, false)
    const hi = bound(sh, ctx, from, l + 1, lo, hi0, l, true)
    // Occurrences followed by a separator sort first (id 0 is the smallest).
    if (lo < hi) real += hi - bound(sh, ctx, from, l + 2, lo, hi, l + 1, true)
    out.push([lo, hi])
  })
  return real > 0 ? out : undefined
}

/**
 * The generation as text pieces, each final once the next token is drawn (a token's text
 * with its leading space); they concatenate to the result's `text`, which it returns.
 */
export function* generateText(view: IndexView, prompt: string, o: GenerateOptions = {}): Generator<string, GenerateResult, undefined> {
  const { ids: promptIds } = encode(view, prompt)
  // The prompt's last token decides whether the answer starts a sentence.
  const last = promptIds.length > 0 ? (view.vocab[promptIds[promptIds.length - 1]] ?? '') : ''
  const detok = new Detokenizer({ capitalize: promptIds.length === 0 || last === '.' || last === '!' || last === '?', quoteOpen: false })
  const ids = generateIds(view, promptIds, o)
  let text = ''
  let tokens = 0
  for (;;) {
    const step = ids.next()
    const piece = step.done ? detok.end() : detok.push(view.vocab[step.value])
    if (piece) {
      text += piece
      yield piece
    }
    if (step.done) return { text, tokens, finishReason: step.value }
    tokens++
  }
}

export function generate(view: IndexView, prompt: string, o: GenerateOptions = {}): GenerateResult {
  const pieces = generateText(view, prompt, o)
  for (;;) {
    const step = pieces.next()
    if (step.done) return step.value
  }
}
