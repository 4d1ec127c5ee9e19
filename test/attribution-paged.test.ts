/**
 * Paged mode: an index opened with `mode: 'paged'` answers exactly as in memory mode while
 * reading only the pages its queries touch, under a bounded cache ("an index larger than
 * memory opens and answers queries without being read whole").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildIndex, openIndex, type AttributionIndex, type Doc } from '../src/attribution/index.ts'

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

// Zipf-ish words over a 5000-word vocabulary: ~600 k positions, shard files of ~3.5 MB.
const r = rng(5)
const VOCAB = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`)
const word = (): string => VOCAB[Math.floor(VOCAB.length * r() ** 3)]
const docs: Doc[] = Array.from({ length: 1200 }, (_, i) => ({
  id: `doc-${String(i).padStart(4, '0')}`,
  text: Array.from({ length: 500 }, word).join(' '),
}))
// Query texts: passages copied from documents (so they occur) and random n-grams.
const passages = Array.from({ length: 40 }, () => {
  const d = docs[Math.floor(r() * docs.length)].text.split(' ')
  const s = Math.floor(r() * (d.length - 30))
  return d.slice(s, s + 3 + Math.floor(r() * 25)).join(' ')
})
const randoms = Array.from({ length: 40 }, () => Array.from({ length: 1 + Math.floor(r() * 3) }, word).join(' '))
const outputs = Array.from({ length: 5 }, (_, i) => `${passages[i]} amber zephyr ${randoms[i]} quartz ${passages[i + 10]} nimbus ${passages[i + 20]}`)

let root: string
let memory: AttributionIndex
let paged: AttributionIndex
const CACHE = 1 << 20 // the smallest page cache openIndex allows

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sinew-paged-'))
  await buildIndex(docs, join(root, 'idx'), { workers: 0, shardTokens: 1 << 18 })
  memory = openIndex(join(root, 'idx'), { mode: 'memory' })
  paged = openIndex(join(root, 'idx'), { mode: 'paged', cacheBytes: CACHE })
})
afterAll(() => {
  memory?.close()
  paged?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('paged mode', () => {
  it('opens without reading any shard file', () => {
    expect(paged.info).toEqual(memory.info)
    const s = paged.storage()
    expect(s.mode).toBe('paged')
    expect(s.bytesRead).toBe(0)
    expect(s.shardBytes).toBeGreaterThan(2 * CACHE)
    expect(memory.storage()).toMatchObject({ mode: 'memory', bytesRead: s.shardBytes })
  })

  it('a count reads a small fraction of the shard files', () => {
    const before = paged.storage().bytesRead
    expect(paged.count(passages[0])).toBe(memory.count(passages[0]))
    const read = paged.storage().bytesRead - before
    expect(read).toBeGreaterThan(0)
    expect(read).toBeLessThan(paged.storage().shardBytes / 8)
  })

  it('answers count, find, infgram, trace, attribute and generate identically to memory mode', () => {
    for (const q of [...passages, ...randoms]) {
      expect(paged.count(q)).toBe(memory.count(q))
      expect(paged.find(q, { limit: 5 })).toEqual(memory.find(q, { limit: 5 }))
      expect(paged.infgram(q)).toEqual(memory.infgram(q))
    }
    for (const o of outputs) {
      expect(paged.trace(o, { minSpanTokens: 4 })).toEqual(memory.trace(o, { minSpanTokens: 4 }))
      expect(paged.attribute(o)).toEqual(memory.attribute(o))
    }
    for (const seed of [1, 2, 3]) {
      for (const temperature of [0, 0.8, 1]) {
        expect(paged.generate(passages[seed], { maxTokens: 20, seed, temperature })).toEqual(
          memory.generate(passages[seed], { maxTokens: 20, seed, temperature }),
        )
      }
    }
  })

  it('keeps the page cache within its budget', () => {
    const s = paged.storage()
    expect(s.cacheBytes).toBe(CACHE)
    // One page (at most 1 Ki elements of 4 bytes) may be admitted before eviction.
    expect(s.cachedBytes).toBeLessThanOrEqual(CACHE + 4096)
    expect(s.bytesRead).toBeGreaterThan(s.cachedBytes) // pages were evicted and read again
  })

  it('verify() reads every page and passes', () => {
    paged.verify()
    expect(paged.storage().cachedBytes).toBeLessThanOrEqual(CACHE + 4096)
  })
})
