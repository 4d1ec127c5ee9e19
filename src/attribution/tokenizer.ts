/**
 * The canonical tokenizer `sinew-tok/1`. docs/attribution.md specifies it so that a
 * stranger can reimplement it; any change to what it emits needs a new version string,
 * because the version is part of every attribution method id.
 *
 * Shape: a token is a maximal run of word code points (letters, numbers, with combining
 * marks attached), or one ideograph / symbol / punctuation code point (with its marks);
 * whitespace, controls and format characters separate tokens and are dropped. The token
 * string is NFKC(raw).toLowerCase(); offsets always point into the ORIGINAL text, in
 * UTF-16 code units, so spans map back onto exactly what the caller sent.
 */

export const TOKENIZER_VERSION = 'sinew-tok/1'

/** Character classes. 0 = not yet classified (the table is filled lazily). */
const SPACE = 1
const WORD = 2
const MARK = 3
const SINGLE = 4
const OTHER = 5

// One byte per code point, filled on first sight: the regex tests below are slow, the
// table makes every later occurrence a single load.
const CLASS = new Uint8Array(0x110000)

const RE_SPACE = /^[\s\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]$/u
const RE_MARK = /^\p{M}$/u
const RE_SINGLE = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]$/u
const RE_WORD = /^[\p{L}\p{N}]$/u

function classify(cp: number): number {
  const ch = String.fromCodePoint(cp)
  if (RE_SPACE.test(ch)) return SPACE
  if (RE_MARK.test(ch)) return MARK
  if (RE_WORD.test(ch)) return RE_SINGLE.test(ch) ? SINGLE : WORD
  return OTHER
}

for (let c = 0; c < 128; c++) CLASS[c] = classify(c)
// Surrogate code points only reach classOf when unpaired; they separate tokens.
for (let c = 0xd800; c < 0xe000; c++) CLASS[c] = SPACE

function classOf(cp: number): number {
  let k = CLASS[cp]
  if (k === 0) {
    k = classify(cp)
    CLASS[cp] = k
  }
  return k
}

/**
 * Calls `emit(start, end, plain)` for each token of `text` in order. `plain` is true when
 * the raw token is ASCII (so NFKC is the identity and only lowercasing can change it).
 * One tight loop over char codes; no allocation here — callers decide what to build.
 */
export function scanTokens(text: string, emit: (start: number, end: number, plain: boolean) => void): void {
  const n = text.length
  let i = 0
  while (i < n) {
    let c = text.charCodeAt(i)
    let k: number
    let len = 1
    if (c < 128) k = CLASS[c]
    else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const d = text.charCodeAt(i + 1)
        if (d >= 0xdc00 && d < 0xe000) {
          c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000
          len = 2
        }
      }
      k = classOf(c)
    }
    if (k === SPACE) {
      i += len
      continue
    }
    const start = i
    let plain = c < 128
    i += len
    // A word absorbs following word code points and marks; anything else absorbs marks only.
    const absorbWords = k === WORD
    while (i < n) {
      let d = text.charCodeAt(i)
      let dl = 1
      let dk: number
      if (d < 128) {
        dk = CLASS[d]
        if (dk === WORD && absorbWords) {
          i++
          continue
        }
      } else {
        if (d >= 0xd800 && d < 0xdc00 && i + 1 < n) {
          const e = text.charCodeAt(i + 1)
          if (e >= 0xdc00 && e < 0xe000) {
            d = ((d - 0xd800) << 10) + (e - 0xdc00) + 0x10000
            dl = 2
          }
        }
        dk = classOf(d)
      }
      if (dk === MARK || (absorbWords && dk === WORD)) {
        if (d >= 128) plain = false
        i += dl
      } else break
    }
    emit(start, i, plain)
  }
}

/** The canonical token string of a raw token. */
export function normalizeToken(raw: string, plain: boolean): string {
  return plain ? raw.toLowerCase() : raw.normalize('NFKC').toLowerCase()
}

export type Tokens = {
  /** Canonical token strings (NFKC, lowercased). */
  tokens: string[]
  /** Start offset of each token in the original text, UTF-16 code units. */
  starts: Uint32Array
  /** End offset (exclusive) of each token in the original text, UTF-16 code units. */
  ends: Uint32Array
  /** Number of tokens (= tokens.length). */
  length: number
}

/**
 * Maps token strings to dense ids in order of first appearance. Id 0 is reserved for the
 * document separator, so real tokens start at 1. A raw-surface cache skips NFKC and
 * lowercasing for surfaces already seen — the common case in natural text.
 */
export class Vocabulary {
  readonly ids = new Map<string, number>()
  readonly strings: string[] = ['']
  // Raw-surface cache: an open-addressing table of 4-int entries [hash, id, arena offset,
  // length] with the surfaces' code units in one Uint16Array arena. A hit costs a hash, one
  // cache line of table and a compare — no substring, no Map hashing, no pointer chasing.
  private table = new Int32Array(4 << 16)
  private arena = new Uint16Array(1 << 20)
  private arenaUsed = 0
  private rawCount = 0

  idOf(text: string, start: number, end: number, plain: boolean): number {
    let h = 0x811c9dc5 | 0
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
    h |= 1 // 0 marks an empty slot
    const table = this.table
    const mask = (table.length >> 2) - 1
    let slot = h & mask
    const len = end - start
    const arena = this.arena
    for (;;) {
      const b = slot << 2
      const eh = table[b]
      if (eh === 0) break
      if (eh === h && table[b + 3] === len) {
        const off = table[b + 2]
        let j = 0
        while (j < len && arena[off + j] === text.charCodeAt(start + j)) j++
        if (j === len) return table[b + 1]
      }
      slot = (slot + 1) & mask
    }
    const norm = normalizeToken(text.slice(start, end), plain)
    let id = this.ids.get(norm)
    if (id === undefined) {
      id = this.strings.length
      this.strings.push(norm)
      this.ids.set(norm, id)
    }
    this.insertRaw(text, start, end, h, id, slot)
    return id
  }

  private insertRaw(text: string, start: number, end: number, h: number, id: number, slot: number): void {
    const len = end - start
    if (this.arenaUsed + len > this.arena.length) {
      const na = new Uint16Array(Math.max(this.arena.length * 2, this.arenaUsed + len))
      na.set(this.arena)
      this.arena = na
    }
    const off = this.arenaUsed
    for (let j = 0; j < len; j++) this.arena[off + j] = text.charCodeAt(start + j)
    this.arenaUsed += len
    const b = slot << 2
    this.table[b] = h
    this.table[b + 1] = id
    this.table[b + 2] = off
    this.table[b + 3] = len
    this.rawCount++
    // Keep the load factor under 1/2 so probe chains stay short.
    if (this.rawCount * 2 > this.table.length >> 2) {
      const old = this.table
      const table = new Int32Array(old.length * 2)
      const mask = (table.length >> 2) - 1
      for (let ob = 0; ob < old.length; ob += 4) {
        if (old[ob] === 0) continue
        let s = old[ob] & mask
        while (table[s << 2] !== 0) s = (s + 1) & mask
        table.set(old.subarray(ob, ob + 4), s << 2)
      }
      this.table = table
    }
  }

  get size(): number {
    return this.strings.length
  }
}

// tokenize() resolves surfaces through a shared vocabulary so that repeated surfaces cost
// a table hit instead of NFKC + lowercasing; it is dropped when it grows large.
let shared = new Vocabulary()

/** Tokenizes `text`; ids are per index (see AttributionIndex), strings are canonical. */
export function tokenize(text: string): Tokens {
  if (shared.size > 1 << 20) shared = new Vocabulary()
  const vocab = shared
  const strings = vocab.strings
  const tokens: string[] = []
  let starts = new Uint32Array(64)
  let ends = new Uint32Array(64)
  let n = 0
  scanTokens(text, (s, e, plain) => {
    if (n === starts.length) {
      starts = doubled(starts)
      ends = doubled(ends)
    }
    starts[n] = s
    ends[n] = e
    tokens.push(strings[vocab.idOf(text, s, e, plain)])
    n++
  })
  return { tokens, starts: starts.slice(0, n), ends: ends.slice(0, n), length: n }
}

/** A copy of a token array (ids or offsets) in one twice as long, for arrays filled while scanning. */
export function doubled<A extends Int32Array | Uint32Array>(a: A): A {
  const b = new (a.constructor as new (length: number) => A)(a.length * 2)
  b.set(a)
  return b
}
