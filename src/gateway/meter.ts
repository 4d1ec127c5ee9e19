/**
 * Counts canonical tokens (sinew-tok/1) of a streamed output as it grows and cuts it at a
 * token budget. Tokens never contain SPACE-class characters, so the text up to the last
 * gap between tokens is counted once ("settled") and only the short tail after it is
 * re-scanned per delta; the count always equals `tokenize(text).length` of everything
 * accepted so far. One `scanTokens` pass per delta, no token strings, no arrays.
 */
import { scanTokens, tokenize } from '../attribution/index.ts'

export class TokenMeter {
  /** Settled text (a rope: only ever appended to) and the tail still being scanned. */
  private settled = ''
  private tail = ''
  private settledTokens = 0
  private tailTokens = 0
  full = false
  // Scan state, written by `emit` (one closure for the meter's life).
  private n = 0
  private prevEnd = 0
  private keep = 0
  private cutEnd = 0
  private gapAt = 0
  private gapTokens = 0
  private readonly emit = (start: number, end: number): void => {
    // `start > prevEnd`: SPACE-class characters precede this token, so everything before
    // `start` is final whatever comes later.
    if (start > this.prevEnd) {
      this.gapAt = start
      this.gapTokens = this.n
    }
    this.n++
    if (this.n === this.keep) this.cutEnd = end
    this.prevEnd = end
  }

  /** The budget; AnswerMeter moves it as other parts of the answer use theirs (never below `tokens`). */
  constructor(public maxTokens: number) {}

  get tokens(): number {
    return this.settledTokens + this.tailTokens
  }

  get output(): string {
    return this.settled + this.tail
  }

  /** Adds a delta; returns the part of it within the budget (maybe empty). Sets `full` at the budget. */
  push(delta: string): string {
    if (this.full || delta.length === 0) return ''
    const before = this.tail.length
    const tail = this.tail + delta
    const keep = this.maxTokens - this.settledTokens
    this.n = 0
    this.prevEnd = 0
    this.keep = keep
    this.cutEnd = 0
    this.gapAt = 0
    this.gapTokens = 0
    scanTokens(tail, this.emit)
    const n = this.n
    if (n > keep) {
      const cut = keep <= 0 ? 0 : this.cutEnd
      this.tail = tail.slice(0, Math.max(cut, before))
      this.full = true
      this.tailTokens = cut >= before ? Math.max(keep, 0) : tokenize(this.tail).length
      return this.tail.slice(before)
    }
    this.tailTokens = n
    if (this.settledTokens + n === this.maxTokens) this.full = true
    // Settle up to the last gap. Trailing SPACE-class characters after the last token
    // settle too, unless the text ends in a high surrogate (its pair may be in the next delta).
    let at = this.gapAt
    let count = this.gapTokens
    const len = tail.length
    if (this.prevEnd < len) {
      const last = tail.charCodeAt(len - 1)
      const end = last >= 0xd800 && last < 0xdc00 ? len - 1 : len
      if (end > this.prevEnd || n === 0) {
        at = end
        count = n
      }
    }
    if (at > 0) {
      this.settled += tail.slice(0, at)
      this.tail = tail.slice(at)
      this.settledTokens += count
      this.tailTokens -= count
    } else this.tail = tail
    return delta
  }
}

/**
 * Meters a whole answer against one budget of canonical tokens: its text, and the arguments of
 * each function call it makes (counted apart: a call's arguments are their own string, not a
 * continuation of the text). Each part's meter gets what the others leave, so the sum never
 * passes `maxTokens`.
 */
export class AnswerMeter {
  private readonly text: TokenMeter
  private readonly calls = new Map<number, TokenMeter>()
  full = false

  constructor(readonly maxTokens: number) {
    this.text = new TokenMeter(maxTokens)
  }

  get tokens(): number {
    let n = this.text.tokens
    for (const m of this.calls.values()) n += m.tokens
    return n
  }

  /** Adds text; returns the part of it within the budget. */
  pushText(delta: string): string {
    return this.push(this.text, delta)
  }

  /** Adds to the arguments of the call at `index`; returns the part within the budget. */
  pushArguments(index: number, delta: string): string {
    let m = this.calls.get(index)
    if (!m) {
      m = new TokenMeter(0)
      this.calls.set(index, m)
    }
    return this.push(m, delta)
  }

  private push(m: TokenMeter, delta: string): string {
    if (this.full) return ''
    m.maxTokens = this.maxTokens - (this.tokens - m.tokens)
    const accepted = m.push(delta)
    if (m.full) this.full = true
    return accepted
  }
}

export function countTokens(text: string): number {
  let n = 0
  scanTokens(text, () => void n++)
  return n
}
