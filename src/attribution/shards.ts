/**
 * The shard files of an opened index (token ids and suffix array per shard), held one of
 * two ways behind the same `IntArray` reads: in memory (each file read whole, checksummed)
 * or paged (positioned reads of small pages under one bounded cache, nothing read at open).
 * Queries see only `Shard`; the mode shows in `stats()`.
 */
import { createHash } from 'node:crypto'
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { corrupt, type Header, sha256Hex, shardSaFile, shardTokFile } from './format.ts'
import { type IntArray, memoryArray, PageBudget, PagedArray } from './store.ts'

/** One shard: positions [start, start + n) of the token sequence, its token ids and suffix array. */
export type Shard = { start: number; n: number; tok: IntArray; sa: IntArray }

export type StorageStats = {
  mode: 'memory' | 'paged'
  /** Bytes of shard files (token ids and suffix arrays). */
  shardBytes: number
  /** Paged mode: bytes of pages held now (at most the cache budget plus one page). */
  cachedBytes: number
  /** Bytes of shard files read so far: all of them in memory mode, pages read in paged mode. */
  bytesRead: number
  cacheBytes: number
}

export type ShardStorage = {
  shards: Shard[]
  /** Bytes of all shard files. */
  shardBytes: number
  stats(): StorageStats
  /** Re-hashes every shard file; checks every token id is below `vocabSize` and every suffix-array entry in range. */
  verify(vocabSize: number): void
  close(): void
}

export type ShardOptions = { mode?: 'auto' | 'memory' | 'paged'; cacheBytes: number; checksums?: boolean }

/** Suffix-array entry i of a shard, range-checked (a corrupt entry must not send a search out of the shard). */
export function saAt(sh: Shard, i: number): number {
  const p = sh.sa.get(i)
  if (p >= sh.n) throw corrupt('suffix array entry out of range', { shard: sh.start })
  return p
}

/** Opens every shard of `header` in memory or paged mode ('auto': memory when the files fit in `cacheBytes`). */
export function openShards(dir: string, header: Header, opts: ShardOptions): ShardStorage {
  const shardBytes = header.shards.reduce((a, s) => a + s.n * (s.tokWidth + s.saWidth), 0)
  const mode = opts.mode === 'memory' || opts.mode === 'paged' ? opts.mode : shardBytes <= opts.cacheBytes ? 'memory' : 'paged'
  const budget = new PageBudget(Math.max(1 << 20, opts.cacheBytes))
  const paged: PagedArray[] = []
  const close = (): void => {
    for (const p of paged) p.close()
  }
  // One shard file as an array: read whole (and checksummed) or paged in on demand.
  const array = (file: string, width: number, n: number, sha256: string): IntArray => {
    const path = join(dir, file)
    if (mode === 'memory') return memoryArray(readWhole(path, n * width, file, opts.checksums === false ? undefined : sha256), width, n)
    checkSize(path, n * width, file)
    const a = new PagedArray(path, width, n, budget)
    paged.push(a)
    return a
  }
  let shards: Shard[]
  try {
    shards = header.shards.map((s, i) => ({
      start: s.start,
      n: s.n,
      tok: array(shardTokFile(i), s.tokWidth, s.n, s.tokSha256),
      sa: array(shardSaFile(i), s.saWidth, s.n, s.saSha256),
    }))
  } catch (err) {
    close() // a bad shard further on must not leave the files opened so far open
    throw err
  }

  const stats = (): StorageStats =>
    mode === 'memory'
      ? { mode, shardBytes, cachedBytes: shardBytes, bytesRead: shardBytes, cacheBytes: budget.maxBytes }
      : { mode, shardBytes, cachedBytes: budget.bytes, bytesRead: budget.bytesRead, cacheBytes: budget.maxBytes }

  const verify = (vocabSize: number): void => {
    header.shards.forEach((s, i) => {
      for (const [file, width, want] of [
        [shardTokFile(i), s.tokWidth, s.tokSha256],
        [shardSaFile(i), s.saWidth, s.saSha256],
      ] as const) {
        const path = join(dir, file)
        checkSize(path, s.n * width, file)
        if (hashFile(path) !== want) throw corrupt('checksum mismatch', { file })
      }
    })
    // Structural checks that checksums cannot give: ids and positions in range.
    for (const sh of shards) {
      for (let j = 0; j < sh.n; j++) {
        if (sh.tok.get(j) >= vocabSize) throw corrupt('token id out of range', { shard: sh.start, position: j })
        saAt(sh, j)
      }
      if (sh.tok.get(sh.n - 1) !== 0) throw corrupt('shard does not end with a separator', { shard: sh.start })
    }
  }

  return { shards, shardBytes, stats, verify, close }
}

/** Reads a whole file of `expected` bytes; with `sha256`, checks its hash too. */
export function readWhole(path: string, expected: number, file: string, sha256?: string): Buffer {
  checkSize(path, expected, file)
  const buf = readFileSync(path)
  // The file may change between the two calls; never index past what was read.
  if (buf.length !== expected) throw corrupt(`file ${file} has the wrong size (truncated?)`, { file, expected, actual: buf.length })
  if (sha256 !== undefined && sha256Hex(buf) !== sha256) throw corrupt('checksum mismatch', { file })
  return buf
}

function checkSize(path: string, expected: number, file: string): void {
  let size: number
  try {
    size = statSync(path).size
  } catch {
    throw corrupt(`missing file ${file}`, { file })
  }
  if (size !== expected) throw corrupt(`file ${file} has the wrong size (truncated?)`, { file, expected, actual: size })
}

function hashFile(path: string): string {
  const h = createHash('sha256')
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(8 << 20)
    for (;;) {
      const r = readSync(fd, buf, 0, buf.length, null)
      if (r === 0) break
      h.update(buf.subarray(0, r))
    }
  } finally {
    closeSync(fd)
  }
  return h.digest('hex')
}
