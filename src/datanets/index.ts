/**
 * Datanets: signed, curated, versioned data contributions. Tx kinds and their state, the
 * blob store, ingestion into text records, the background index builder of published
 * versions, and the read side. Spec: docs/datanets.md. Public surface of src/datanets.
 */
import type { TxKindRegistry } from '../ledger/index.ts'
import { datanetKinds } from './kinds.ts'

export {
  addCuratorKind,
  contributeKind,
  createDatanetKind,
  datanetKinds,
  excludeContributionKind,
  publishVersionKind,
  removeCuratorKind,
  reviewKind,
  updateDatanetKind,
  versionRoot,
  type ContributeMessage,
  type CreateDatanetMessage,
  type CuratorMessage,
  type ExcludeContributionMessage,
  type PublishVersionMessage,
  type ReviewMessage,
  type UpdateDatanetMessage,
} from './kinds.ts'
export * from './state.ts'
export { ALL_MEDIA_TYPES, isMediaType, MEDIA_TYPES, mediaTypeFromName, mediaTypeOfPath, type MediaType } from './media.ts'
export { BlobStore, blobTooLarge, DEFAULT_MAX_BLOB_BYTES, parseSha256, SHA256_HEX, type BlobInfo } from './blobs.ts'
export { BlobRefIndex, type BlobRef, type BlobReferences, type RefChanges } from './blob-refs.ts'
export {
  BlobUploads,
  UPLOAD_NONCE_WINDOW,
  UPLOAD_PERMIT_HEADER,
  uploadPermitHeader,
  type UploadPolicy,
  type UploadRequest,
  type UploadResult,
  type UploadUsage,
} from './uploads.ts'
export { BLOB_MIN_CHARGE_BYTES, chargeOf, UploadBook, type Claim } from './upload-book.ts'
export { ADMISSION_HOLD_MS, BlobCollector, type BlobGcReport } from './gc.ts'
export { BlobFetcher, type BlobFetcherOptions, type BlobFetchFailure, type BlobFetchStatus } from './blob-fetcher.ts'
export {
  Extractor,
  ingest,
  INGEST_LIMITS,
  INGEST_PARSERS,
  INGEST_RULES,
  INGEST_RULES_VERSION,
  INGEST_TIMEOUT_MS,
  isLocalIngestFailure,
  joinRecords,
  parseCsv,
  type ExtractorStats,
  type IngestOptions,
  type Ingested,
} from './ingest.ts'
export {
  buildCommitment,
  IndexBuilder,
  readDocument,
  versionRef,
  type BuildReport,
  type BuildState,
  type BuildStatus,
  type LeaderBuild,
  type LeaderCheck,
  type SkippedContribution,
} from './builder.ts'
export {
  datanetBlobReferences,
  Datanets,
  DEFAULT_BLOB_GC_GRACE_MS,
  DEFAULT_BLOB_GC_INTERVAL_MS,
  DEFAULT_UPLOAD_POLICY,
  LOCAL_INGEST_FAILURE_TTL_MS,
  NEAR_DUPLICATE_BPS,
  NEAR_DUPLICATE_MIN_TOKENS,
  type BlobState,
  type ContributionView,
  type DatanetsOptions,
  type NearDuplicate,
} from './service.ts'
export { datanetsResolver, datanetIndexProvider, parseVersionRef, versionIndexDir } from './resolver.ts'
export { demoAccounts, demoKey, loadSotu, runDevSeed, seedSotu, SOTU_NAME, SOTU_STAKE, type SeedProgress, type SotuSpeech } from './seed.ts'

/** The one registration point: adds every Datanets tx kind to a node's registry. */
export function registerDatanetKinds(registry: TxKindRegistry): TxKindRegistry {
  return registry.register(...datanetKinds)
}
