/**
 * A text for tests of the built-in model: a long document over a small vocabulary. Prompted
 * with its first words, the ∞-gram model copies long runs of it, thousands of one-word tokens
 * (seed 2: ~3100 frames, ≈ 600 KB of SSE, more than a client's receive buffers hold).
 */
export const LONG_DOC_WORDS = 'river stone cloud maple harbor lantern copper meadow thunder violet quiet basket candle orchard silver falcon'.split(' ')

/** 1500 words drawn from LONG_DOC_WORDS by a fixed linear congruential sequence. */
export const LONG_DOC = (() => {
  let s = 12345
  const out: string[] = []
  for (let i = 0; i < 1500; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    out.push(LONG_DOC_WORDS[(s >>> 16) % 16])
  }
  return out.join(' ')
})()

/** The document's first three words. */
export const LONG_DOC_PROMPT = LONG_DOC.split(' ').slice(0, 3).join(' ')
