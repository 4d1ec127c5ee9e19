/**
 * Suffix-array search: where a token sequence occurs in the shards of an index. Each shard
 * is searched by binary search over its suffix array, comparing token ids, with the
 * Manber-Myers skip (a comparison resumes at min(lcp(lo), lcp(hi)): every suffix between
 * the bounds shares that many tokens with the query). Results are summed or merged across
 * shards by the callers.
 *
 * This is the hot path of count, find and trace. The one binary search (`bound`) reads a
 * shard's arrays only through `IntArray.get`, the same in memory and paged mode, and passes
 * the last comparison's lcp through a module variable rather than an allocated pair.
 */
import { saAt, type Shard } from './shards.ts'

/** Per-shard suffix-array ranges [lo, hi) of one query's occurrences, and how many there are in all. */
export type Hits = { total: number; ranges: [number, number][] }

/** Tokens the suffix and the query share, as found by the last `compare`. */
let cmpLcp = 0
/** Longest prefix of the query shared by a suffix next to the bound the last `bound` found. */
let boundLcp = 0

/** Sign of (suffix at p) vs q[from..from+len), resuming at offset k; the lcp goes to `cmpLcp`. */
function compare(sh: Shard, p: number, q: Int32Array, from: number, len: number, k: number): number {
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

/**
 * First SA index in [lo0, hi0) whose suffix is >= q (a suffix starting with q counts as
 * equal), or with `pastMatches`, whose suffix is > q and does not start with q. `known`:
 * tokens every suffix in the range already shares with q. Also leaves in `boundLcp` the
 * longest prefix of q that a suffix on either side of the bound shares with it.
 */
export function bound(sh: Shard, q: Int32Array, from: number, len: number, lo0: number, hi0: number, known: number, pastMatches: boolean): number {
  // Go right while the probe is < q (lower bound) or <= q (past the matches).
  const right = pastMatches ? 1 : 0
  let lo = lo0 - 1
  let hi = hi0
  let llo = known
  let lhi = known
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    const c = compare(sh, saAt(sh, mid), q, from, len, Math.min(llo, lhi))
    if (c < right) {
      lo = mid
      llo = cmpLcp
    } else {
      hi = mid
      lhi = cmpLcp
    }
  }
  boundLcp = Math.max(llo, lhi)
  return hi
}

/** The SA range of q[from..from+len) in one shard. */
export function range(sh: Shard, q: Int32Array, from: number, len: number): [number, number] {
  const lo = bound(sh, q, from, len, 0, sh.n, 0, false)
  if (lo === sh.n) return [lo, lo]
  return [lo, bound(sh, q, from, len, lo, sh.n, 0, true)]
}

/**
 * Longest prefix of q[from..from+len) occurring in the shard (0 if none): the longest
 * common prefix of q with the suffixes on either side of where q would sort.
 */
export function longestMatch(sh: Shard, q: Int32Array, from: number, len: number): number {
  bound(sh, q, from, len, 0, sh.n, 0, false)
  return boundLcp
}

/** Occurrences of q[from..from+len) in every shard. */
export function hits(shards: readonly Shard[], q: Int32Array, from: number, len: number): Hits {
  let total = 0
  const ranges = shards.map((sh) => {
    const r = range(sh, q, from, len)
    total += r[1] - r[0]
    return r
  })
  return { total, ranges }
}

/** Whether q[from..from+len) occurs at all; stops at the first shard that has it. */
export function occurs(shards: readonly Shard[], q: Int32Array, from: number, len: number): boolean {
  for (const sh of shards) if (longestMatch(sh, q, from, len) === len) return true
  return false
}

/** Longest prefix of q[from..from+len) occurring in any shard, when a prefix of `atLeast` tokens is known to occur. */
export function longestPrefix(shards: readonly Shard[], q: Int32Array, from: number, len: number, atLeast: number): number {
  let best = atLeast
  for (const sh of shards) {
    if (best === len) break
    const b = longestMatch(sh, q, from, len)
    if (b > best) best = b
  }
  return best
}

/** Global positions of the occurrences in per-shard `ranges`, shard by shard in SA order; at most `limit`. */
export function positions(shards: readonly Shard[], ranges: readonly [number, number][], limit = Number.POSITIVE_INFINITY): number[] {
  const out: number[] = []
  shards.forEach((sh, i) => {
    for (let j = ranges[i][0]; j < ranges[i][1] && out.length < limit; j++) out.push(sh.start + saAt(sh, j))
  })
  return out
}
