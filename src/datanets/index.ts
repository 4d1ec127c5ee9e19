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
  publishVersionKind,
  removeCuratorKind,
  reviewKind,
  updateDatanetKind,
  versionRoot,
  type ContributeMessage,
  type CreateDatanetMessage,
  type CuratorMessage,
  type PublishVersionMessage,
  type ReviewMessage,
  type UpdateDatanetMessage,
} from './kinds.ts'
export * from './state.ts'
export { ALL_MEDIA_TYPES, isMediaType, MEDIA_TYPES, mediaTypeFromName, mediaTypeOfPath, type MediaType } from './media.ts'
export { BlobStore, DEFAULT_MAX_BLOB_BYTES, parseSha256, type BlobInfo } from './blobs.ts'
export { BlobFetcher, type BlobFetcherOptions, type BlobFetchFailure, type BlobFetchStatus } from './blob-fetcher.ts'
export { ingest, joinRecords, parseCsv, type Ingested } from './ingest.ts'
export { IndexBuilder, versionRef, type BuildState, type BuildStatus } from './builder.ts'
export { Datanets, NEAR_DUPLICATE_BPS, NEAR_DUPLICATE_MIN_TOKENS, type ContributionView, type DatanetsOptions, type NearDuplicate } from './service.ts'
export { datanetsResolver, datanetIndexProvider, parseVersionRef, versionIndexDir } from './resolver.ts'
export { demoAccounts, demoKey, loadSotu, runDevSeed, seedSotu, SOTU_NAME, SOTU_STAKE, type SeedProgress, type SotuSpeech } from './seed.ts'

/** The one registration point: adds every Datanets tx kind to a node's registry. */
export function registerDatanetKinds(registry: TxKindRegistry): TxKindRegistry {
  return registry.register(...datanetKinds)
}
