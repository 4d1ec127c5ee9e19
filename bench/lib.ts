/** Shared helpers for benchmarks: statistics and the JSON result files under bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { wireJson } from '../src/core/index.ts'

export const benchDir = dirname(fileURLToPath(import.meta.url))
export const resultsDir = join(benchDir, 'results')

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

export function machine(): Record<string, unknown> {
  return { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem() }
}

/** Writes bench/results/<name>.json and prints a summary line. */
export function writeResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${name}.json`)
  const body = { name, at: new Date().toISOString(), machine: machine(), ...result }
  writeFileSync(file, wireJson(body, 2) + '\n')
  console.log(`[bench] ${name}: results in ${file}`)
  return file
}

/** mulberry32: a small deterministic PRNG (floats in [0, 1)), so a bench or a test run is the same for a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
