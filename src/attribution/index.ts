/**
 * Proof of Attribution engine: canonical tokenizer, sharded suffix-array index, span
 * tracing and integer attribution weights. No dependency on the ledger.
 * Spec: docs/attribution.md.
 */
export { TOKENIZER_VERSION, tokenize, scanTokens, normalizeToken, Vocabulary, type Tokens } from './tokenizer.ts'
export { buildIndex, buildIndexFromPath, DEFAULT_SHARD_TOKENS, type BuildOptions, type BuildProgress, type IndexInfo } from './build.ts'
export { openIndex, type AttributionIndex, type OpenOptions } from './reader.ts'
export {
  METHOD_VERSION,
  DEFAULT_MIN_SPAN_TOKENS,
  DEFAULT_MAX_SPAN_COUNT,
  type Attribution,
  type AttributionSpan,
  type TraceResult,
  type TraceSpan,
  type TraceOptions,
} from './trace.ts'
export type { FindResult } from './find.ts'
export type { InfgramResult, GenerateOptions, GenerateResult } from './infgram.ts'
export type { StorageStats } from './shards.ts'
export type { Doc } from './corpus.ts'
export { FORMAT_VERSION } from './format.ts'
export { suffixArray } from './sais.mjs'
export { detokenize } from './detok.ts'
