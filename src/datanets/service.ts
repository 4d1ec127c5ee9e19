/**
 * The Datanets service of a node: blob store, ingestion, pre-submit checks of
 * contributions, the background index builder, and the read side (lists, versions, search,
 * contributor stats, near-duplicate flags). Reads come from the committed ledger state;
 * nothing here writes ledger state except through signed txs.
 *
 * On a replica (`blobSource`, the leader's URL) the blobs come from the leader: each
 * Contribute the replica applies queues its blob in a BlobFetcher, start-up queues any
 * pending or accepted contribution's blob still missing, and the index builder waits for
 * blobs on their way instead of failing a version with missing_blob.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { openIndex, tokenize, type AttributionIndex } from '../attribution/index.ts'
import { isHex, isSinewError, SinewError, type ErrorCode, type Hex, type Logger } from '../core/index.ts'
import type { LedgerNode, SignedTx, StateReader, TxAck } from '../ledger/index.ts'
import { BlobFetcher, type BlobFetchStatus } from './blob-fetcher.ts'
import { BlobStore, DEFAULT_MAX_BLOB_BYTES, sizeMismatch, type BlobInfo } from './blobs.ts'
import { IndexBuilder, readDocument, type BuildStatus } from './builder.ts'
import { collectBlobs, scheduleGc, type BlobGcReport } from './gc.ts'
import { ingest, INGEST_RULES_VERSION, isLocalIngestCode, isLocalIngestFailure, joinRecords } from './ingest.ts'
import type { ContributeMessage } from './kinds.ts'
import { isMediaType } from './media.ts'
import { BlobUploads, UploadLog, type BlobReferences, type ScannableState, type UploadPolicy, type UploadRequest } from './uploads.ts'
import {
  acceptedKey,
  authorSeqKey,
  contributionSeqKey,
  datanetCount,
  datanetIdByName,
  datanetIndexKey,
  getAuthorStats,
  getContribution,
  getDatanet,
  getVersion,
  readJson,
  type AuthorStats,
  type ContributionRecord,
  type ContributionStatus,
  type DatanetRecord,
  type VersionRecord,
} from './state.ts'

/** A pending contribution is flagged when at least this share of its tokens is covered by accepted data. */
export const NEAR_DUPLICATE_BPS = 9000
/** Spans shorter than this (tokens) do not count as copied. */
export const NEAR_DUPLICATE_MIN_TOKENS = 8

export type NearDuplicate = {
  flagged: boolean
  coverageBps: number
  tokens: number
  /** Accepted contributions that cover parts of it, most tokens first. */
  overlaps: { contribution: Hex; author: string; title: string; tokens: number }[]
  /** What it was compared with: the latest ready version and the accepted contributions after it. */
  against: { version: number | null; unpublished: number }
}

/**
 * What this node can tell of a contribution's blob: here and ingesting (`present`), not here
 * (`missing`), here but of another size than declared (`size_mismatch`), here but not
 * ingesting as its media type (`unparseable`). A version build skips the last two.
 */
export type BlobState = 'present' | 'missing' | 'size_mismatch' | 'unparseable'

export type ContributionView = ContributionRecord & {
  blob: BlobState
  /** The blob's size on this node (null when missing): compare with the declared `size`. */
  blobSize: number | null
  records: number | null
  ingestError?: { code: ErrorCode; message: string }
  nearDuplicate?: NearDuplicate
}

export type DatanetsOptions = {
  node: LedgerNode
  dataDir: string
  log: Logger
  maxBlobBytes?: number
  indexWorkers?: number
  /** A replica's leader: blobs this node lacks are fetched from `<blobSource>/v1/blobs/:sha256`. */
  blobSource?: string
  /** Other modules' blob references (task specs and results): their kinds may authorise uploads, their blobs are kept. */
  blobReferences?: BlobReferences[]
  /** Who may upload and how much (defaults: DEFAULT_UPLOAD_POLICY). */
  uploads?: Partial<UploadPolicy>
  /** Unreferenced blobs older than this are collected (default 24 h). */
  blobGcGraceMs?: number
  /** How often garbage collection runs (default 10 min; 0: never in the background). */
  blobGcIntervalMs?: number
  /** The clock of quotas and garbage collection (tests inject one). */
  now?: () => number
}

export const DEFAULT_UPLOAD_POLICY: UploadPolicy = {
  minBalance: 10n ** 18n,
  quotaBytes: 1024 * 1024 * 1024,
  nodeQuotaBytes: 16 * 1024 * 1024 * 1024,
  quotaWindowMs: 24 * 3600_000,
}
export const DEFAULT_BLOB_GC_GRACE_MS = 24 * 3600_000
export const DEFAULT_BLOB_GC_INTERVAL_MS = 10 * 60_000

/** The Datanets module's blob references: a Contribute names its content; pending and accepted contributions keep theirs. */
export const datanetBlobReferences: BlobReferences = {
  kinds: {
    Contribute: (message) => {
      const m = message as ContributeMessage
      return { hash: m.contentHash, size: m.size }
    },
  },
  *live(state) {
    for (const c of liveContributions(state)) yield c.contentHash.slice(2)
  },
}

/** Every pending or accepted contribution of every Datanet: those whose blobs the node keeps. */
function* liveContributions(state: StateReader): Generator<ContributionRecord> {
  const n = datanetCount(state)
  for (let i = 0; i < n; i++) {
    const d = getDatanet(state, readJson<string>(state, datanetIndexKey(i))!)!
    for (let seq = 0; seq < d.counts.contributions; seq++) {
      const c = getContribution(state, readJson<string>(state, contributionSeqKey(d.id, seq))!)!
      if (c.status !== 'rejected') yield c
    }
  }
}

const datanetNotFound = (ref: string) =>
  new SinewError({
    code: 'datanet_not_found',
    message: `Datanet not found: ${ref}`,
    details: { datanet: ref },
    hint: 'Name a Datanet by its id (the hash of its CreateDatanet tx) or its name; GET /v1/datanets lists them.',
  })

export class Datanets {
  readonly blobs: BlobStore
  readonly builder: IndexBuilder
  /** Only on a replica (`blobSource`). */
  readonly fetcher: BlobFetcher | undefined
  readonly uploads: BlobUploads
  private readonly references: BlobReferences[]
  private readonly records = new Map<string, { records: number } | { error: { code: ErrorCode; message: string } }>()
  private readonly indexes = new Map<string, AttributionIndex>()
  private readonly nearDupCache = new Map<string, NearDuplicate>()
  private readonly recordsDir: string
  private readonly uploadLog: UploadLog
  private readonly now: () => number
  private stopGc: (() => void) | undefined

  constructor(private readonly o: DatanetsOptions) {
    this.blobs = new BlobStore(o.dataDir, o.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES)
    this.recordsDir = join(o.dataDir, 'blobs', 'records')
    mkdirSync(this.recordsDir, { recursive: true })
    this.now = o.now ?? Date.now
    this.references = [datanetBlobReferences, ...(o.blobReferences ?? [])]
    const policy = { ...DEFAULT_UPLOAD_POLICY, ...o.uploads }
    this.uploadLog = new UploadLog(join(o.dataDir, 'blobs', 'uploads.jsonl'), policy.quotaWindowMs)
    this.uploads = new BlobUploads({
      blobs: this.blobs,
      node: o.node,
      kinds: Object.assign({}, ...this.references.map((r) => r.kinds)),
      policy,
      log: this.uploadLog,
      now: this.now,
    })
    const fetcher = o.blobSource
      ? new BlobFetcher({
          blobs: this.blobs,
          source: o.blobSource,
          log: o.log,
          // A blob that cannot be had is given up once no live (pending or accepted) contribution needs it.
          wanted: (_sha, ids) => ids.length === 0 || ids.some((id) => getContribution(this.state, id)?.status !== 'rejected'),
        })
      : undefined
    this.fetcher = fetcher
    this.builder = new IndexBuilder({
      dataDir: o.dataDir,
      state: () => this.state,
      blobs: this.blobs,
      log: o.log,
      workers: o.indexWorkers,
      onMissingBlobs: fetcher
        ? (missing) => {
            for (const c of missing) fetcher.want(c.contentHash.slice(2), c.id)
          }
        : undefined,
    })
  }

  get node(): LedgerNode {
    return this.o.node
  }

  get state(): StateReader {
    return this.o.node.chain.state
  }

  start(): void {
    if (this.fetcher) {
      this.queueMissingBlobs()
      this.fetcher.start()
    }
    this.builder.start()
    const interval = this.o.blobGcIntervalMs ?? DEFAULT_BLOB_GC_INTERVAL_MS
    if (interval > 0) this.stopGc = scheduleGc(() => this.collectGarbage(), interval, this.o.log)
  }

  async stop(): Promise<void> {
    this.stopGc?.()
    await this.fetcher?.stop()
    await this.builder.stop()
    for (const index of this.indexes.values()) index.close()
    this.indexes.clear()
  }

  // ---- replicas: blobs from the leader ----

  /**
   * A replica calls this after applying a block: the blob of every Contribute in it is
   * queued for fetching (in the background), so it is here before a version needs it.
   */
  blocksApplied(txs: readonly { type: string; hash: Hex; message: unknown }[]): void {
    if (!this.fetcher) return
    for (const tx of txs) {
      if (tx.type !== 'Contribute') continue
      const m = tx.message as ContributeMessage
      this.fetcher.want(m.contentHash.slice(2).toLowerCase(), tx.hash)
    }
  }

  /** Progress of the blob fetches (a replica only). */
  blobFetchStatus(): BlobFetchStatus | undefined {
    return this.fetcher?.status()
  }

  /** At start: every pending or accepted contribution whose blob is missing (a restart lost the queue). */
  private queueMissingBlobs(): void {
    let queued = 0
    for (const c of liveContributions(this.state)) {
      const sha = c.contentHash.slice(2)
      if (this.blobs.has(sha)) continue
      this.fetcher!.want(sha, c.id)
      queued++
    }
    if (queued > 0) this.o.log.info({ blobs: queued, source: this.fetcher!.source }, 'replica: fetching missing blobs from the leader')
  }

  // ---- blobs: uploads, garbage collection ----

  /** PUT /v1/blobs: the permit and quotas checked (uploads.ts), then the bytes stored. */
  upload(source: Readable, req: UploadRequest): Promise<BlobInfo & { created: boolean; account: string }> {
    return this.uploads.put(source, req)
  }

  /** The tx kinds whose signed tx authorises an upload of the blob it names. */
  uploadKinds(): string[] {
    return this.references.flatMap((r) => Object.keys(r.kinds)).sort()
  }

  gcSettings(): { graceMs: number; intervalMs: number } {
    return { graceMs: this.o.blobGcGraceMs ?? DEFAULT_BLOB_GC_GRACE_MS, intervalMs: this.o.blobGcIntervalMs ?? DEFAULT_BLOB_GC_INTERVAL_MS }
  }

  /** The sha256s of every blob a ledger record still refers to. */
  liveBlobs(): Set<string> {
    const state = this.o.node.chain.state as ScannableState
    const live = new Set<string>()
    for (const r of this.references) for (const sha of r.live(state)) live.add(sha.toLowerCase())
    return live
  }

  /** One pass: removes unreferenced blobs older than the grace period (and their cached record counts). */
  collectGarbage(now = this.now()): BlobGcReport {
    const removed = new Set<string>()
    const report = collectBlobs(this.blobs, this.liveBlobs(), this.o.blobGcGraceMs ?? DEFAULT_BLOB_GC_GRACE_MS, now, (sha) => removed.add(sha))
    if (removed.size > 0) {
      for (const key of [...this.records.keys()]) if (removed.has(key.split(':')[0])) this.records.delete(key)
      for (const name of readdirSync(this.recordsDir)) if (removed.has(name.split('.')[0])) rmSync(join(this.recordsDir, name), { force: true })
    }
    this.uploadLog.prune(now)
    return report
  }

  /**
   * The node's admission of a signed tx before the sequencer queues it (never part of
   * execution: a replica replays blocks without it, so the ledger stays deterministic).
   * A Contribute's blob must be here, of the declared size, and ingest as its media type
   * (the route and POST /v1/tx alike); a Datanet's maxSize may not exceed this node's blob
   * limit; a tx naming a blob this node holds restarts that blob's grace period.
   */
  async admit(tx: SignedTx): Promise<void> {
    if (tx.type === 'CreateDatanet' || tx.type === 'UpdateDatanet') {
      const maxSize = tx.message.maxSize as bigint
      if (maxSize > BigInt(this.blobs.maxBytes)) {
        throw new SinewError({
          code: 'max_size_over_blob_limit',
          message: `maxSize ${maxSize} is over this node's blob limit of ${this.blobs.maxBytes} bytes`,
          details: { field: 'tx.message.maxSize', maxSize: maxSize.toString(), maxBlobBytes: this.blobs.maxBytes },
          hint: `This node stores blobs up to ${this.blobs.maxBytes} bytes (its maxBlobBytes setting): no contribution could be larger. Set maxSize at most that.`,
        })
      }
      return
    }
    for (const r of this.references) {
      const refOf = r.kinds[tx.type]
      if (refOf) this.blobs.touch(refOf(tx.message).hash.slice(2).toLowerCase())
    }
    if (tx.type === 'Contribute') await this.checkContributionBlob(tx.message as ContributeMessage)
  }

  /** The checks of a Contribute only this node can make: its blob is here, of its size, and ingests. */
  private async checkContributionBlob(m: ContributeMessage): Promise<void> {
    const d = getDatanet(this.state, m.datanet)
    // The ledger names these refusals precisely (datanet_not_found, media_type_not_accepted, …): let it.
    if (!d || !isMediaType(m.mediaType) || !d.rules.mediaTypes.includes(m.mediaType)) return
    const sha = m.contentHash.slice(2)
    const blob = this.blobs.stat(sha)
    if (!blob) {
      throw new SinewError({
        code: 'blob_not_found',
        message: `No blob ${m.contentHash} on this node: upload the content first`,
        details: { field: 'message.contentHash', contentHash: m.contentHash },
        hint: 'PUT /v1/blobs with the raw bytes, and this signed Contribute in the x-sinew-upload-tx header.',
      })
    }
    if (BigInt(blob.size) !== m.size) throw sizeMismatch(m.size, blob.size)
    const r = await this.recordCount(sha, m.mediaType)
    if ('error' in r)
      throw new SinewError({
        code: r.error.code,
        message: r.error.message,
        details: { field: 'tx.message.mediaType', mediaType: m.mediaType, contentHash: m.contentHash },
      })
  }

  // ---- lookups ----

  /** A Datanet by id (0x…) or name; `datanet_not_found` (404) otherwise. */
  resolve(ref: string): DatanetRecord {
    const id = isHex(ref, 32) ? ref.toLowerCase() : datanetIdByName(this.state, ref)
    const d = id ? getDatanet(this.state, id) : undefined
    if (!d) throw datanetNotFound(ref)
    return d
  }

  contribution(id: string): ContributionRecord {
    const c = isHex(id, 32) ? getContribution(this.state, id.toLowerCase()) : undefined
    if (!c) throw new SinewError({ code: 'contribution_not_found', message: `Contribution not found: ${id}`, details: { contribution: id } })
    return c
  }

  version(d: DatanetRecord, n: number): VersionRecord {
    const v = Number.isSafeInteger(n) && n >= 1 ? getVersion(this.state, d.id, n) : undefined
    if (!v) {
      throw new SinewError({ code: 'version_not_found', message: `${d.name} has no version ${n}`, details: { datanet: d.id, version: n, latest: d.versions } })
    }
    return v
  }

  list(filter: { q?: string; owner?: string; limit?: number; offset?: number } = {}): { datanets: DatanetRecord[]; total: number } {
    const state = this.state
    const n = datanetCount(state)
    const q = filter.q?.toLowerCase()
    const all: DatanetRecord[] = []
    for (let i = n - 1; i >= 0; i--) {
      const d = getDatanet(state, readJson<string>(state, datanetIndexKey(i))!)!
      if (filter.owner && d.owner !== filter.owner.toLowerCase()) continue
      if (q && !`${d.name}\n${d.description}\n${d.license}`.toLowerCase().includes(q)) continue
      all.push(d)
    }
    const offset = filter.offset ?? 0
    return { datanets: all.slice(offset, offset + (filter.limit ?? 100)), total: all.length }
  }

  async contributions(
    d: DatanetRecord,
    filter: { author?: string; status?: ContributionStatus; limit?: number; offset?: number; nearDuplicates?: boolean } = {},
  ): Promise<{ contributions: ContributionView[]; total: number }> {
    const state = this.state
    const matches: ContributionRecord[] = []
    for (let seq = d.counts.contributions - 1; seq >= 0; seq--) {
      const c = getContribution(state, readJson<string>(state, contributionSeqKey(d.id, seq))!)!
      if (filter.author && c.author !== filter.author.toLowerCase()) continue
      if (filter.status && c.status !== filter.status) continue
      matches.push(c)
    }
    const offset = filter.offset ?? 0
    const page = matches.slice(offset, offset + (filter.limit ?? 100))
    const views: ContributionView[] = []
    for (const c of page) views.push(await this.view(c, { nearDuplicate: filter.nearDuplicates ?? c.status === 'pending' }))
    return { contributions: views, total: matches.length }
  }

  /** The review queue: pending contributions, oldest first, each with its near-duplicate check. */
  async queue(d: DatanetRecord, limit = 100): Promise<{ contributions: ContributionView[]; total: number }> {
    const r = await this.contributions(d, { status: 'pending', limit: 100_000, nearDuplicates: true })
    return { contributions: r.contributions.reverse().slice(0, limit), total: r.total }
  }

  async view(c: ContributionRecord, opts: { nearDuplicate?: boolean } = {}): Promise<ContributionView> {
    const sha = c.contentHash.slice(2)
    const stat = this.blobs.stat(sha)
    const out: ContributionView = { ...c, blob: stat ? 'present' : 'missing', blobSize: stat?.size ?? null, records: null }
    if (stat && String(stat.size) !== c.size) out.blob = 'size_mismatch'
    else if (stat) {
      const r = await this.recordCount(sha, c.mediaType)
      if ('records' in r) out.records = r.records
      else {
        out.ingestError = r.error
        // Out of time or memory here says nothing about the bytes: still `present`.
        if (!isLocalIngestCode(r.error.code)) out.blob = 'unparseable'
      }
    }
    if (opts.nearDuplicate && c.status === 'pending' && out.blob === 'present' && out.records !== null) {
      try {
        out.nearDuplicate = await this.nearDuplicate(c)
      } catch (e) {
        this.o.log.warn({ err: e, contribution: c.id }, 'near-duplicate check failed')
      }
    }
    return out
  }

  contributors(d: DatanetRecord): AuthorStats[] {
    const out: AuthorStats[] = []
    for (let k = 0; k < d.contributors; k++) out.push(getAuthorStats(this.state, d.id, readJson<string>(this.state, authorSeqKey(d.id, k))!)!)
    return out.sort((a, b) => b.accepted - a.accepted || b.contributions - a.contributions || (a.author < b.author ? -1 : 1))
  }

  versionView(d: DatanetRecord, n: number): VersionRecord & { excluded: Hex[]; documents: number; ref: string; build: BuildStatus } {
    const v = this.version(d, n)
    const excluded = v.excluded ?? []
    return { ...v, excluded, documents: v.contributions - excluded.length, ref: `${d.id}@${n}`, build: this.builder.status(d.id, n) }
  }

  retryBuild(d: DatanetRecord, n: number): BuildStatus {
    this.version(d, n)
    return this.builder.retry(d.id, n)
  }

  /** The opened index of a ready version (`index_not_ready`, 409, while it builds). */
  index(d: DatanetRecord, n: number): AttributionIndex {
    this.version(d, n)
    const key = `${d.id}@${n}`
    const hit = this.indexes.get(key)
    if (hit) return hit
    const status = this.builder.status(d.id, n)
    if (status.state !== 'ready') {
      throw new SinewError({
        code: 'index_not_ready',
        message: `The index of ${d.name} version ${n} is ${status.state}`,
        details: { datanet: d.id, version: n, build: status },
        hint:
          status.state === 'failed'
            ? 'Retry it with POST /v1/datanets/:id/versions/:n/build.'
            : 'Wait until the version is ready (GET /v1/datanets/:id/versions/:n).',
      })
    }
    const index = openIndex(this.builder.indexDir(d.id, n))
    this.indexes.set(key, index)
    return index
  }

  search(d: DatanetRecord, n: number, q: string, limit = 20) {
    const index = this.index(d, n)
    const found = index.find(q, { limit })
    const matches = found.matches.map((m) => {
      const c = getContribution(this.state, m.doc)
      return { contribution: m.doc, author: c?.author ?? null, title: c?.title ?? null, position: m.position, snippet: m.snippet }
    })
    return { datanet: d.id, version: n, query: q, count: found.count, matches }
  }

  // ---- contributions: the checks the ledger cannot make ----

  /**
   * POST /v1/datanets/:id/contributions: a Contribute to the Datanet in the path, submitted
   * through the node's admission (which checks its blob, see admit), with its record count.
   */
  async submitContribution(datanetRef: string, envelope: { type: string; message: Record<string, unknown> }): Promise<TxAck & { records: number }> {
    const d = this.resolve(datanetRef)
    if (envelope.type !== 'Contribute') {
      throw new SinewError({
        code: 'invalid_field',
        message: `This route takes Contribute txs, not ${String(envelope.type).slice(0, 40)}`,
        details: { field: 'body.type', got: envelope.type },
      })
    }
    const m = envelope.message
    if (typeof m.datanet !== 'string' || m.datanet.toLowerCase() !== d.id) {
      throw new SinewError({
        code: 'invalid_field',
        message: `message.datanet must be ${d.id} (the Datanet in the path)`,
        details: { field: 'tx.message.datanet', expected: d.id, got: m.datanet },
      })
    }
    const ack = await this.o.node.submit(envelope)
    const r = await this.recordCount(String(m.contentHash).slice(2).toLowerCase(), String(m.mediaType))
    return { ...ack, records: 'records' in r ? r.records : 0 }
  }

  /**
   * Number of records the content ingests into, or why it does not (cached on disk under
   * blobs/records/, per version of the ingestion rules). Only verdicts on the bytes are
   * cached: running out of time or memory here (isLocalIngestFailure) is reported, not kept.
   */
  async recordCount(sha: string, mediaType: string): Promise<{ records: number } | { error: { code: ErrorCode; message: string } }> {
    const key = `${sha}:${mediaType}`
    const hit = this.records.get(key)
    if (hit) return hit
    const file = join(this.recordsDir, `${sha}.${mediaType.replace(/[^a-z0-9]+/gi, '_')}.v${INGEST_RULES_VERSION}.json`)
    if (existsSync(file)) {
      const value = JSON.parse(readFileSync(file, 'utf8'))
      this.records.set(key, value)
      return value
    }
    let value: { records: number } | { error: { code: ErrorCode; message: string } }
    try {
      value = { records: (await ingest(await this.blobs.read(sha), mediaType)).records.length }
    } catch (e) {
      if (!isSinewError(e) || e.code === 'integrity' || e.code === 'not_found') throw e
      if (isLocalIngestFailure(e)) return { error: { code: e.code, message: e.shortMessage } }
      value = { error: { code: e.code, message: e.shortMessage } }
    }
    this.records.set(key, value)
    writeFileSync(file, JSON.stringify(value) + '\n')
    return value
  }

  async text(c: ContributionRecord): Promise<string> {
    return joinRecords((await ingest(await this.blobs.read(c.contentHash.slice(2)), c.mediaType)).records)
  }

  // ---- near duplicates (advisory, not ledger state) ----

  /**
   * How much of a pending contribution is already in the Datanet's accepted data: its
   * tokens covered by spans of >= NEAR_DUPLICATE_MIN_TOKENS tokens found in the latest ready
   * version's index (trace), or in the accepted contributions after that version (8-token
   * shingles, in memory). Flagged at >= 90 %.
   */
  async nearDuplicate(c: ContributionRecord): Promise<NearDuplicate> {
    const d = getDatanet(this.state, c.datanet)!
    let readyVersion: number | null = null
    for (let v = d.versions; v >= 1; v--) {
      if (this.builder.status(d.id, v).state === 'ready') {
        readyVersion = v
        break
      }
    }
    const covered = readyVersion ? getVersion(this.state, d.id, readyVersion)!.contributions : 0
    const cacheKey = `${c.id}:${readyVersion}:${d.counts.accepted}`
    const hit = this.nearDupCache.get(cacheKey)
    if (hit) return hit
    const text = await this.text(c)
    const toks = tokenize(text)
    const n = toks.length
    const owner = new Array<string | undefined>(n)
    if (readyVersion) {
      const trace = this.index(d, readyVersion).trace(text, { minSpanTokens: NEAR_DUPLICATE_MIN_TOKENS, maxSpanCount: Number.MAX_SAFE_INTEGER })
      for (const s of trace.spans) for (let t = s.tokenStart; t < s.tokenStart + s.tokens; t++) owner[t] ??= s.creditedTo
    }
    const unpublished: string[] = []
    for (let k = covered; k < d.counts.accepted; k++) unpublished.push(readJson<string>(this.state, acceptedKey(d.id, k))!)
    if (unpublished.length > 0 && n >= NEAR_DUPLICATE_MIN_TOKENS) {
      const K = NEAR_DUPLICATE_MIN_TOKENS
      const shingles = new Map<string, string>()
      for (const id of unpublished) {
        const other = getContribution(this.state, id)!
        if (!this.blobs.has(other.contentHash.slice(2))) continue
        // What a version would hold of it: nothing if its bytes would be skipped.
        const doc = await readDocument(this.blobs, other).catch(() => undefined)
        if (!doc || 'skip' in doc) continue
        const t = tokenize(doc.text).tokens
        for (let i = 0; i + K <= t.length; i++) {
          const s = t.slice(i, i + K).join('\u0001')
          if (!shingles.has(s)) shingles.set(s, id)
        }
      }
      for (let i = 0; i + K <= n; i++) {
        const who = shingles.get(toks.tokens.slice(i, i + K).join('\u0001'))
        if (who) for (let t = i; t < i + K; t++) owner[t] ??= who
      }
    }
    const perDoc = new Map<string, number>()
    let total = 0
    for (const o of owner) {
      if (!o) continue
      total++
      perDoc.set(o, (perDoc.get(o) ?? 0) + 1)
    }
    const coverageBps = n === 0 ? 0 : Math.floor((total * 10_000) / n)
    const result: NearDuplicate = {
      flagged: coverageBps >= NEAR_DUPLICATE_BPS,
      coverageBps,
      tokens: n,
      overlaps: [...perDoc.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 10)
        .map(([id, tokens]) => {
          const o = getContribution(this.state, id)
          return { contribution: id as Hex, author: o?.author ?? '', title: o?.title ?? '', tokens }
        }),
      against: { version: readyVersion, unpublished: unpublished.length },
    }
    this.nearDupCache.set(cacheKey, result)
    return result
  }
}
