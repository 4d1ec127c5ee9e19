import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildIndex, openIndex, type AttributionIndex } from '../attribution/index.ts'
import { builtinBackend } from './backends.ts'
import { LONG_DOC, LONG_DOC_PROMPT as PROMPT } from './fixtures.ts'

let root: string
let index: AttributionIndex
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sinew-builtin-'))
  await buildIndex(
    [
      { id: 'long', text: LONG_DOC },
      { id: 'short', text: 'Copper kettles hummed in the bakery. "Don\'t," said I.' },
    ],
    join(root, 'index'),
    { workers: 0 },
  )
  index = openIndex(join(root, 'index'))
})
afterAll(() => {
  index?.close()
  rmSync(root, { recursive: true, force: true })
})

const request = (o: { prompt: string; maxTokens: number; seed: number; temperature?: number; signal?: AbortSignal }) => ({
  kind: 'completion' as const,
  messages: [],
  prompt: o.prompt,
  maxTokens: o.maxTokens,
  seed: o.seed,
  temperature: o.temperature,
  signal: o.signal ?? new AbortController().signal,
})

describe('builtin:infinigram', () => {
  it('lets the event loop turn while it generates: a timer set when the call starts fires before the last delta', async () => {
    let deltas = 0
    let atTimer = -1
    setTimeout(() => (atTimer = deltas), 0)
    for await (const _ of builtinBackend(index).stream(request({ prompt: PROMPT, maxTokens: 8192, seed: 2 }))) deltas++
    expect(deltas).toBeGreaterThan(2000)
    expect(atTimer).toBeGreaterThanOrEqual(0)
    expect(atTimer).toBeLessThan(deltas)
  })

  it('streams exactly the text generate() makes for the seed, one word per delta', async () => {
    for (const [prompt, seed, temperature, maxTokens] of [
      [PROMPT, 2, 1, 8192],
      [PROMPT, 5, 0.7, 3000],
      ['copper', 1, 0, 50],
      ['"Don\'t', 3, 1.5, 40],
      ['', 9, 1, 100],
    ] as const) {
      const deltas: string[] = []
      for await (const d of builtinBackend(index).stream(request({ prompt, maxTokens, seed, temperature }))) if (typeof d === 'string') deltas.push(d)
      const whole = index.generate(prompt, { maxTokens, seed, temperature })
      expect(deltas.join('')).toBe(whole.text)
      expect(deltas).toEqual(whole.text.match(/\s*\S+/g) ?? [])
    }
  })

  it('stops generating once the caller has gone', async () => {
    const abort = new AbortController()
    let deltas = 0
    for await (const _ of builtinBackend(index).stream(request({ prompt: PROMPT, maxTokens: 8192, seed: 2, signal: abort.signal }))) {
      if (++deltas === 10) abort.abort()
    }
    expect(deltas).toBeLessThan(200)
  })
})
