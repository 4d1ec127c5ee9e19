/**
 * The built-in ∞-gram model on the node's event loop. Writes bench/results/builtin.json.
 *
 * Over the State of the Union Datanet (the dev node's demo model), each case generates up to
 * 8,192 tokens through `builtinBackend` (what the gateway streams) while the loop's delay is
 * sampled (`monitorEventLoopDelay`, 1 ms resolution) and a 1 ms interval timer counts how often
 * it got to run. Reported per case: time to the first delta, total time, tokens, and the loop
 * delay's p50 / p99 / max. A model that generates on the loop without yielding shows a max
 * delay as long as the whole generation; one that yields shows a few milliseconds.
 * `BENCH_BUILTIN_RUNS` (default 3) repeats each case; figures are medians over the runs.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { buildIndex, openIndex } from '../src/attribution/index.ts'
import { loadSotu } from '../src/datanets/index.ts'
import { builtinBackend } from '../src/gateway/index.ts'
import { median, writeResult } from './lib.ts'

const RUNS = Number(process.env.BENCH_BUILTIN_RUNS ?? 3)
/** Prompts and seeds whose answers run to 8,192 tokens or near it (and one that stops early). */
const CASES = [
  { prompt: 'Fellow citizens', seed: 2 },
  { prompt: 'Fellow citizens', seed: 1 },
  { prompt: 'The state of the Union', seed: 1 },
  { prompt: 'I ask the Congress to', seed: 2 },
]

const dir = mkdtempSync(join(tmpdir(), 'sinew-builtin-bench-'))
try {
  const speeches = await loadSotu()
  await buildIndex(
    speeches.map((s, i) => ({ id: `sotu-${i}`, text: s.text })),
    dir,
    { workers: 1 },
  )
  const index = openIndex(dir)
  const backend = builtinBackend(index)
  const results = []
  for (const c of CASES) {
    const runs: Record<'firstDeltaMs' | 'totalMs' | 'deltas' | 'ticks' | 'loopP50Ms' | 'loopP99Ms' | 'loopMaxMs', number>[] = []
    for (let r = 0; r < RUNS; r++) {
      const h = monitorEventLoopDelay({ resolution: 1 })
      let ticks = 0
      const ticker = setInterval(() => ticks++, 1)
      h.enable()
      const t0 = performance.now()
      let first = 0
      let deltas = 0
      for await (const _ of backend.stream({
        kind: 'completion',
        messages: [],
        prompt: c.prompt,
        maxTokens: 8192,
        seed: c.seed,
        temperature: 1,
        signal: new AbortController().signal,
      })) {
        if (deltas++ === 0) first = performance.now() - t0
      }
      const total = performance.now() - t0
      h.disable()
      clearInterval(ticker)
      runs.push({
        firstDeltaMs: first,
        totalMs: total,
        deltas,
        ticks,
        loopP50Ms: h.percentile(50) / 1e6,
        loopP99Ms: h.percentile(99) / 1e6,
        loopMaxMs: h.max / 1e6,
      })
    }
    const med = (k: keyof (typeof runs)[number]) => Number(median(runs.map((x) => x[k])).toFixed(2))
    const row = {
      ...c,
      maxTokens: 8192,
      words: runs[0].deltas,
      firstDeltaMs: med('firstDeltaMs'),
      totalMs: med('totalMs'),
      intervalTicks: med('ticks'),
      loopDelayMs: { p50: med('loopP50Ms'), p99: med('loopP99Ms'), max: med('loopMaxMs') },
    }
    console.log(JSON.stringify(row))
    results.push(row)
  }
  index.close()
  writeResult('builtin', { runs: RUNS, index: { documents: index.info.documents, tokens: index.info.tokens }, cases: results })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
