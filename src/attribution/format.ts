/**
 * On-disk format of an index directory, version 1 (docs/attribution.md has the tables):
 *
 *   index.sinew        header: magic, versions, counts, per-file sizes and SHA-256
 *   docs.bin           document ids and their start positions in the token sequence
 *   vocab.bin          token strings in id order (id 0 = document separator, "")
 *   shard-NNNN.tok     token ids of shard N, little-endian, tokWidth bytes each
 *   shard-NNNN.sa      suffix array of shard N, little-endian, saWidth bytes each
 *
 * The header ends with the SHA-256 of everything before it; it names every other file's
 * size and SHA-256, so the header hash identifies the whole index (it is the index id).
 */
import { createHash } from 'node:crypto'
import { SinewError } from '../core/index.ts'

export const MAGIC = 'SINEWIDX'
export const FORMAT_VERSION = 1
export const HEADER_FILE = 'index.sinew'
export const DOCS_FILE = 'docs.bin'
export const VOCAB_FILE = 'vocab.bin'
const FIXED = 160
const SHARD_ENTRY = 96

export const shardTokFile = (i: number): string => `shard-${String(i).padStart(4, '0')}.tok`
export const shardSaFile = (i: number): string => `shard-${String(i).padStart(4, '0')}.sa`

export type ShardMeta = {
  /** Global position of the shard's first token. */
  start: number
  /** Positions in the shard (tokens + separators). */
  n: number
  tokWidth: number
  saWidth: number
  tokSha256: string
  saSha256: string
}

export type Header = {
  formatVersion: number
  tokenizerVersion: string
  documents: number
  /** Length of the token sequence: text tokens plus one separator per document. */
  positions: number
  /** Text tokens (positions minus separators). */
  tokens: number
  vocabSize: number
  docsBytes: number
  docsSha256: string
  vocabBytes: number
  vocabSha256: string
  shards: ShardMeta[]
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function putU64(buf: Buffer, off: number, v: number): void {
  buf.writeBigUInt64LE(BigInt(v), off)
}

function getU64(buf: Buffer, off: number, what: string): number {
  const v = buf.readBigUInt64LE(off)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} out of range`, { value: v.toString() })
  return Number(v)
}

export function corrupt(message: string, details: Record<string, unknown> = {}): SinewError {
  return new SinewError({ code: 'index_corrupt', message: `index is corrupt: ${message}`, details, hint: 'Rebuild the index with `sinew index build`.' })
}

export function encodeHeader(h: Header): Buffer {
  const size = FIXED + SHARD_ENTRY * h.shards.length + 32
  const buf = Buffer.alloc(size)
  buf.write(MAGIC, 0, 'latin1')
  buf.writeUInt32LE(h.formatVersion, 8)
  buf.writeUInt32LE(size, 12)
  buf.write(h.tokenizerVersion, 16, 32, 'latin1')
  putU64(buf, 48, h.documents)
  putU64(buf, 56, h.positions)
  putU64(buf, 64, h.tokens)
  buf.writeUInt32LE(h.vocabSize, 72)
  buf.writeUInt32LE(h.shards.length, 76)
  putU64(buf, 80, h.docsBytes)
  buf.write(h.docsSha256, 88, 32, 'hex')
  putU64(buf, 120, h.vocabBytes)
  buf.write(h.vocabSha256, 128, 32, 'hex')
  h.shards.forEach((s, i) => {
    const o = FIXED + SHARD_ENTRY * i
    putU64(buf, o, s.start)
    putU64(buf, o + 8, s.n)
    buf.writeUInt8(s.tokWidth, o + 16)
    buf.writeUInt8(s.saWidth, o + 17)
    buf.write(s.tokSha256, o + 24, 32, 'hex')
    buf.write(s.saSha256, o + 56, 32, 'hex')
  })
  buf.write(sha256Hex(buf.subarray(0, size - 32)), size - 32, 32, 'hex')
  return buf
}

export function decodeHeader(buf: Buffer, expectTokenizer: string): Header {
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw corrupt('bad magic (not a sinew index header)', { file: HEADER_FILE })
  }
  const formatVersion = buf.readUInt32LE(8)
  if (formatVersion !== FORMAT_VERSION) {
    throw new SinewError({
      code: 'index_version_unsupported',
      message: `unsupported index format version ${formatVersion}`,
      details: { formatVersion, supported: [FORMAT_VERSION] },
      hint: 'Rebuild the index with this version of sinew.',
    })
  }
  const size = buf.readUInt32LE(12)
  if (size !== buf.length || size < FIXED + 32 || (size - FIXED - 32) % SHARD_ENTRY !== 0) {
    throw corrupt('header is truncated or has trailing bytes', { expected: size, actual: buf.length })
  }
  const want = buf.toString('hex', size - 32, size)
  if (sha256Hex(buf.subarray(0, size - 32)) !== want) throw corrupt('header checksum mismatch', { file: HEADER_FILE })
  const tokenizerVersion = buf.toString('latin1', 16, 48).replace(/\0+$/, '')
  if (tokenizerVersion !== expectTokenizer) {
    throw new SinewError({
      code: 'index_tokenizer_unsupported',
      message: `index was built with tokenizer ${tokenizerVersion}`,
      details: { tokenizerVersion, supported: [expectTokenizer] },
      hint: 'Rebuild the index with this version of sinew.',
    })
  }
  const shardCount = buf.readUInt32LE(76)
  if (FIXED + SHARD_ENTRY * shardCount + 32 !== size) throw corrupt('shard count does not match header size')
  const shards: ShardMeta[] = []
  let pos = 0
  for (let i = 0; i < shardCount; i++) {
    const o = FIXED + SHARD_ENTRY * i
    const s: ShardMeta = {
      start: getU64(buf, o, 'shard start'),
      n: getU64(buf, o + 8, 'shard size'),
      tokWidth: buf.readUInt8(o + 16),
      saWidth: buf.readUInt8(o + 17),
      tokSha256: buf.toString('hex', o + 24, o + 56),
      saSha256: buf.toString('hex', o + 56, o + 88),
    }
    if (s.start !== pos || s.n < 1 || s.n > 0x7fffffff) throw corrupt('shard table is inconsistent', { shard: i })
    if (![2, 3, 4].includes(s.tokWidth) || ![3, 4].includes(s.saWidth)) throw corrupt('bad value width', { shard: i })
    if (s.saWidth === 3 && s.n > 0x1000000) throw corrupt('suffix array width too small', { shard: i })
    pos += s.n
    shards.push(s)
  }
  const h: Header = {
    formatVersion,
    tokenizerVersion,
    documents: getU64(buf, 48, 'documents'),
    positions: getU64(buf, 56, 'positions'),
    tokens: getU64(buf, 64, 'tokens'),
    vocabSize: buf.readUInt32LE(72),
    docsBytes: getU64(buf, 80, 'docs size'),
    docsSha256: buf.toString('hex', 88, 120),
    vocabBytes: getU64(buf, 120, 'vocab size'),
    vocabSha256: buf.toString('hex', 128, 160),
    shards,
  }
  // positions = tokens + one separator per document (+ one per cut of an oversized document)
  if (pos !== h.positions || h.tokens + h.documents > h.positions) {
    throw corrupt('counts are inconsistent', { positions: h.positions, tokens: h.tokens, documents: h.documents })
  }
  return h
}

/** A string of the index files: bytes that are not UTF-8 are a corrupt index (TextDecoder would throw a TypeError). */
function utf8(dec: { decode(bytes: Uint8Array): string }, bytes: Uint8Array, what: string, details: Record<string, unknown>): string {
  try {
    return dec.decode(bytes)
  } catch {
    throw corrupt(`a ${what} is not UTF-8`, details)
  }
}

/** docs.bin: u64 count N; (N+1) u64 start positions; (N+1) u32 byte offsets; UTF-8 ids. */
export function encodeDocs(ids: string[], starts: Float64Array): Buffer {
  const n = ids.length
  const idBufs = ids.map((id) => Buffer.from(id, 'utf8'))
  const blob = idBufs.reduce((a, b) => a + b.length, 0)
  const buf = Buffer.alloc(8 + 8 * (n + 1) + 4 * (n + 1) + blob)
  putU64(buf, 0, n)
  for (let i = 0; i <= n; i++) putU64(buf, 8 + 8 * i, starts[i])
  let off = 0
  const offBase = 8 + 8 * (n + 1)
  const blobBase = offBase + 4 * (n + 1)
  for (let i = 0; i < n; i++) {
    buf.writeUInt32LE(off, offBase + 4 * i)
    idBufs[i].copy(buf, blobBase + off)
    off += idBufs[i].length
  }
  buf.writeUInt32LE(off, offBase + 4 * n)
  return buf
}

export function decodeDocs(buf: Buffer, documents: number, positions: number): { ids: string[]; starts: Float64Array } {
  if (buf.length < 8) throw corrupt('docs file truncated', { file: DOCS_FILE })
  const n = getU64(buf, 0, 'document count')
  const offBase = 8 + 8 * (n + 1)
  const blobBase = offBase + 4 * (n + 1)
  if (n !== documents || buf.length < blobBase) throw corrupt('docs file does not match header', { file: DOCS_FILE })
  const starts = new Float64Array(n + 1)
  for (let i = 0; i <= n; i++) {
    starts[i] = getU64(buf, 8 + 8 * i, 'document start')
    if (i > 0 && starts[i] <= starts[i - 1]) throw corrupt('document starts not increasing', { doc: i })
  }
  if (starts[0] !== 0 || starts[n] !== positions) throw corrupt('document starts do not cover the tokens')
  const ids: string[] = new Array(n)
  const dec = new TextDecoder('utf-8', { fatal: true })
  for (let i = 0; i < n; i++) {
    const a = buf.readUInt32LE(offBase + 4 * i)
    const b = buf.readUInt32LE(offBase + 4 * (i + 1))
    if (b < a || blobBase + b > buf.length) throw corrupt('document id offsets out of range', { doc: i })
    ids[i] = utf8(dec, buf.subarray(blobBase + a, blobBase + b), 'document id', { file: DOCS_FILE, doc: i })
  }
  return { ids, starts }
}

/** vocab.bin: u32 count V; (V+1) u32 byte offsets; UTF-8 token strings in id order. */
export function encodeVocab(strings: string[]): Buffer {
  const bufs = strings.map((s) => Buffer.from(s, 'utf8'))
  const blob = bufs.reduce((a, b) => a + b.length, 0)
  const v = strings.length
  const buf = Buffer.alloc(4 + 4 * (v + 1) + blob)
  buf.writeUInt32LE(v, 0)
  let off = 0
  const blobBase = 4 + 4 * (v + 1)
  for (let i = 0; i < v; i++) {
    buf.writeUInt32LE(off, 4 + 4 * i)
    bufs[i].copy(buf, blobBase + off)
    off += bufs[i].length
  }
  buf.writeUInt32LE(off, 4 + 4 * v)
  return buf
}

export function decodeVocab(buf: Buffer, vocabSize: number): string[] {
  if (buf.length < 4) throw corrupt('vocab file truncated', { file: VOCAB_FILE })
  const v = buf.readUInt32LE(0)
  const blobBase = 4 + 4 * (v + 1)
  if (v !== vocabSize || buf.length < blobBase) throw corrupt('vocab file does not match header', { file: VOCAB_FILE })
  const out: string[] = new Array(v)
  const dec = new TextDecoder('utf-8', { fatal: true })
  for (let i = 0; i < v; i++) {
    const a = buf.readUInt32LE(4 + 4 * i)
    const b = buf.readUInt32LE(8 + 4 * i)
    if (b < a || blobBase + b > buf.length) throw corrupt('vocab offsets out of range', { token: i })
    out[i] = utf8(dec, buf.subarray(blobBase + a, blobBase + b), 'vocab token', { file: VOCAB_FILE, token: i })
  }
  return out
}
