/** The reference index follows the state block by block: it agrees with a full scan, and a block costs its changed entries only. */
import { describe, expect, it } from 'vitest'
import { fromUtf8, utf8 } from '../core/index.ts'
import { BlobRefIndex, type BlobReferences } from './blob-refs.ts'

/** Entries `doc/<n>` hold a comma-separated list of sha256s; `refs` counts its calls. */
function module(): { refs: BlobReferences; calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    refs: {
      kinds: {},
      state: {
        holds: (key) => key.startsWith('doc/'),
        refs: (key, value) => {
          calls.push(key)
          const text = fromUtf8(value)
          return text ? text.split(',') : []
        },
      },
    },
  }
}

/** The oracle: the referenced blobs of a whole state, counted by scanning it. */
function scan(state: Map<string, string>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const [key, value] of state) {
    if (!key.startsWith('doc/') || !value) continue
    for (const sha of new Set(value.split(','))) counts.set(sha, (counts.get(sha) ?? 0) + 1)
  }
  return counts
}

describe('BlobRefIndex', () => {
  it('agrees with a scan of the state after every block, reports what each block referenced and released, and reads only the changed entries', () => {
    const m = module()
    const index = new BlobRefIndex([m.refs])
    const state = new Map<string, string>()
    for (let i = 0; i < 1000; i++) state.set(`doc/${i}`, `s${i % 50}`)
    state.set('other/x', 'not a reference')
    index.load([...state].map(([k, v]) => [k, utf8(v)]))
    expect(m.calls).toHaveLength(1000)

    // Deterministic pseudo-random blocks of a few writes each.
    let seed = 7
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let block = 0; block < 200; block++) {
      const before = scan(state)
      const writes = new Map<string, Uint8Array | null>()
      for (let w = 0; w < 3; w++) {
        const key = `doc/${next(1200)}`
        if (next(4) === 0) {
          writes.set(key, null)
          state.delete(key)
        } else {
          const value = Array.from({ length: next(3) }, () => `s${next(80)}`).join(',')
          writes.set(key, utf8(value))
          state.set(key, value)
        }
      }
      m.calls.length = 0
      const changes = index.apply(writes)
      const after = scan(state)
      expect(new Map(index.referenced().map((sha) => [sha, index.count(sha)]))).toEqual(after)
      expect(changes.referenced.sort()).toEqual([...after.keys()].filter((s) => !before.has(s)).sort())
      expect(changes.released.sort()).toEqual([...before.keys()].filter((s) => !after.has(s)).sort())
      // Only the written entries were decoded (deleted ones not at all).
      expect(m.calls.length).toBeLessThanOrEqual(writes.size)
    }
  })
})
