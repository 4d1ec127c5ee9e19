import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildIndex, openIndex, tokenize, type AttributionIndex, type Doc } from './index.ts'

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const WORDS = ['the', 'a', 'cat', 'dog', 'sat', 'on', 'mat', 'and', 'ran', '.', ',', 'Über', 'niño', '日', '本', '🙂']

function randomCorpus(seed: number, docs: number, maxLen: number): Doc[] {
  const r = rng(seed)
  return Array.from({ length: docs }, (_, i) => {
    const len = Math.floor(r() * maxLen)
    const words = Array.from({ length: len }, () => WORDS[Math.floor(r() * WORDS.length)])
    return { id: `d${String(i).padStart(3, '0')}`, text: words.join(' ') }
  })
}

/** Brute-force count of a token n-gram over documents (matches never cross documents). */
function bruteCount(docs: Doc[], query: string): number {
  const q = tokenize(query).tokens
  if (q.length === 0) return 0
  let c = 0
  for (const d of docs) {
    const t = tokenize(d.text).tokens
    for (let i = 0; i + q.length <= t.length; i++) {
      let ok = true
      for (let j = 0; j < q.length && ok; j++) ok = t[i + j] === q[j]
      if (ok) c++
    }
  }
  return c
}

let root: string
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sinew-attr-'))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('index build and count', () => {
  const docs = randomCorpus(7, 60, 120)
  let memory: AttributionIndex
  let paged: AttributionIndex
  let sharded: AttributionIndex

  beforeAll(async () => {
    await buildIndex(docs, join(root, 'one'), { workers: 0 })
    // Tiny shards exercise cross-shard merging (every document fits in one shard).
    await buildIndex(docs, join(root, 'many'), { workers: 2, shardTokens: 130 })
    memory = openIndex(join(root, 'one'), { mode: 'memory' })
    paged = openIndex(join(root, 'one'), { mode: 'paged', cacheBytes: 1 })
    sharded = openIndex(join(root, 'many'))
  })
  afterAll(() => {
    memory.close()
    paged.close()
    sharded.close()
  })

  it('reports counts in info', () => {
    const tokens = docs.reduce((a, d) => a + tokenize(d.text).length, 0)
    expect(memory.info.documents).toBe(60)
    expect(memory.info.tokens).toBe(tokens)
    expect(memory.info.positions).toBe(tokens + 60)
    expect(memory.info.shards).toBe(1)
    expect(sharded.info.shards).toBeGreaterThan(10)
    expect(sharded.info.positions).toBe(memory.info.positions)
    expect(sharded.info.tokens).toBe(tokens)
  })

  it('count equals brute force on random n-grams, in memory, paged and sharded modes', () => {
    const r = rng(99)
    for (let trial = 0; trial < 300; trial++) {
      const d = docs[Math.floor(r() * docs.length)]
      const t = tokenize(d.text)
      let q: string
      if (trial % 4 === 0 || t.length === 0) {
        q = Array.from({ length: 1 + Math.floor(r() * 3) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ')
      } else {
        const s = Math.floor(r() * t.length)
        const e = Math.min(t.length, s + 1 + Math.floor(r() * 6))
        q = d.text.slice(t.starts[s], t.ends[e - 1])
      }
      const want = bruteCount(docs, q)
      expect(memory.count(q)).toBe(want)
      expect(paged.count(q)).toBe(want)
      expect(sharded.count(q)).toBe(want)
    }
  })

  it('unknown tokens and empty queries count zero', () => {
    expect(memory.count('zebra')).toBe(0)
    expect(memory.count('')).toBe(0)
    expect(memory.count('cat zebra')).toBe(0)
  })

  it('find returns the earliest occurrences with doc ids, token positions and snippets', () => {
    const f = memory.find('cat', { limit: 3 })
    expect(f.count).toBe(bruteCount(docs, 'cat'))
    expect(f.matches).toHaveLength(3)
    const first = docs.findIndex((d) => tokenize(d.text).tokens.includes('cat'))
    expect(f.matches[0].doc).toBe(docs[first].id)
    expect(f.matches[0].position).toBe(tokenize(docs[first].text).tokens.indexOf('cat'))
    expect(f.matches[0].snippet).toContain('cat')
    expect(sharded.find('cat', { limit: 3 })).toEqual(f)
  })

  it('infgram gives the next-token distribution of the longest matching suffix', () => {
    const prompt = 'zebra the cat'
    const r = memory.infgram(prompt)
    expect(r.suffixTokens).toBe(2)
    // brute force over documents
    const counts = new Map<string, number>()
    for (const d of docs) {
      const t = tokenize(d.text).tokens
      for (let i = 0; i + 2 < t.length; i++) if (t[i] === 'the' && t[i + 1] === 'cat') counts.set(t[i + 2], (counts.get(t[i + 2]) ?? 0) + 1)
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0)
    expect(r.total).toBe(total)
    expect(Object.fromEntries(r.next.map((x) => [x.token, x.count]))).toEqual(Object.fromEntries(counts))
    expect(sharded.infgram(prompt)).toEqual(r)
    expect(paged.infgram(prompt)).toEqual(r)
  })
})

describe('trace and attribute', () => {
  const docs: Doc[] = [
    { id: 'alpha', text: 'The quick brown fox jumps over the lazy dog near the river bank today.' },
    { id: 'beta', text: 'Completely different words about gardening, soil, tomatoes and patient watering schedules.' },
    { id: 'gamma', text: 'A later copy: the quick brown fox jumps over the lazy dog near the river bank today.' },
    { id: 'delta', text: '' },
  ]
  let idx: AttributionIndex
  beforeAll(async () => {
    await buildIndex(docs, join(root, 'trace'), { workers: 1 })
    idx = openIndex(join(root, 'trace'))
  })
  afterAll(() => idx.close())

  it('finds maximal spans with character offsets and credits the earliest document', () => {
    const out = 'Yesterday the quick brown fox jumps over the lazy dog, and soil, tomatoes and patient watering schedules matter.'
    const t = idx.trace(out, { minSpanTokens: 4 })
    expect(t.outputTokens).toBe(tokenize(out).length)
    expect(t.spans.map((s) => s.text)).toEqual(['the quick brown fox jumps over the lazy dog', 'soil, tomatoes and patient watering schedules'])
    const [s1, s2] = t.spans
    expect(out.slice(s1.start, s1.end)).toBe(s1.text)
    expect(s1.tokens).toBe(9)
    expect(s1.count).toBe(2)
    expect(s1.docs).toEqual(['alpha', 'gamma'])
    expect(s1.creditedTo).toBe('alpha')
    expect(s2.docs).toEqual(['beta'])
    expect(s2.tokens).toBe(7)
  })

  it('attribute: coverage and largest-remainder weights in basis points', () => {
    const out = 'Yesterday the quick brown fox jumps over the lazy dog, and soil, tomatoes and patient watering schedules matter.'
    const a = idx.attribute(out, { minSpanTokens: 4 })
    const n = tokenize(out).length // 22
    expect(a.outputTokens).toBe(n)
    expect(a.coverageBps).toBe(Math.floor((16 * 10000) / n))
    // 9 tokens to alpha, 7 to beta: 5625 / 4375
    expect(a.weights).toEqual([
      { doc: 'alpha', bps: 5625 },
      { doc: 'beta', bps: 4375 },
    ])
    expect(Object.keys(a)).toEqual(['method', 'outputTokens', 'coverageBps', 'spans', 'weights'])
    expect(Object.keys(a.spans[0])).toEqual(['start', 'end', 'text', 'tokens', 'count', 'docs', 'creditedTo'])
    expect(a.method).toContain('tokenizer=sinew-tok/1')
    expect(a.method).toContain(`index=${idx.info.indexId}`)
    expect(a.method).toContain('minSpanTokens=4')
    expect(JSON.stringify(idx.attribute(out, { minSpanTokens: 4 }))).toBe(JSON.stringify(a))
  })

  it('maxSpanCount drops spans that occur too often; nothing traced -> zero coverage, no weights', () => {
    const out = 'the quick brown fox jumps over the lazy dog'
    expect(idx.trace(out, { minSpanTokens: 4, maxSpanCount: 1 }).spans).toEqual([])
    const a = idx.attribute('nothing here matches at all zzz', { minSpanTokens: 2 })
    expect(a.coverageBps).toBe(0)
    expect(a.weights).toEqual([])
    expect(idx.attribute('').outputTokens).toBe(0)
  })

  it('rejects bad options with a specific error', () => {
    expect(() => idx.trace('x', { minSpanTokens: 0 })).toThrow(/minSpanTokens/)
    expect(() => idx.trace('x', { maxSpanCount: 1.5 })).toThrow(/maxSpanCount/)
  })
})

describe('generate', () => {
  let idx: AttributionIndex
  beforeAll(async () => {
    const docs = randomCorpus(3, 40, 200).map((d, i) => ({ id: d.id, text: `Sentence ${i} begins. ` + d.text + '.' }))
    await buildIndex(docs, join(root, 'gen'), { workers: 0 })
    idx = openIndex(join(root, 'gen'))
  })
  afterAll(() => idx.close())

  it('is deterministic for a seed and differs across seeds', () => {
    for (const temperature of [1, 0.7, 1.5, 0]) {
      const a = idx.generate('the cat', { maxTokens: 40, seed: 42, temperature })
      const b = idx.generate('the cat', { maxTokens: 40, seed: 42n, temperature })
      expect(a).toEqual(b)
      expect(a.tokens).toBeLessThanOrEqual(40)
      if (a.finishReason === 'length') expect(a.tokens).toBe(40)
    }
    const outs = new Set([1, 2, 3, 4, 5].map((seed) => idx.generate('the', { maxTokens: 30, seed }).text))
    expect(outs.size).toBeGreaterThan(1)
  })

  it('produces text whose every generated bigram occurs in the data', () => {
    const g = idx.generate('the dog', { maxTokens: 30, seed: 9 })
    const t = tokenize(g.text).tokens
    for (let i = 0; i + 1 < t.length; i++) expect(idx.count(`${t[i]} ${t[i + 1]}`)).toBeGreaterThan(0)
  })

  it('temperature 0 is greedy and seed-independent', () => {
    expect(idx.generate('the', { maxTokens: 20, seed: 1, temperature: 0 })).toEqual(idx.generate('the', { maxTokens: 20, seed: 2, temperature: 0 }))
  })

  // Receipts name an output by its hash: a seed must give the same text in every release.
  // These were made by the first generator (a fresh suffix search every token).
  it('gives the text it always gave for a seed, in one shard and in several', async () => {
    const docs = randomCorpus(3, 40, 200).map((d, i) => ({ id: d.id, text: `Sentence ${i} begins. ` + d.text + '.' }))
    await buildIndex(docs, join(root, 'gen-sharded'), { workers: 0, shardTokens: 300 })
    const sharded = openIndex(join(root, 'gen-sharded'))
    const pinned: [AttributionIndex, number, number, string][] = [
      [idx, 1, 1, '245 stop 07055211fa49b755'],
      [idx, 1, 2, '202 stop a67814f20b54c4d9'],
      [idx, 0.7, 1, '159 stop f1ba74e2d0a09cc5'],
      [idx, 0, 1, '69 stop 5f08a34f510e5e9f'],
      [sharded, 1, 1, '119 stop b30679565e23c7d7'],
      [sharded, 1, 2, '126 stop 060a903e02f41d0d'],
      [sharded, 0.7, 2, '61 stop 6d7a83c4492dea8b'],
    ]
    for (const [index, temperature, seed, want] of pinned) {
      const g = index.generate('the cat', { maxTokens: 500, seed, temperature })
      expect(`${g.tokens} ${g.finishReason} ${createHash('sha256').update(g.text).digest('hex').slice(0, 16)}`).toBe(want)
      // Streamed, the pieces make the same text.
      const pieces = [...index.generateText('the cat', { maxTokens: 500, seed, temperature })]
      expect(pieces.join('')).toBe(g.text)
    }
    sharded.close()
  })
})

describe('oversized documents', () => {
  it('are cut across shards; each piece is searchable and attributed to the document', async () => {
    const text = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')
    const info = await buildIndex(
      [
        { id: 'big', text },
        { id: 'small', text: 'w5 w6 w7' },
      ],
      join(root, 'cut'),
      { workers: 0, shardTokens: 40 },
    )
    expect(info.shards).toBe(3)
    expect(info.positions).toBe(100 + 3 + 2 + 2) // two cut separators + one per document
    const idx = openIndex(join(root, 'cut'))
    expect(idx.count('w1 w2 w3')).toBe(1)
    expect(idx.count('w50 w51')).toBe(1)
    expect(idx.count('w5 w6 w7')).toBe(2)
    expect(idx.find('w90').matches[0]).toMatchObject({ doc: 'big' })
    idx.verify()
    idx.close()
  })
})

describe('determinism', () => {
  it('two builds give identical bytes (inline and with workers)', async () => {
    const docs = randomCorpus(11, 50, 300)
    const a = await buildIndex(docs, join(root, 'det-a'), { workers: 0, shardTokens: 1000 })
    const b = await buildIndex(docs, join(root, 'det-b'), { workers: 2, shardTokens: 1000 })
    expect(a.indexId).toBe(b.indexId)
    for (const f of ['index.sinew', 'docs.bin', 'vocab.bin', 'shard-0000.tok', 'shard-0000.sa', 'shard-0003.sa']) {
      expect(readFileSync(join(root, 'det-a', f)).equals(readFileSync(join(root, 'det-b', f)))).toBe(true)
    }
  })
})
