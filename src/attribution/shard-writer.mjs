// Builds and writes one shard: the token file and its suffix array, both as little-endian
// fixed-width unsigned integers (see docs/attribution.md). Plain JavaScript so that worker
// threads can load it without a TypeScript loader; types live in shard-writer.d.mts.
import { openSync, writeSync, closeSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { suffixArray } from './sais.mjs'

const CHUNK = 1 << 16 // elements packed per write: bounded scratch memory

/** Bytes needed for unsigned values up to maxValue (2, 3 or 4). */
export function widthFor(maxValue) {
  if (maxValue <= 0xffff) return 2
  if (maxValue <= 0xffffff) return 3
  return 4
}

/** Writes values[0..n) at `width` bytes each to `path`; returns the SHA-256 (hex). */
export function writePacked(path, values, n, width) {
  const hash = createHash('sha256')
  const fd = openSync(path, 'w')
  try {
    const buf = Buffer.allocUnsafe(CHUNK * width)
    for (let start = 0; start < n; start += CHUNK) {
      const end = Math.min(n, start + CHUNK)
      let o = 0
      if (width === 2) {
        for (let i = start; i < end; i++, o += 2) {
          const v = values[i]
          buf[o] = v & 0xff
          buf[o + 1] = (v >>> 8) & 0xff
        }
      } else if (width === 3) {
        for (let i = start; i < end; i++, o += 3) {
          const v = values[i]
          buf[o] = v & 0xff
          buf[o + 1] = (v >>> 8) & 0xff
          buf[o + 2] = (v >>> 16) & 0xff
        }
      } else {
        for (let i = start; i < end; i++, o += 4) buf.writeUInt32LE(values[i] >>> 0, o)
      }
      const chunk = o === buf.length ? buf : buf.subarray(0, o)
      hash.update(chunk)
      let off = 0
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off)
    }
  } finally {
    closeSync(fd)
  }
  return hash.digest('hex')
}

/**
 * job: { tokens: Int32Array, n, k, tokPath, saPath }
 * returns { n, tokWidth, saWidth, tokSha256, saSha256, saMs, saStart, saEnd }
 * (saStart/saEnd: wall-clock time of the SA-IS call in ms since the epoch, comparable
 * across threads, so the builder can tell how long any sorting was under way)
 */
export function buildShard(job) {
  const { tokens, n, k, tokPath, saPath } = job
  const tokWidth = widthFor(k - 1)
  const saWidth = widthFor(Math.max(0, n - 1)) === 4 ? 4 : 3
  const tokSha256 = writePacked(tokPath, tokens, n, tokWidth)
  const t0 = performance.now()
  const sa = suffixArray(tokens, n, k)
  const t1 = performance.now()
  const saSha256 = writePacked(saPath, sa, n, saWidth)
  return { n, tokWidth, saWidth, tokSha256, saSha256, saMs: t1 - t0, saStart: performance.timeOrigin + t0, saEnd: performance.timeOrigin + t1 }
}
