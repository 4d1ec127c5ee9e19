/**
 * Turns canonical (lowercased) tokens back into readable text: spacing around punctuation,
 * contractions, quotes, sentence capitalization. Used by generate() and for snippets;
 * it is presentation only and never feeds back into attribution.
 */

const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}', '%', '…', '»', '”', '’'])
const NO_SPACE_AFTER = new Set(['(', '[', '{', '$', '#', '“', '‘', '«', '¿', '¡'])
const JOINERS = new Set(['-', '/', '_', '@', '–'])
const CONTRACTIONS = new Set(['s', 't', 're', 've', 'll', 'd', 'm'])
const SENTENCE_END = new Set(['.', '!', '?'])
const RE_CLOSE_SCRIPT = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u

export type DetokState = { capitalize: boolean; quoteOpen: boolean }

export function detokenize(tokens: readonly string[], state: DetokState = { capitalize: true, quoteOpen: false }): string {
  let out = ''
  let prev = ''
  for (let i = 0; i < tokens.length; i++) {
    let t = tokens[i]
    const next = tokens[i + 1]
    let space = out.length > 0
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
    out += space ? ' ' + t : t
    prev = t
  }
  return out
}
