/**
 * Turns canonical (lowercased) tokens back into readable text: spacing around punctuation,
 * contractions, quotes, sentence capitalization. Used by generate() and for snippets;
 * it is presentation only and never feeds back into attribution.
 *
 * `Detokenizer` does it one token at a time, for text streamed as it is generated: a token's
 * text depends on the tokens before it and on the one after it (an apostrophe before a
 * contraction takes no space), so each token's text is final once the next token (or the
 * end) is known. `detokenize` is the same thing over a whole list.
 */

const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}', '%', '…', '»', '”', '’'])
const NO_SPACE_AFTER = new Set(['(', '[', '{', '$', '#', '“', '‘', '«', '¿', '¡'])
const JOINERS = new Set(['-', '/', '_', '@', '–'])
const CONTRACTIONS = new Set(['s', 't', 're', 've', 'll', 'd', 'm'])
const SENTENCE_END = new Set(['.', '!', '?'])
const RE_CLOSE_SCRIPT = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u

export type DetokState = { capitalize: boolean; quoteOpen: boolean }

export class Detokenizer {
  /** The token whose text waits for the next one. */
  private pending: string | undefined
  /** The text of the token before `pending`, as written. */
  private prev = ''
  private started = false

  constructor(private readonly state: DetokState = { capitalize: true, quoteOpen: false }) {}

  /** Adds a token; returns the text that is now final (that of the token before it), maybe ''. */
  push(token: string): string {
    const out = this.pending === undefined ? '' : this.text(this.pending, token)
    this.pending = token
    return out
  }

  /** No more tokens: the last token's text. */
  end(): string {
    const out = this.pending === undefined ? '' : this.text(this.pending, undefined)
    this.pending = undefined
    return out
  }

  private text(token: string, next: string | undefined): string {
    const state = this.state
    const prev = this.prev
    let t = token
    let space = this.started
    if (t === '"') {
      if (state.quoteOpen) space = false
      state.quoteOpen = !state.quoteOpen
    } else if (prev === '"' && state.quoteOpen) space = false
    if (NO_SPACE_BEFORE.has(t) || NO_SPACE_AFTER.has(prev) || JOINERS.has(t) || JOINERS.has(prev)) space = false
    if ((t === "'" || t === '’') && next !== undefined && CONTRACTIONS.has(next)) space = false
    if ((prev === "'" || prev === '’') && CONTRACTIONS.has(t)) space = false
    if (RE_CLOSE_SCRIPT.test(t) && RE_CLOSE_SCRIPT.test(prev)) space = false
    if (t === 'i') t = 'I'
    if (state.capitalize && /\p{L}/u.test(t)) {
      t = t.charAt(0).toUpperCase() + t.slice(1)
      state.capitalize = false
    }
    if (SENTENCE_END.has(t)) state.capitalize = true
    this.prev = t
    if (t.length > 0) this.started = true
    return space ? ' ' + t : t
  }
}

export function detokenize(tokens: readonly string[], state: DetokState = { capitalize: true, quoteOpen: false }): string {
  const d = new Detokenizer(state)
  let out = ''
  for (const t of tokens) out += d.push(t)
  return out + d.end()
}
