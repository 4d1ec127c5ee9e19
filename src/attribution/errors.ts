import { InvalidInputError, SinewError, type SinewErrorOptions } from '../core/index.ts'

/**
 * An index on disk cannot be used: wrong magic, unsupported format or tokenizer version,
 * a truncated file, a checksum mismatch, an out-of-range value. Never answer from it.
 */
export type IndexFormatCode = 'index_corrupt' | 'index_version_unsupported' | 'index_tokenizer_unsupported'

export class IndexFormatError extends SinewError {
  override name = 'IndexFormatError'
  constructor(code: IndexFormatCode, shortMessage: string, options: SinewErrorOptions = {}) {
    super(code, shortMessage, 500, options)
  }
}

/**
 * The corpus given to the builder is unusable: empty, invalid UTF-8, a JSONL line that is
 * not a `{"id", "text"}` object, a duplicate id.
 */
export type CorpusErrorCode =
  | 'empty_corpus'
  | 'invalid_utf8'
  | 'invalid_jsonl'
  | 'missing_document_id'
  | 'missing_document_text'
  | 'duplicate_document_id'
  | 'corpus_not_found'

export class CorpusError extends InvalidInputError {
  override name = 'CorpusError'
  constructor(code: CorpusErrorCode, shortMessage: string, options: SinewErrorOptions = {}) {
    super(shortMessage, { ...options, code })
  }
}
