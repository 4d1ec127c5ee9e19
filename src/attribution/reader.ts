/**
 * Opening an index and answering queries: count, find, infgram, trace, attribute, generate.
 * Every query merges per-shard answers; shards are searched with binary search over the
 * suffix array (with the Manber-Myers lcp skip, so a comparison resumes where both bounds
 * already agree).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { largestRemainderSplit, SinewError } from '../core/index.ts'
import {
  corrupt,
  decodeDocs,
  decodeHeader,
  decodeVocab,
  DOCS_FILE,
  HEADER_FILE,
  sha256Hex,
  shardSaFile,
  shardTokFile,
  VOCAB_FILE,
  type Header,
} from './format.ts'
import { memoryArray, PageBudget, PagedArray, type IntArray } from './store.ts'
import { normalizeToken, scanTokens, TOKENIZER_VERSION } from './tokenizer.ts'
import { detokenize } from './detok.ts'
import { SplitMix64, temperatureWeights } from './sampling.ts'
import type { IndexInfo } from './build.ts'

export const METHOD_VERSION = 'sinew-poa/1'
export const DEFAULT_MIN_SPAN_TOKENS = 8
export const DEFAULT_MAX_SPAN_COUNT = 100
/** find() returns the earliest occurrences when there are at most this many. */
const FIND_SCAN_LIMIT = 100_000

export type OpenOptions = {
  /** 'memory' reads shard files whole, 'paged' reads pages on demand; 'auto' picks by size. */
  mode?: 'auto' | 'memory' | 'paged'
  /** Memory budget: 'auto' loads whole when shard files fit; also the page-cache size. Default totalmem/4. */
  cacheBytes?: number
  /** Verify shard checksums when reading shard files whole (memory mode). Default true. */
  checksums?: boolean
}

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

export type FindResult = {
  count: number
  matches: { doc: string; position: number; snippet: string }[]
}

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

export type AttributionIndex = {
  info: IndexInfo
  /** Canonical-tokenizes `text` and maps tokens to this index's ids (unknown = vocab size). */
  encode(text: string): { ids: Int32Array; starts: Uint32Array; ends: Uint32Array }
  count(text: string): number
  find(text: string, opts?: { limit?: number }): FindResult
  infgram(prompt: string, opts?: { limit?: number }): InfgramResult
  trace(output: string, opts?: TraceOptions): TraceResult
  attribute(output: string, opts?: TraceOptions): Attribution
  generate(prompt: string, opts?: GenerateOptions): GenerateResult
  method(opts?: TraceOptions): string
  /** How shards are held: 'memory' (read whole) or 'paged', and for paged, the page cache. */
  storage(): StorageStats
  verify(): void
  close(): void
}

export type StorageStats = {
  mode: 'memory' | 'paged'
  /** Bytes of shard files (token ids and suffix arrays). */
  shardBytes: number
  /** Paged mode: bytes of pages held now (at most the cache budget plus one page). */
  cachedBytes: number
  /** Bytes of shard files read so far: all of them in memory mode, pages read in paged mode. */
  bytesRead: number
  cacheBytes: number
}

type Shard = { start: number; n: number; tok: IntArray; sa: IntArray }

function readWhole(path: string, expected: number, what: string): Buffer {
  checkSize(path, expected, what)
  const buf = readFileSync(path)
  // The file may change between the two calls; never index past what was read.
  if (buf.length !== expected) throw corrupt(`file ${what} has the wrong size (truncated?)`, { file: what, expected, actual: buf.length })
  return buf
}

function checkSize(path: string, expected: number, what: string): void {
  let size: number
  try {
    size = statSync(path).size
  } catch {
    throw corrupt(`missing file ${what}`, { file: what })
  }
  if (size !== expected) throw corrupt(`file ${what} has the wrong size (truncated?)`, { file: what, expected, actual: size })
}

function hashFile(path: string): string {
  const h = createHash('sha256')
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(8 << 20)
    for (;;) {
      const r = readSync(fd, buf, 0, buf.length, null)
      if (r === 0) break
      h.update(buf.subarray(0, r))
    }
  } finally {
    closeSync(fd)
  }
  return h.digest('hex')
}

function intOpt(v: unknown, name: string, min: number, dflt: number): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new SinewError({ code: 'invalid_field', message: `${name} must be an integer >= ${min}`, details: { field: name, value: v } })
  }
  return v
}

export function openIndex(dir: string, opts: OpenOptions = {}): AttributionIndex {
  const headerPath = join(dir, HEADER_FILE)
  if (!existsSync(headerPath))
    throw new SinewError({ code: 'not_found', message: `Index not found: ${dir}`, details: { index: dir }, hint: 'Build one with `sinew index build`.' })
  const headerBuf = readFileSync(headerPath)
  const header: Header = decodeHeader(headerBuf, TOKENIZER_VERSION)
  const indexId = sha256Hex(headerBuf)

  const docsBuf = readWhole(join(dir, DOCS_FILE), header.docsBytes, DOCS_FILE)
  if (sha256Hex(docsBuf) !== header.docsSha256) throw corrupt('checksum mismatch', { file: DOCS_FILE })
  const vocabBuf = readWhole(join(dir, VOCAB_FILE), header.vocabBytes, VOCAB_FILE)
  if (sha256Hex(vocabBuf) !== header.vocabSha256) throw corrupt('checksum mismatch', { file: VOCAB_FILE })
  const { ids: docIds, starts: docStarts } = decodeDocs(docsBuf, header.documents, header.positions)
  const vocab = decodeVocab(vocabBuf, header.vocabSize)
  const vocabIds = new Map<string, number>()
  for (let i = 1; i < vocab.length; i++) vocabIds.set(vocab[i], i)
  const V = vocab.length

  const shardBytes = header.shards.reduce((a, s) => a + s.n * (s.tokWidth + s.saWidth), 0)
  const cacheBytes = opts.cacheBytes ?? Math.floor(totalmem() / 4)
  const mode = opts.mode === 'memory' || opts.mode === 'paged' ? opts.mode : shardBytes <= cacheBytes ? 'memory' : 'paged'
  const budget = new PageBudget(Math.max(1 << 20, cacheBytes))
  const paged: PagedArray[] = []
  const shards: Shard[] = header.shards.map((s, i) => {
    const tp = join(dir, shardTokFile(i))
    const sp = join(dir, shardSaFile(i))
    if (mode === 'memory') {
      const tb = readWhole(tp, s.n * s.tokWidth, shardTokFile(i))
      const sb = readWhole(sp, s.n * s.saWidth, shardSaFile(i))
      if (opts.checksums !== false) {
        if (sha256Hex(tb) !== s.tokSha256) throw corrupt('checksum mismatch', { file: shardTokFile(i) })
        if (sha256Hex(sb) !== s.saSha256) throw corrupt('checksum mismatch', { file: shardSaFile(i) })
      }
      return { start: s.start, n: s.n, tok: memoryArray(tb, s.tokWidth, s.n), sa: memoryArray(sb, s.saWidth, s.n) }
    }
    checkSize(tp, s.n * s.tokWidth, shardTokFile(i))
    checkSize(sp, s.n * s.saWidth, shardSaFile(i))
    const tok = new PagedArray(tp, s.tokWidth, s.n, budget)
    const sa = new PagedArray(sp, s.saWidth, s.n, budget)
    paged.push(tok, sa)
    return { start: s.start, n: s.n, tok, sa }
  })

  const info: IndexInfo = {
    dir,
    formatVersion: header.formatVersion,
    tokenizerVersion: header.tokenizerVersion,
    indexId,
    documents: header.documents,
    tokens: header.tokens,
    positions: header.positions,
    vocab: V,
    shards: shards.length,
    bytesOnDisk: headerBuf.length + docsBuf.length + vocabBuf.length + shardBytes,
  }

  // ---- helpers ---------------------------------------------------------------------------

  const saAt = (sh: Shard, i: number): number => {
    const p = sh.sa.get(i)
    if (p >= sh.n) throw corrupt('suffix array entry out of range', { shard: sh.start })
    return p
  }

  /** Sign of (suffix at p) vs q[from..from+len), resuming at offset k; returns [sign, lcp]. */
  let cmpLcp = 0
  const compare = (sh: Shard, p: number, q: Int32Array, from: number, len: number, k: number): number => {
    const tok = sh.tok
    const n = sh.n
    while (k < len) {
      const pos = p + k
      const t = pos < n ? tok.get(pos) : -1
      const x = q[from + k]
      if (t !== x) {
        cmpLcp = k
        return t < x ? -1 : 1
      }
      k++
    }
    cmpLcp = k
    return 0
  }

  /** First SA index in [lo0, hi0) whose suffix is >= q (a suffix starting with q counts as equal). */
  const lowerBound = (sh: Shard, q: Int32Array, from: number, len: number, lo0: number, hi0: number, known: number): number => {
    let lo = lo0 - 1
    let hi = hi0
    let llo = known
    let lhi = known
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      const c = compare(sh, saAt(sh, mid), q, from, len, Math.min(llo, lhi))
      if (c < 0) {
        lo = mid
        llo = cmpLcp
      } else {
        hi = mid
        lhi = cmpLcp
      }
    }
    return hi
  }

  /** First SA index in [lo0, hi0) whose suffix is > q and does not start with q. */
  const upperBound = (sh: Shard, q: Int32Array, from: number, len: number, lo0: number, hi0: number, known: number): number => {
    let lo = lo0 - 1
    let hi = hi0
    let llo = known
    let lhi = known
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      const c = compare(sh, saAt(sh, mid), q, from, len, Math.min(llo, lhi))
      if (c <= 0) {
        lo = mid
        llo = cmpLcp
      } else {
        hi = mid
        lhi = cmpLcp
      }
    }
    return hi
  }

  const range = (sh: Shard, q: Int32Array, from: number, len: number): [number, number] => {
    const lo = lowerBound(sh, q, from, len, 0, sh.n, 0)
    if (lo === sh.n) return [lo, lo]
    const hi = upperBound(sh, q, from, len, lo, sh.n, 0)
    return [lo, hi]
  }

  /** Longest prefix of q[from..from+len) occurring in the shard (0 if none). */
  const longestMatch = (sh: Shard, q: Int32Array, from: number, len: number): number => {
    let lo = -1
    let hi = sh.n
    let llo = 0
    let lhi = 0
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      const c = compare(sh, saAt(sh, mid), q, from, len, Math.min(llo, lhi))
      if (c === 0) return len
      if (c < 0) {
        lo = mid
        llo = cmpLcp
      } else {
        hi = mid
        lhi = cmpLcp
      }
    }
    return Math.max(llo, lhi)
  }

  const encode = (text: string): { ids: Int32Array; starts: Uint32Array; ends: Uint32Array } => {
    let ids = new Int32Array(64)
    let starts = new Uint32Array(64)
    let ends = new Uint32Array(64)
    let n = 0
    scanTokens(text, (s, e, plain) => {
      if (n === ids.length) {
        const a = new Int32Array(n * 2)
        a.set(ids)
        ids = a
        const b = new Uint32Array(n * 2)
        b.set(starts)
        starts = b
        const c = new Uint32Array(n * 2)
        c.set(ends)
        ends = c
      }
      ids[n] = vocabIds.get(normalizeToken(text.slice(s, e), plain)) ?? V
      starts[n] = s
      ends[n] = e
      n++
    })
    return { ids: ids.subarray(0, n), starts: starts.subarray(0, n), ends: ends.subarray(0, n) }
  }

  const docOf = (g: number): number => {
    // Largest d with docStarts[d] <= g.
    let lo = 0
    let hi = docIds.length
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      if (docStarts[mid] <= g) lo = mid
      else hi = mid
    }
    return lo
  }

  const shardOf = (g: number): Shard => {
    let lo = 0
    let hi = shards.length
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      if (shards[mid].start <= g) lo = mid
      else hi = mid
    }
    return shards[lo]
  }

  const tokenAt = (g: number): number => {
    const sh = shardOf(g)
    const t = sh.tok.get(g - sh.start)
    if (t >= V) throw corrupt('token id out of range')
    return t
  }

  const hasUnknown = (ids: Int32Array): boolean => {
    for (let i = 0; i < ids.length; i++) if (ids[i] >= V) return true
    return false
  }

  const count = (text: string): number => {
    const { ids } = encode(text)
    if (ids.length === 0 || hasUnknown(ids)) return 0
    let total = 0
    for (const sh of shards) {
      const [lo, hi] = range(sh, ids, 0, ids.length)
      total += hi - lo
    }
    return total
  }

  const snippetAround = (g: number, len: number): string => {
    const d = docOf(g)
    const from = Math.max(docStarts[d], g - 8)
    const to = Math.min(docStarts[d + 1], g + len + 8)
    const toks: string[] = []
    for (let p = from; p < to; p++) {
      const t = tokenAt(p)
      if (t !== 0) toks.push(vocab[t])
    }
    return detokenize(toks, { capitalize: false, quoteOpen: false })
  }

  const find = (text: string, o: { limit?: number } = {}): FindResult => {
    const limit = intOpt(o.limit, 'limit', 0, 10)
    const { ids } = encode(text)
    if (ids.length === 0 || hasUnknown(ids)) return { count: 0, matches: [] }
    const ranges = shards.map((sh) => range(sh, ids, 0, ids.length))
    const total = ranges.reduce((a, [lo, hi]) => a + hi - lo, 0)
    const positions: number[] = []
    if (total <= FIND_SCAN_LIMIT) {
      shards.forEach((sh, i) => {
        for (let j = ranges[i][0]; j < ranges[i][1]; j++) positions.push(sh.start + saAt(sh, j))
      })
      positions.sort((a, b) => a - b)
      positions.length = Math.min(positions.length, limit)
    } else {
      shards.forEach((sh, i) => {
        for (let j = ranges[i][0]; j < ranges[i][1] && positions.length < limit; j++) positions.push(sh.start + saAt(sh, j))
      })
    }
    return {
      count: total,
      matches: positions.map((g) => {
        const d = docOf(g)
        return { doc: docIds[d], position: g - docStarts[d], snippet: snippetAround(g, ids.length) }
      }),
    }
  }

  /** Occurrences of q[from..from+len) followed by a real token (not a separator). */
  const continuations = (q: Int32Array, from: number, len: number): { total: number; ranges: [number, number][] } => {
    const tmp = new Int32Array(len + 1)
    tmp.set(q.subarray(from, from + len))
    tmp[len] = 0
    let total = 0
    const ranges = shards.map((sh): [number, number] => {
      const [lo, hi] = len === 0 ? [0, sh.n] : range(sh, q, from, len)
      if (lo === hi) return [lo, hi]
      // Occurrences followed by a separator sort first in the range (id 0 is smallest).
      const real = upperBound(sh, tmp, 0, len + 1, lo, hi, len)
      total += hi - real
      return [real, hi]
    })
    return { total, ranges }
  }

  /** Longest suffix length l <= maxL of q[0..m) with a real continuation (binary search). */
  const longestSuffix = (q: Int32Array, m: number, maxL: number): number => {
    let lo = 0 // always feasible unless the index is empty of tokens
    let hi = Math.min(m, maxL)
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (continuations(q, m - mid, mid).total > 0) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** Distinct next tokens and their counts within per-shard ranges of suffixes sharing l tokens. */
  const distribution = (q: Int32Array, from: number, l: number, ranges: [number, number][]): Map<number, number> => {
    const counts = new Map<number, number>()
    const tmp = new Int32Array(l + 1)
    tmp.set(q.subarray(from, from + l))
    shards.forEach((sh, i) => {
      let [j, hi] = ranges[i]
      while (j < hi) {
        const p = saAt(sh, j)
        const t = p + l < sh.n ? sh.tok.get(p + l) : 0
        tmp[l] = t
        const end = upperBound(sh, tmp, 0, l + 1, j, hi, l)
        counts.set(t, (counts.get(t) ?? 0) + (end - j))
        j = end
      }
    })
    return counts
  }

  const infgram = (prompt: string, o: { limit?: number } = {}): InfgramResult => {
    const limit = intOpt(o.limit, 'limit', 0, 100)
    const { ids } = encode(prompt)
    const m = ids.length
    const l = longestSuffix(ids, m, m)
    const { total, ranges } = continuations(ids, m - l, l)
    const dist = distribution(ids, m - l, l, ranges)
    const next = [...dist.entries()]
      .map(([t, c]) => ({ token: vocab[t], count: c }))
      .sort((a, b) => b.count - a.count || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0))
      .slice(0, limit)
    return { suffixTokens: l, total, next }
  }

  const spanParams = (o: TraceOptions): { minSpanTokens: number; maxSpanCount: number } => ({
    minSpanTokens: intOpt(o.minSpanTokens, 'minSpanTokens', 1, DEFAULT_MIN_SPAN_TOKENS),
    maxSpanCount: intOpt(o.maxSpanCount, 'maxSpanCount', 1, DEFAULT_MAX_SPAN_COUNT),
  })

  const method = (o: TraceOptions = {}): string => {
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

  const trace = (output: string, o: TraceOptions = {}): TraceResult => {
    const p = spanParams(o)
    const { ids, starts, ends } = encode(output)
    const m = ids.length
    // Only maximal spans of at least minSpanTokens matter. A span starting at i is maximal
    // iff it reaches past every span starting earlier (`reach`), so it must be at least
    // need = max(minSpanTokens, reach - i + 1) long: one existence test of that prefix (which
    // stops at the first shard that has it) rules most positions out before any
    // longest-match search. Spans dropped by maxSpanCount still count for maximality.
    const spans: TraceSpan[] = []
    let reach = 0
    let runEnd = 0
    for (let i = 0; i < m; i++) {
      if (ids[i] >= V) continue
      if (runEnd <= i) {
        runEnd = i
        while (runEnd < m && ids[runEnd] < V) runEnd++
      }
      const need = Math.max(p.minSpanTokens, reach - i + 1)
      if (i + need > runEnd) continue
      let found = false
      for (const sh of shards) {
        if (longestMatch(sh, ids, i, need) === need) {
          found = true
          break
        }
      }
      if (!found) continue
      const avail = runEnd - i
      let len = need
      for (const sh of shards) {
        if (len === avail) break
        const b = longestMatch(sh, ids, i, avail)
        if (b > len) len = b
      }
      reach = i + len
      let total = 0
      const ranges = shards.map((sh) => {
        const r = range(sh, ids, i, len)
        total += r[1] - r[0]
        return r
      })
      if (total === 0 || total > p.maxSpanCount) continue
      const docSet = new Set<number>()
      shards.forEach((sh, s) => {
        for (let j = ranges[s][0]; j < ranges[s][1]; j++) docSet.add(docOf(sh.start + saAt(sh, j)))
      })
      const docs = [...docSet].sort((a, b) => a - b)
      spans.push({
        start: starts[i],
        end: ends[i + len - 1],
        text: output.slice(starts[i], ends[i + len - 1]),
        tokenStart: i,
        tokens: len,
        count: total,
        docs: docs.map((d) => docIds[d]),
        creditedTo: docIds[docs[0]],
      })
    }
    return { method: method(p), outputTokens: m, spans }
  }

  const attribute = (output: string, o: TraceOptions = {}): Attribution => {
    const t = trace(output, o)
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
    const docs = [...perDoc.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const split =
      credited === 0
        ? []
        : largestRemainderSplit(
            10_000n,
            docs.map((d) => ({ id: d, weight: BigInt(perDoc.get(d)!) })),
          )
    const weights = split.map((a) => ({ doc: a.id, bps: Number(a.amount) })).sort((a, b) => b.bps - a.bps || (a.doc < b.doc ? -1 : a.doc > b.doc ? 1 : 0))
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

  const generate = (prompt: string, o: GenerateOptions = {}): GenerateResult => {
    const maxTokens = intOpt(o.maxTokens, 'maxTokens', 0, 64)
    const temperature = o.temperature ?? 1
    if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
      throw new SinewError({ code: 'invalid_field', message: 'temperature must be a finite number >= 0', details: { field: 'temperature' } })
    }
    const seed = o.seed ?? 0
    if (typeof seed !== 'bigint' && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
      throw new SinewError({ code: 'invalid_field', message: 'seed must be a safe integer or a bigint', details: { field: 'seed' } })
    }
    const rng = new SplitMix64(seed)
    const { ids: promptIds } = encode(prompt)
    let ctx = new Int32Array(promptIds.length + maxTokens + 1)
    ctx.set(promptIds)
    let m = promptIds.length
    const out: string[] = []
    let finishReason: 'length' | 'stop' = 'length'
    let prevL = m
    while (out.length < maxTokens) {
      const l = longestSuffix(ctx, m, prevL + 1)
      const { ranges } = continuations(ctx, m - l, l)
      // Sample over all occurrences of the suffix, including those that end a document
      // (id 0): drawing one of those stops generation.
      let next: number
      if (temperature === 1) {
        const full = shards.map((sh, i) => {
          if (l === 0) return [0, sh.n] as [number, number]
          return [lowerBound(sh, ctx, m - l, l, 0, ranges[i][1], 0), ranges[i][1]] as [number, number]
        })
        const total = full.reduce((a, [lo, hi]) => a + hi - lo, 0)
        let r = Number(rng.below(BigInt(total)))
        let s = 0
        while (r >= full[s][1] - full[s][0]) {
          r -= full[s][1] - full[s][0]
          s++
        }
        const sh = shards[s]
        const p = saAt(sh, full[s][0] + r)
        next = p + l < sh.n ? sh.tok.get(p + l) : 0
      } else {
        const full = shards.map((sh, i): [number, number] => (l === 0 ? [0, sh.n] : [lowerBound(sh, ctx, m - l, l, 0, ranges[i][1], 0), ranges[i][1]]))
        const dist = [...distribution(ctx, m - l, l, full).entries()].sort((a, b) => a[0] - b[0])
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
      if (next === 0) {
        finishReason = 'stop'
        break
      }
      if (next >= V) throw corrupt('token id out of range')
      out.push(vocab[next])
      if (m === ctx.length) {
        const c = new Int32Array(ctx.length * 2)
        c.set(ctx)
        ctx = c
      }
      ctx[m++] = next
      prevL = l
    }
    const lastPrompt = promptIds.length > 0 ? (vocab[promptIds[promptIds.length - 1]] ?? '') : ''
    const capitalize = promptIds.length === 0 || lastPrompt === '.' || lastPrompt === '!' || lastPrompt === '?'
    return { text: detokenize(out, { capitalize, quoteOpen: false }), tokens: out.length, finishReason }
  }

  const verify = (): void => {
    header.shards.forEach((s, i) => {
      for (const [file, want] of [
        [shardTokFile(i), s.tokSha256],
        [shardSaFile(i), s.saSha256],
      ] as const) {
        const path = join(dir, file)
        checkSize(path, s.n * (file.endsWith('.tok') ? s.tokWidth : s.saWidth), file)
        if (hashFile(path) !== want) throw corrupt('checksum mismatch', { file })
      }
    })
    // Structural checks that checksums cannot give: ids and positions in range.
    for (const sh of shards) {
      for (let j = 0; j < sh.n; j++) {
        if (sh.tok.get(j) >= V) throw corrupt('token id out of range', { shard: sh.start, position: j })
        saAt(sh, j)
      }
      if (sh.tok.get(sh.n - 1) !== 0) throw corrupt('shard does not end with a separator', { shard: sh.start })
    }
  }

  const storage = (): StorageStats =>
    mode === 'memory'
      ? { mode, shardBytes, cachedBytes: shardBytes, bytesRead: shardBytes, cacheBytes: budget.maxBytes }
      : { mode, shardBytes, cachedBytes: budget.bytes, bytesRead: budget.bytesRead, cacheBytes: budget.maxBytes }

  const close = (): void => {
    for (const p of paged) p.close()
  }

  return { info, encode, count, find, infgram, trace, attribute, generate, method, storage, verify, close }
}
