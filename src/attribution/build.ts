/**
 * Index builder. The main thread streams documents, tokenizes them (ids are assigned in
 * order of first appearance, so they depend only on the input order) and cuts the token
 * sequence into shards; worker threads build each shard's suffix array (SA-IS) and write
 * its files. At most `workers` shards are in flight, which bounds memory.
 */
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SinewError } from '../core/index.ts'
import { checkDoc, openSource, type Doc } from './corpus.ts'
import { scanTokens, TOKENIZER_VERSION, Vocabulary } from './tokenizer.ts'
import { buildShard } from './shard-writer.mjs'
import type { ShardJob, ShardResult } from './shard-writer.mjs'
import {
  DOCS_FILE,
  encodeDocs,
  encodeHeader,
  encodeVocab,
  FORMAT_VERSION,
  HEADER_FILE,
  sha256Hex,
  shardSaFile,
  shardTokFile,
  VOCAB_FILE,
  type Header,
  type ShardMeta,
} from './format.ts'

export type BuildProgress = { phase: string; done: number; total: number }

export type BuildOptions = {
  /** Worker threads for suffix arrays; 0 builds on the calling thread. Default: all cores. */
  workers?: number
  /** Maximum positions per shard (tokens + separators). Default 2^23 (DEFAULT_SHARD_TOKENS); at most 2^24 keeps SA entries at 3 bytes. */
  shardTokens?: number
  onProgress?: (p: BuildProgress) => void
}

export type IndexInfo = {
  dir: string
  formatVersion: number
  tokenizerVersion: string
  /** SHA-256 of the header file; the header carries every other file's hash. */
  indexId: string
  documents: number
  /** Text tokens. */
  tokens: number
  /** Token sequence length: tokens plus separators. */
  positions: number
  vocab: number
  shards: number
  bytesOnDisk: number
  /**
   * Build only: milliseconds spent in SA-IS, summed over all shards (thread time: with two
   * workers sorting at once this can exceed the wall-clock time).
   */
  saMs?: number
  /** Build only: wall-clock milliseconds during which at least one shard was being sorted. */
  saWallMs?: number
}

export const DEFAULT_SHARD_TOKENS = 1 << 23

type Pool = {
  run(job: ShardJob): Promise<ShardResult>
  close(): Promise<void>
}

function inlinePool(): Pool {
  return { run: async (job) => buildShard(job), close: async () => {} }
}

function workerPool(size: number): Pool {
  const idle: Worker[] = []
  const all: Worker[] = []
  const waiting: ((w: Worker) => void)[] = []
  let nextId = 0
  const acquire = (): Promise<Worker> => {
    const w = idle.pop()
    if (w) return Promise.resolve(w)
    if (all.length < size) {
      // Plain .mjs entry and no inherited loader flags: runs the same under node, tsx, vitest.
      const nw = new Worker(new URL('./shard-worker.mjs', import.meta.url), { execArgv: [] })
      nw.unref()
      all.push(nw)
      return Promise.resolve(nw)
    }
    return new Promise((resolve) => waiting.push(resolve))
  }
  const release = (w: Worker): void => {
    const next = waiting.shift()
    if (next) next(w)
    else idle.push(w)
  }
  return {
    async run(job) {
      const w = await acquire()
      const id = nextId++
      try {
        return await new Promise<ShardResult>((resolve, reject) => {
          const onMessage = (m: { id: number; ok: boolean; result?: ShardResult; error?: { message: string } }): void => {
            if (m.id !== id) return
            cleanup()
            if (m.ok) resolve(m.result!)
            else reject(new Error(`shard build failed: ${m.error?.message}`))
          }
          const onError = (err: Error): void => {
            cleanup()
            reject(err)
          }
          const onExit = (code: number): void => {
            cleanup()
            reject(new Error(`shard worker exited with code ${code}`))
          }
          const cleanup = (): void => {
            w.off('message', onMessage)
            w.off('error', onError)
            w.off('exit', onExit)
          }
          w.on('message', onMessage)
          w.on('error', onError)
          w.on('exit', onExit)
          w.postMessage({ ...job, id }, [job.tokens.buffer as ArrayBuffer])
        })
      } finally {
        release(w)
      }
    },
    async close() {
      await Promise.all(all.map((w) => w.terminate()))
    },
  }
}

/** Total length of the union of [start, end) intervals. */
function unionMs(intervals: [number, number][]): number {
  intervals.sort((a, b) => a[0] - b[0])
  let total = 0
  let from = -Infinity
  let to = -Infinity
  for (const [s, e] of intervals) {
    if (s > to) {
      if (to > from) total += to - from
      from = s
      to = e
    } else if (e > to) {
      to = e
    }
  }
  if (to > from) total += to - from
  return total
}

async function clearIndexFiles(dir: string): Promise<void> {
  let names: string[] = []
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  // The header goes first: a half-replaced index must not open.
  const ours = names.filter((n) => n === HEADER_FILE || n === DOCS_FILE || n === VOCAB_FILE || /^shard-\d{4,}\.(tok|sa)$/.test(n))
  ours.sort((a, b) => (a === HEADER_FILE ? -1 : b === HEADER_FILE ? 1 : 0))
  for (const n of ours) await rm(join(dir, n), { force: true })
}

async function* iterate(docs: AsyncIterable<Doc> | Iterable<Doc>): AsyncGenerator<Doc> {
  yield* docs as AsyncIterable<Doc>
}

/**
 * Builds an index of `docs` (in this order: the order defines "earliest document") into
 * `outDir`. Replaces an index already there.
 */
export async function buildIndex(docs: AsyncIterable<Doc> | Iterable<Doc>, outDir: string, opts: BuildOptions = {}): Promise<IndexInfo> {
  return buildFrom(iterate(docs), outDir, opts)
}

/** Builds from a .jsonl file or a directory of .txt/.md files. */
export async function buildIndexFromPath(input: string, outDir: string, opts: BuildOptions = {}): Promise<IndexInfo> {
  const src = await openSource(input)
  return buildFrom(src.docs, outDir, opts, () => ({ done: src.bytesRead(), total: src.totalBytes }))
}

async function buildFrom(docs: AsyncIterable<Doc>, outDir: string, opts: BuildOptions, bytes?: () => { done: number; total: number }): Promise<IndexInfo> {
  const shardTokens = opts.shardTokens ?? DEFAULT_SHARD_TOKENS
  if (!Number.isInteger(shardTokens) || shardTokens < 2 || shardTokens > 1 << 30) {
    throw new SinewError({ code: 'invalid_field', message: 'shardTokens must be an integer in [2, 2^30]', details: { shardTokens } })
  }
  const workers = opts.workers ?? availableParallelism()
  if (!Number.isInteger(workers) || workers < 0) {
    throw new SinewError({ code: 'invalid_field', message: 'workers must be a non-negative integer', details: { workers } })
  }
  const progress = opts.onProgress ?? (() => {})
  await mkdir(outDir, { recursive: true })
  await clearIndexFiles(outDir)

  const pool = workers === 0 ? inlinePool() : workerPool(workers)
  const vocab = new Vocabulary()
  const ids: string[] = []
  const seen = new Set<string>()
  let starts = new Float64Array(1024)
  let textTokens = 0
  let global = 0 // positions emitted so far (all shards)

  // Current shard buffer, grown by doubling up to shardTokens.
  let cur = new Int32Array(Math.min(shardTokens, 1 << 16))
  let curN = 0
  const pending: Promise<ShardResult>[] = []
  let shardsDone = 0
  const inflight = new Set<Promise<unknown>>()
  const maxInflight = Math.max(1, workers)

  const ensure = (need: number): void => {
    if (need <= cur.length) return
    let size = cur.length
    while (size < need) size *= 2
    const next = new Int32Array(Math.min(size, shardTokens))
    next.set(cur.subarray(0, curN))
    cur = next
  }

  const flush = async (): Promise<void> => {
    if (curN === 0) return
    while (inflight.size >= maxInflight) await Promise.race(inflight)
    global += curN
    const index = pending.length
    const job: ShardJob = {
      tokens: cur,
      n: curN,
      k: vocab.size,
      tokPath: join(outDir, shardTokFile(index)),
      saPath: join(outDir, shardSaFile(index)),
    }
    const submitted = performance.now()
    const p = pool.run(job)
    if (process.env.SINEW_ATTR_DEBUG) {
      void p.then((r) =>
        console.error(
          `[build] shard ${index} n=${r.n} submitted ${(submitted / 1000).toFixed(1)}s done ${(performance.now() / 1000).toFixed(1)}s sa ${(r.saMs / 1000).toFixed(1)}s`,
        ),
      )
    }
    pending.push(p)
    const tracked = p.then(
      () => {
        shardsDone++
        progress({ phase: 'sort', done: shardsDone, total: pending.length })
      },
      () => {},
    )
    inflight.add(tracked)
    void tracked.finally(() => inflight.delete(tracked))
    cur = new Int32Array(Math.min(shardTokens, 1 << 16))
    curN = 0
  }

  // Scratch for one document's ids (documents are copied in pieces if they overflow).
  let scratch = new Int32Array(1 << 16)
  let scratchN = 0
  let text = ''
  const onToken = (s: number, e: number, plain: boolean): void => {
    if (scratchN === scratch.length) {
      const next = new Int32Array(scratch.length * 2)
      next.set(scratch)
      scratch = next
    }
    scratch[scratchN++] = vocab.idOf(text, s, e, plain)
  }

  let lastReport = 0
  try {
    let docIndex = 0
    for await (const raw of docs) {
      const doc = checkDoc(raw, `document ${docIndex}`, { index: docIndex })
      if (seen.has(doc.id)) {
        throw new SinewError({ code: 'duplicate_document_id', message: `duplicate document id: ${doc.id}`, details: { id: doc.id, index: docIndex } })
      }
      seen.add(doc.id)
      text = doc.text
      scratchN = 0
      scanTokens(text, onToken)
      text = ''
      if (ids.length + 1 >= starts.length) {
        const next = new Float64Array(starts.length * 2)
        next.set(starts)
        starts = next
      }
      ids.push(doc.id)
      textTokens += scratchN
      // Keep a document in one shard unless it alone is larger than a shard.
      if (curN > 0 && curN + scratchN + 1 > shardTokens) await flush()
      starts[ids.length - 1] = global + curN
      let off = 0
      while (off < scratchN) {
        if (curN + 1 >= shardTokens) {
          // Cut an oversized document: the shard still ends with a separator.
          ensure(curN + 1)
          cur[curN++] = 0
          await flush()
        }
        const take = Math.min(scratchN - off, shardTokens - 1 - curN)
        ensure(curN + take)
        cur.set(scratch.subarray(off, off + take), curN)
        curN += take
        off += take
      }
      ensure(curN + 1)
      cur[curN++] = 0 // document separator
      if (curN === shardTokens) {
        await flush()
      }
      docIndex++
      const now = Date.now()
      if (now - lastReport > 100) {
        lastReport = now
        const b = bytes?.()
        progress(b && b.total > 0 ? { phase: 'tokenize', done: b.done, total: b.total } : { phase: 'tokenize', done: ids.length, total: 0 })
      }
    }
    if (ids.length === 0) {
      throw new SinewError({ code: 'empty_corpus', message: 'the corpus has no documents', hint: 'Give at least one document with text.' })
    }
    if (textTokens === 0) {
      throw new SinewError({ code: 'empty_corpus', message: 'the corpus has no tokens (every document is empty)', details: { documents: ids.length } })
    }
    await flush()
    const results = await Promise.all(pending)

    progress({ phase: 'write', done: 0, total: 1 })
    starts[ids.length] = global
    const docsBuf = encodeDocs(ids, starts.subarray(0, ids.length + 1))
    const vocabBuf = encodeVocab(vocab.strings)
    await writeFile(join(outDir, DOCS_FILE), docsBuf)
    await writeFile(join(outDir, VOCAB_FILE), vocabBuf)
    let pos = 0
    const shards: ShardMeta[] = results.map((r) => {
      const m: ShardMeta = { start: pos, n: r.n, tokWidth: r.tokWidth, saWidth: r.saWidth, tokSha256: r.tokSha256, saSha256: r.saSha256 }
      pos += r.n
      return m
    })
    const header: Header = {
      formatVersion: FORMAT_VERSION,
      tokenizerVersion: TOKENIZER_VERSION,
      documents: ids.length,
      positions: global,
      tokens: textTokens,
      vocabSize: vocab.size,
      docsBytes: docsBuf.length,
      docsSha256: sha256Hex(docsBuf),
      vocabBytes: vocabBuf.length,
      vocabSha256: sha256Hex(vocabBuf),
      shards,
    }
    const headerBuf = encodeHeader(header)
    await writeFile(join(outDir, HEADER_FILE), headerBuf)
    progress({ phase: 'write', done: 1, total: 1 })
    const bytesOnDisk = headerBuf.length + docsBuf.length + vocabBuf.length + shards.reduce((a, s) => a + s.n * (s.tokWidth + s.saWidth), 0)
    return {
      dir: outDir,
      formatVersion: FORMAT_VERSION,
      tokenizerVersion: TOKENIZER_VERSION,
      indexId: sha256Hex(headerBuf),
      documents: ids.length,
      tokens: textTokens,
      positions: global,
      vocab: vocab.size,
      shards: shards.length,
      bytesOnDisk,
      saMs: Math.round(results.reduce((a, r) => a + r.saMs, 0)),
      saWallMs: Math.round(unionMs(results.map((r) => [r.saStart, r.saEnd]))),
    }
  } catch (err) {
    await Promise.allSettled(pending)
    await clearIndexFiles(outDir).catch(() => {})
    throw err
  } finally {
    await pool.close()
  }
}
