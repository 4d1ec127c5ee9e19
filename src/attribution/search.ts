/**
 * Suffix-array search: where a token sequence occurs in the shards of an index. Each shard
 * is searched by binary search over its suffix array, comparing token ids, with the
 * Manber-Myers skip (a comparison resumes at min(lcp(lo), lcp(hi)): every suffix between
 * the bounds shares that many tokens with the query). Results are summed or merged across
 * shards by the callers.
 *
 * This is the hot path of count, find and trace. Two binary searches, `locate` (until a
 * probe matches) and `bound` (the lower or upper bound of the matches), read a shard's
 * arrays only through `IntArray.get`, the same in memory and paged mode, and pass lcps and
 * brackets through module variables rather than allocated pairs.
 */
import { saAt, type Shard } from './shards.ts'

/** Per-shard suffix-array ranges [lo, hi) of one query's occurrences, and how many there are in all. */
export type Hits = { total: number; ranges: [number, number][] }

/** Tokens the suffix and the query share, as found by the last `compare`. */
let cmpLcp = 0
/** Where the last `locate` stopped: the bracket (atLo, atHi) and the lcp of q with the suffix at each end. */
let atLo = 0
let atHi = 0
let atLlo = 0
let atLhi = 0

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
 * Binary search of q[from..from+len) over the whole suffix array that stops at the first
 * probe starting with q: returns that SA index, or -1 when no suffix starts with q (then
 * atHi is where q would sort). Leaves the bracket it narrowed to in atLo/atHi, atLlo/atLhi.
 */
function locate(sh: Shard, q: Int32Array, from: number, len: number): number {
  let lo = -1
  let hi = sh.n
  let llo = 0
  let lhi = 0
  let found = -1
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    const c = compare(sh, saAt(sh, mid), q, from, len, Math.min(llo, lhi))
    if (c === 0) {
      found = mid
      break
    }
    if (c < 0) {
      lo = mid
      llo = cmpLcp
    } else {
      hi = mid
      lhi = cmpLcp
    }
  }
  atLo = lo
  atHi = hi
  atLlo = llo
  atLhi = lhi
  return found
}

/**
 * First SA index in [lo0, hi0) whose suffix is >= q (a suffix starting with q counts as
 * equal), or with `pastMatches`, whose suffix is > q and does not start with q. The suffixes
 * at lo0 - 1 and hi0 bracket the answer and share at least `known` tokens with q.
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
  return hi
}

/**
 * The SA range of q[from..from+len) in one shard. As in std::equal_range, one search
 * narrows until a probe starts with q; the first match then lies between the lower end and
 * that probe, the last between the probe and the upper end: two short searches instead of
 * two over the whole shard.
 */
export function range(sh: Shard, q: Int32Array, from: number, len: number): [number, number] {
  const mid = locate(sh, q, from, len)
  if (mid < 0) return [atHi, atHi]
  const lo = atLo
  const hi = atHi
  const llo = atLlo
  const lhi = atLhi
  return [bound(sh, q, from, len, lo + 1, mid, llo, false), bound(sh, q, from, len, mid + 1, hi, lhi, true)]
}

/**
 * Longest prefix of q[from..from+len) occurring in the shard (0 if none): len as soon as a
 * probe starts with q, else the longer lcp of q with the two suffixes where q would sort.
 */
export function longestMatch(sh: Shard, q: Int32Array, from: number, len: number): number {
  return locate(sh, q, from, len) >= 0 ? len : Math.max(atLlo, atLhi)
}

/** Occurrences of q[from..from+len) in every shard. */
export function hits(shards: readonly Shard[], q: Int32Array, from: number, len: number): Hits {
  let total = 0
  const ranges: [number, number][] = []
  for (const sh of shards) {
    const r = range(sh, q, from, len)
    total += r[1] - r[0]
    ranges.push(r)
  }
  return { total, ranges }
}

/** How many times q[from..from+len) occurs in all shards: `hits().total` without keeping the ranges (count's path). */
export function occurrences(shards: readonly Shard[], q: Int32Array, from: number, len: number): number {
  let total = 0
  for (const sh of shards) {
    const r = range(sh, q, from, len)
    total += r[1] - r[0]
  }
  return total
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
