/**
 * count and find: the occurrences of a text's token sequence in the index, and where they
 * are (document, token offset, a snippet around them).
 */
import { detokenize } from './detok.ts'
import { hits, occurrences, positions } from './search.ts'
import { docOf, encode, hasUnknown, type IndexView, intOption, tokenAt } from './view.ts'

export type FindResult = {
  count: number
  matches: { doc: string; position: number; snippet: string }[]
}

/** find() returns the earliest occurrences when there are at most this many. */
const FIND_SCAN_LIMIT = 100_000

/** Occurrences of the token sequence of `text` (0 for an empty query or any unknown token). */
export function count(view: IndexView, text: string): number {
  const { ids } = encode(view, text)
  if (ids.length === 0 || hasUnknown(view, ids)) return 0
  return occurrences(view.shards, ids, 0, ids.length)
}

/** `count` and up to `limit` matches: the earliest ones (build order), or the first in SA order past FIND_SCAN_LIMIT. */
export function find(view: IndexView, text: string, o: { limit?: number } = {}): FindResult {
  const limit = intOption(o.limit, 'limit', 0, 10)
  const { ids } = encode(view, text)
  if (ids.length === 0 || hasUnknown(view, ids)) return { count: 0, matches: [] }
  const { total, ranges } = hits(view.shards, ids, 0, ids.length)
  let found: number[]
  if (total <= FIND_SCAN_LIMIT) {
    found = positions(view.shards, ranges).sort((a, b) => a - b)
    found.length = Math.min(found.length, limit)
  } else {
    found = positions(view.shards, ranges, limit)
  }
  return {
    count: total,
    matches: found.map((g) => {
      const d = docOf(view, g)
      return { doc: view.docIds[d], position: g - view.docStarts[d], snippet: snippetAround(view, g, ids.length) }
    }),
  }
}

/** The normalized tokens of the match at g (len tokens) and up to 8 either side, within its document. */
function snippetAround(view: IndexView, g: number, len: number): string {
  const d = docOf(view, g)
  const from = Math.max(view.docStarts[d], g - 8)
  const to = Math.min(view.docStarts[d + 1], g + len + 8)
  const toks: string[] = []
  for (let p = from; p < to; p++) {
    const t = tokenAt(view, p)
    if (t !== 0) toks.push(view.vocab[t])
  }
  return detokenize(toks, { capitalize: false, quoteOpen: false })
}
