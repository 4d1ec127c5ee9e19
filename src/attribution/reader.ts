/**
 * Opening an index: checks the header and the documents and vocabulary files, opens the
 * shards (in memory or paged, src/attribution/shards.ts) and answers queries through the
 * modules that own them: count and find (find.ts), trace and attribute (trace.ts), infgram
 * and generate (infgram.ts), all over the suffix-array search of search.ts.
 */
import { existsSync, readFileSync } from 'node:fs'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { SinewError } from '../core/index.ts'
import type { IndexInfo } from './build.ts'
import { count, type FindResult, find } from './find.ts'
import { DOCS_FILE, decodeDocs, decodeHeader, decodeVocab, HEADER_FILE, type Header, sha256Hex, VOCAB_FILE } from './format.ts'
import { type GenerateOptions, type GenerateResult, generate, generateText, type InfgramResult, infgram } from './infgram.ts'
import { openShards, readWhole, type StorageStats } from './shards.ts'
import { TOKENIZER_VERSION } from './tokenizer.ts'
import { type Attribution, attribute, method, type TraceOptions, type TraceResult, trace } from './trace.ts'
import { type Encoded, encode, makeView } from './view.ts'

export type OpenOptions = {
  /** 'memory' reads shard files whole, 'paged' reads pages on demand; 'auto' picks by size. */
  mode?: 'auto' | 'memory' | 'paged'
  /** Memory budget: 'auto' loads whole when shard files fit; also the page-cache size. Default totalmem/4. */
  cacheBytes?: number
  /** Verify shard checksums when reading shard files whole (memory mode). Default true. */
  checksums?: boolean
}

export type AttributionIndex = {
  info: IndexInfo
  /** Canonical-tokenizes `text` and maps tokens to this index's ids (unknown = vocab size). */
  encode(text: string): { ids: Int32Array; starts: Uint32Array; ends: Uint32Array }
  count(text: string): number
  find(text: string, opts?: { limit?: number }): FindResult
  infgram(prompt: string, opts?: { limit?: number }): InfgramResult
  trace(output: string, opts?: TraceOptions): TraceResult
  attribute(output: string, opts?: TraceOptions): Attribution
  generate(prompt: string, opts?: GenerateOptions): GenerateResult
  /**
   * The same generation as text pieces, each yielded once final (a token's text with its
   * leading space); they concatenate to `generate().text`, which it returns. A step is a few
   * suffix-array searches, so a caller can let other work run between steps.
   */
  generateText(prompt: string, opts?: GenerateOptions): Generator<string, GenerateResult, undefined>
  method(opts?: TraceOptions): string
  /** How shards are held: 'memory' (read whole) or 'paged', and for paged, the page cache. */
  storage(): StorageStats
  verify(): void
  close(): void
}

export function openIndex(dir: string, opts: OpenOptions = {}): AttributionIndex {
  const headerPath = join(dir, HEADER_FILE)
  if (!existsSync(headerPath))
    throw new SinewError({ code: 'not_found', message: `Index not found: ${dir}`, details: { index: dir }, hint: 'Build one with `sinew index build`.' })
  const headerBuf = readFileSync(headerPath)
  const header: Header = decodeHeader(headerBuf, TOKENIZER_VERSION)
  const indexId = sha256Hex(headerBuf)

  const docsBuf = readWhole(join(dir, DOCS_FILE), header.docsBytes, DOCS_FILE, header.docsSha256)
  const vocabBuf = readWhole(join(dir, VOCAB_FILE), header.vocabBytes, VOCAB_FILE, header.vocabSha256)
  const { ids: docIds, starts: docStarts } = decodeDocs(docsBuf, header.documents, header.positions)
  const vocab = decodeVocab(vocabBuf, header.vocabSize)

  const storage = openShards(dir, header, { mode: opts.mode, cacheBytes: opts.cacheBytes ?? Math.floor(totalmem() / 4), checksums: opts.checksums })
  const view = makeView(indexId, storage.shards, docIds, docStarts, vocab)

  const info: IndexInfo = {
    dir,
    formatVersion: header.formatVersion,
    tokenizerVersion: header.tokenizerVersion,
    indexId,
    documents: header.documents,
    tokens: header.tokens,
    positions: header.positions,
    vocab: vocab.length,
    shards: header.shards.length,
    bytesOnDisk: headerBuf.length + docsBuf.length + vocabBuf.length + storage.shardBytes,
  }

  return {
    info,
    encode: (text: string): Encoded => encode(view, text),
    count: (text) => count(view, text),
    find: (text, o) => find(view, text, o),
    infgram: (prompt, o) => infgram(view, prompt, o),
    trace: (output, o) => trace(view, output, o),
    attribute: (output, o) => attribute(view, output, o),
    generate: (prompt, o) => generate(view, prompt, o),
    generateText: (prompt, o) => generateText(view, prompt, o),
    method: (o) => method(indexId, o),
    storage: () => storage.stats(),
    verify: () => storage.verify(view.vocabSize),
    close: () => storage.close(),
  }
}
