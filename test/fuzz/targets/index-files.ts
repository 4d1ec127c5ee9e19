/**
 * Target `index`: attribution index files on disk, damaged or crafted, opened by the reader
 * and queried. A small index (two shards) is built once; each case copies it, then damages
 * one file (truncated, bytes flipped, junk spliced in or appended, emptied, deleted, replaced)
 * and either leaves the header as it was (disk damage: checksums should catch it) or
 * re-seals the header over the damaged file (a crafted index: sizes and SHA-256 match, so
 * only the decoders' own checks stand between the bytes and the reader), or rewrites header
 * fields (counts, shard table, value widths) to boundary values and re-seals it. The copy is
 * opened in memory or paged mode, with or without checksums, and queried (count, find, trace,
 * infgram, verify).
 *
 * Checked: whatever the files hold, opening and querying either works or throws a typed
 * SinewError with a catalogued code (index_corrupt and its kin): never a TypeError,
 * RangeError or any other crash.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { isErrorCode, isSinewError } from '../../../src/core/index.ts'
import { buildIndex, openIndex, type AttributionIndex } from '../../../src/attribution/index.ts'
import { decodeHeader, encodeHeader, HEADER_FILE, sha256Hex, type Header } from '../../../src/attribution/format.ts'
import { TOKENIZER_VERSION } from '../../../src/attribution/tokenizer.ts'
import { InvariantViolation, type FuzzTarget } from '../harness.ts'

const WORDS = ['the', 'fox', 'jumps', 'over', 'lazy', 'dog', 'ledger', 'records', 'who', 'did', 'what', 'Über', '日本', '🙂', '.', ',']

/** The corpus: deterministic, about 40 documents of 0-30 words (two shards of at most 300 positions). */
function corpus(): { id: string; text: string }[] {
  let s = 12345
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
  return Array.from({ length: 40 }, (_, i) => ({
    id: `doc-${i}`,
    text: Array.from({ length: Math.floor(next() * 30) }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' '),
  }))
}

type Damage =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; mask: number }
  | { op: 'splice'; at: number; junk: Uint8Array }
  | { op: 'append'; junk: Uint8Array }
  | { op: 'empty' }
  | { op: 'delete' }
  | { op: 'replace'; junk: Uint8Array }

type HeaderEdit = {
  field: 'documents' | 'positions' | 'tokens' | 'vocabSize' | 'docsBytes' | 'vocabBytes' | 'start' | 'n' | 'tokWidth' | 'saWidth'
  shard: number
  value: number
}

export type IndexCase = {
  /** Which file: the header, docs, vocab, or a shard's token or suffix-array file. */
  file: number
  damage: Damage | null
  /** Re-seal the header over the damaged file (its size and SHA-256), as a crafted index would. */
  reseal: boolean
  header: HeaderEdit[]
  mode: 'memory' | 'paged'
  checksums: boolean
  queries: string[]
}

const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })
const junk = fc.uint8Array({ minLength: 1, maxLength: 64 })
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('splice' as const), at, junk }),
  fc.record({ op: fc.constant('append' as const), junk }),
  fc.constant({ op: 'empty' as const }),
  fc.constant({ op: 'delete' as const }),
  fc.record({ op: fc.constant('replace' as const), junk: fc.uint8Array({ minLength: 0, maxLength: 2048 }) }),
)

const U32 = 2 ** 32 - 1
const boundary = fc.constantFrom(0, 1, 2, 3, 5, 255, 256, 0x7fffffff, 0x80000000, 0x1000001, U32, 2 ** 40, Number.MAX_SAFE_INTEGER)
const headerEditArb: fc.Arbitrary<HeaderEdit> = fc.record({
  field: fc.constantFrom('documents', 'positions', 'tokens', 'vocabSize', 'docsBytes', 'vocabBytes', 'start', 'n', 'tokWidth', 'saWidth'),
  shard: fc.nat({ max: 1 }),
  value: fc.oneof(
    boundary,
    fc.integer({ min: -3, max: 3 }).map((d) => -d - 1),
    fc.nat({ max: 2000 }),
  ),
})

export const indexCaseArb = (files: number): fc.Arbitrary<IndexCase> =>
  fc.record({
    file: fc.nat({ max: files - 1 }),
    damage: fc.option(damageArb, { nil: null, freq: 4 }),
    reseal: fc.boolean(),
    header: fc.oneof(
      { weight: 3, arbitrary: fc.constant<HeaderEdit[]>([]) },
      { weight: 2, arbitrary: fc.array(headerEditArb, { minLength: 1, maxLength: 3 }) },
    ),
    mode: fc.constantFrom('memory' as const, 'paged' as const),
    checksums: fc.boolean(),
    queries: fc.array(fc.oneof(fc.constantFrom(...WORDS, 'the fox', 'lazy dog .', 'who did what', ''), fc.string({ unit: 'grapheme', maxLength: 40 })), {
      minLength: 1,
      maxLength: 3,
    }),
  })

export const indexFilesTarget: FuzzTarget<IndexCase> = {
  name: 'index',
  description: 'attribution index files on disk: damaged, crafted with re-sealed headers, or with boundary header fields; opened and queried',
  async setup() {
    const root = mkdtempSync(join(tmpdir(), 'sinew-fuzz-index-'))
    const template = join(root, 'template')
    await buildIndex(corpus(), template, { workers: 0, shardTokens: 300 })
    const files = readdirSync(template).sort()
    const work = join(root, 'case')
    return {
      arbitrary: indexCaseArb(files.length),
      run: async (c) => runIndexCase(template, work, files, c),
      close: async () => rmSync(root, { recursive: true, force: true }),
    }
  },
}

function damaged(bytes: Buffer, d: Damage): Buffer | null {
  const i = Math.floor(d.op === 'truncate' || d.op === 'flip' || d.op === 'splice' ? d.at * bytes.length : 0)
  switch (d.op) {
    case 'truncate':
      return bytes.subarray(0, i)
    case 'flip': {
      const out = Buffer.from(bytes)
      if (out.length > 0) out[i] ^= d.mask
      return out
    }
    case 'splice':
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(d.junk), bytes.subarray(i)])
    case 'append':
      return Buffer.concat([bytes, Buffer.from(d.junk)])
    case 'empty':
      return Buffer.alloc(0)
    case 'delete':
      return null
    case 'replace':
      return Buffer.from(d.junk)
  }
}

/** The header with what a crafted index would change: a file's size and hash, edited fields; sealed. */
function resealed(header: Buffer, file: string, bytes: Buffer | null, edits: HeaderEdit[]): Buffer {
  const h: Header = decodeHeader(header, TOKENIZER_VERSION)
  if (bytes) {
    const shard = /^shard-(\d+)\.(tok|sa)$/.exec(file)
    if (file === 'docs.bin') Object.assign(h, { docsBytes: bytes.length, docsSha256: sha256Hex(bytes) })
    else if (file === 'vocab.bin') Object.assign(h, { vocabBytes: bytes.length, vocabSha256: sha256Hex(bytes) })
    else if (shard) h.shards[Number(shard[1])][shard[2] === 'tok' ? 'tokSha256' : 'saSha256'] = sha256Hex(bytes)
  }
  for (const e of edits) {
    const s = h.shards[e.shard % h.shards.length]
    const u8 = Math.abs(e.value) % 256
    const u32 = Math.min(Math.abs(e.value), U32)
    const u64 = Math.abs(e.value)
    if (e.field === 'tokWidth' || e.field === 'saWidth') s[e.field] = u8
    else if (e.field === 'start' || e.field === 'n') s[e.field] = u64
    else if (e.field === 'vocabSize') h.vocabSize = u32
    else h[e.field] = u64
  }
  return encodeHeader(h)
}

async function runIndexCase(template: string, work: string, files: string[], c: IndexCase): Promise<string> {
  rmSync(work, { recursive: true, force: true })
  cpSync(template, work, { recursive: true })
  const file = files[c.file]
  const path = join(work, file)
  const original = readFileSync(path)
  const bytes = c.damage ? damaged(original, c.damage) : original
  if (bytes === null) unlinkSync(path)
  else writeFileSync(path, bytes)
  // A damaged header is the case itself; re-sealing needs an intact one.
  const headerIntact = file !== HEADER_FILE || c.damage === null
  if (headerIntact && ((c.reseal && file !== HEADER_FILE) || c.header.length > 0)) {
    const header = readFileSync(join(work, HEADER_FILE))
    writeFileSync(join(work, HEADER_FILE), resealed(header, file, c.reseal ? bytes : null, c.header))
  }
  const what = {
    file,
    damage: c.damage && { ...c.damage, junk: undefined },
    reseal: c.reseal,
    header: c.header,
    mode: c.mode,
    checksums: c.checksums,
    queries: c.queries,
  }
  let index: AttributionIndex | undefined
  try {
    index = openIndex(work, { mode: c.mode, checksums: c.checksums })
    for (const q of c.queries) {
      index.count(q)
      index.find(q, { limit: 5 })
      index.trace(q)
      index.infgram(q, { limit: 3 })
    }
    index.verify()
    return `${file}: opened and answered`
  } catch (e) {
    if (isSinewError(e) && isErrorCode(e.code) && e.code !== 'internal') return `${file}: ${e.code}`
    throw new InvariantViolation(`the index reader threw ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`, {
      case: what,
      stack: (e as Error)?.stack?.split('\n').slice(0, 8).join('\n'),
    })
  } finally {
    index?.close()
  }
}
