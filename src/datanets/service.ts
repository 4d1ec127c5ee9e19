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
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { openIndex, tokenize, type AttributionIndex } from '../attribution/index.ts'
import { fromUtf8, isHex, isSinewError, sha256, SinewError, type ErrorCode, type Hex, type Logger } from '../core/index.ts'
import { encodeAccount, executeTxs, readAccount, type CommittedBlock, type LedgerNode, type SignedTx, type StateReader, type TxAck } from '../ledger/index.ts'
import type { BlobTable } from '../store/index.ts'
import { BlobFetcher, type BlobFetchStatus } from './blob-fetcher.ts'
import { BlobRefIndex, type BlobReferences } from './blob-refs.ts'
import { BlobStore, DEFAULT_MAX_BLOB_BYTES, sizeMismatch } from './blobs.ts'
import { IndexBuilder, readDocument, type BuildStatus, type LeaderBuild } from './builder.ts'
import { BlobCollector, scheduleGc, type BlobGcReport } from './gc.ts'
import { Extractor, ingest, INGEST_RULES, INGEST_TIMEOUT_MS, isLocalIngestCode, isLocalIngestFailure, joinRecords, type ExtractorStats } from './ingest.ts'
import type { ContributeMessage } from './kinds.ts'
import { ALL_MEDIA_TYPES, isMediaType } from './media.ts'
import { UploadBook } from './upload-book.ts'
import { BlobUploads, type UploadPolicy, type UploadRequest, type UploadResult } from './uploads.ts'
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
  /**
   * The store's blob table where several nodes share one database (PostgreSQL): blobs are
   * written through to it, and those this node lacks are fetched from it (not on a replica,
   * whose blobs come from its leader).
   */
  sharedBlobs?: {
    location: string
    table: BlobTable
    /** The database is this node's alone (a replica's): it collects the table's garbage even though it does not sequence. */
    own?: boolean
  }
  /** Other modules' blob references (task specs and results): their kinds may authorise uploads, their blobs are kept. */
  blobReferences?: BlobReferences[]
  /** Who may upload and how much (defaults: DEFAULT_UPLOAD_POLICY). */
  uploads?: Partial<UploadPolicy>
  /** Unreferenced blobs older than this are collected (default 24 h). */
  blobGcGraceMs?: number
  /** How often garbage collection runs (default 10 min; 0: never in the background). */
  blobGcIntervalMs?: number
  /** Time budget of reading one PDF or DOCX (admission and builds; default INGEST_TIMEOUT_MS). */
  ingestTimeoutMs?: number
  /** Index builds at once, each with its own extraction worker (default 1). */
  buildLanes?: number
  /** The clock of quotas and garbage collection (tests inject one). */
  now?: () => number
}

export const DEFAULT_UPLOAD_POLICY: UploadPolicy = {
  minBalance: 10n ** 18n,
  bytesPerSin: DEFAULT_MAX_BLOB_BYTES,
  quotaBytes: 1024 * 1024 * 1024,
  quotaBlobs: 10_000,
  nodeQuotaBytes: 16 * 1024 * 1024 * 1024,
  quotaWindowMs: 24 * 3600_000,
}
export const DEFAULT_BLOB_GC_GRACE_MS = 24 * 3600_000
export const DEFAULT_BLOB_GC_INTERVAL_MS = 10 * 60_000
/** How long admission remembers that reading a blob ran out of time or memory here, instead of trying again (and holding the lane again). */
export const LOCAL_INGEST_FAILURE_TTL_MS = 3600_000

const CONTRIBUTION_KEY = /^datanet\/c\/0x[0-9a-f]{64}$/

/** The Datanets module's blob references: a Contribute names its content; pending and accepted contributions refer to theirs. */
export const datanetBlobReferences: BlobReferences = {
  kinds: {
    Contribute: (message) => {
      const m = message as ContributeMessage
      return { hash: m.contentHash, size: m.size }
    },
  },
  state: {
    holds: (key) => CONTRIBUTION_KEY.test(key),
    refs: (_key, value) => {
      const c = JSON.parse(fromUtf8(value)) as ContributionRecord
      return c.status === 'rejected' ? [] : [c.contentHash.slice(2).toLowerCase()]
    },
  },
}

type RecordCount = { records: number } | { error: { code: ErrorCode; message: string } }

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
  /** On a replica (`blobSource`), or a node on a shared store (`sharedBlobs`). */
  readonly fetcher: BlobFetcher | undefined
  readonly uploads: BlobUploads
  /** Which blobs committed state refers to, kept block by block. */
  readonly refs: BlobRefIndex
  readonly collector: BlobCollector
  /** The PDF/DOCX extraction lane of admission and views; index builds have lanes of their own (IndexBuilder), so neither waits for the other. */
  private readonly admissionExtractor = new Extractor()
  private readonly references: BlobReferences[]
  private readonly kinds: BlobReferences['kinds']
  /** Record counts (or refusals) of blobs per media type: verdicts on the bytes, also on disk. */
  private readonly records = new Map<string, RecordCount>()
  /** Extractions under way, shared by everyone asking for the same blob and media type. */
  private readonly reading = new Map<string, Promise<RecordCount>>()
  /** Blobs whose reading ran out of time or memory here, and until when that answer stands. */
  private readonly localFailures = new Map<string, { error: { code: ErrorCode; message: string }; until: number }>()
  private readonly indexes = new Map<string, AttributionIndex>()
  private readonly nearDupCache = new Map<string, NearDuplicate>()
  private readonly recordsDir: string
  private readonly now: () => number
  private stopGc: (() => void) | undefined
  private readonly unsubscribe: () => void

  constructor(private readonly o: DatanetsOptions) {
    this.blobs = new BlobStore(o.dataDir, o.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES, o.sharedBlobs?.table)
    this.recordsDir = join(o.dataDir, 'blobs', 'records')
    mkdirSync(this.recordsDir, { recursive: true })
    this.now = o.now ?? Date.now
    this.references = [datanetBlobReferences, ...(o.blobReferences ?? [])]
    this.kinds = Object.assign({}, ...this.references.map((r) => r.kinds))
    const policy = { ...DEFAULT_UPLOAD_POLICY, ...o.uploads }
    // The reference index reads the state once here; from now on each committed block updates it.
    this.refs = new BlobRefIndex(this.references)
    this.refs.load(o.node.chain.state.entries())
    const book = new UploadBook(join(o.dataDir, 'blobs', 'uploads.jsonl'), policy.quotaWindowMs, this.now())
    this.collector = new BlobCollector({
      blobs: this.blobs,
      refs: this.refs,
      book,
      graceMs: o.blobGcGraceMs ?? DEFAULT_BLOB_GC_GRACE_MS,
      now: this.now,
      pendingBlobs: () => this.pendingBlobs(),
      onRemove: (sha) => this.forgetRecords(sha),
      // The shared table is collected by the sequencer (its chain is the database's head, and
      // every tx in flight is in its pins and queue) or by a replica on a database of its own.
      shared: o.sharedBlobs ? { table: o.sharedBlobs.table, collects: () => (o.sharedBlobs?.own ?? false) || !o.node.readOnly } : undefined,
      log: o.log,
    })
    this.blobs.onCreate = (sha) => this.collector.consider(sha)
    this.uploads = new BlobUploads({
      blobs: this.blobs,
      node: o.node,
      kinds: this.kinds,
      refs: this.refs,
      book,
      collector: this.collector,
      policy,
      now: this.now,
    })
    this.unsubscribe = o.node.chain.onCommit((block) => this.committed(block))
    const source = o.blobSource ? { source: o.blobSource } : o.sharedBlobs ? { source: o.sharedBlobs.location, table: o.sharedBlobs.table } : undefined
    const fetcher = source
      ? new BlobFetcher({
          blobs: this.blobs,
          ...source,
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
      lanes: o.buildLanes,
      ingestTimeoutMs: o.ingestTimeoutMs,
      compare: o.blobSource ? (datanet, version) => leaderBuild(o.blobSource!, datanet, version) : undefined,
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
    if (interval > 0) this.stopGc = scheduleGc(this.collector, interval, this.o.log)
  }

  async stop(): Promise<void> {
    this.stopGc?.()
    this.unsubscribe()
    await this.collector.idle()
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
    if (queued > 0) this.o.log.info({ blobs: queued, source: this.fetcher!.source }, 'fetching missing blobs')
  }

  // ---- blobs: uploads, references, garbage collection ----

  /** After each committed block: the reference index follows the state, and uploaders' claims follow it. */
  private committed(block: CommittedBlock): void {
    try {
      this.collector.committed(block.txs.map((tx) => tx.hash))
      const changes = this.refs.apply(block.writes)
      for (const sha of changes.referenced) if (this.refs.isReferenced(sha)) this.collector.referenced(sha)
      for (const sha of changes.released) if (!this.refs.isReferenced(sha)) this.collector.consider(sha)
      this.uploads.afterBlock(block, changes)
    } catch (e) {
      this.o.log.error({ err: e, height: block.header.height.toString() }, 'blob references: a block could not be followed')
    }
  }

  /** Blobs named by txs waiting for a block (the sequencer's queue): kept, not made younger. */
  private *pendingBlobs(): Generator<string> {
    for (const tx of this.o.node.sequencer?.pendingTxs() ?? []) {
      const sha = this.uploads.blobOf(tx)
      if (sha) yield sha
    }
  }

  /** PUT /v1/blobs: the permit and quotas checked (uploads.ts), then the bytes stored. */
  upload(source: Readable, req: UploadRequest): Promise<UploadResult> {
    return this.uploads.put(source, req)
  }

  /** The tx kinds whose signed tx authorises an upload of the blob it names. */
  uploadKinds(): string[] {
    return Object.keys(this.kinds).sort()
  }

  gcSettings(): { graceMs: number; intervalMs: number } {
    return { graceMs: this.collector.graceMs, intervalMs: this.o.blobGcIntervalMs ?? DEFAULT_BLOB_GC_INTERVAL_MS }
  }

  /** One garbage collection pass now (`now`: the time to judge ages by). */
  collectGarbage(now?: number): Promise<BlobGcReport> {
    return this.collector.collect({ now })
  }

  /** What the PDF/DOCX extraction lanes have done. */
  extraction(): { admission: ExtractorStats; builds: ExtractorStats[] } {
    return { admission: this.admissionExtractor.stats(), builds: this.builder.laneStats() }
  }

  private forgetRecords(sha: string): void {
    for (const mediaType of ALL_MEDIA_TYPES) {
      const key = `${sha}:${mediaType}`
      this.records.delete(key)
      this.localFailures.delete(key)
      rmSync(this.recordsFile(sha, mediaType), { force: true })
    }
  }

  /**
   * The node's admission of a signed tx before the sequencer queues it (never part of
   * execution: a replica replays blocks without it, so the ledger stays deterministic).
   * A Datanet's maxSize may not exceed this node's blob limit. A tx naming a blob is first
   * run against the committed state as the ledger would run it (nonce, balance, stake,
   * rights, duplicates: cheap, no blob read), then its blob is kept while it is admitted
   * (never made younger); a Contribute's blob must be here, of the declared size, and
   * ingest as its media type.
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
    const sha = this.uploads.blobOf(tx)
    if (sha === undefined) return
    this.dryRun(tx)
    const release = this.collector.pin(tx.hash, [sha])
    try {
      if (tx.type === 'Contribute') await this.checkContributionBlob(tx.message as ContributeMessage)
    } finally {
      release()
    }
  }

  /**
   * Runs a tx on the committed state as the next block would (the ledger's own code, on a
   * scratch layer) and throws the ledger's refusal. A tx whose nonce is ahead (others of
   * its sender go first) is run as if those had changed nothing.
   */
  private dryRun(tx: SignedTx): void {
    const chain = this.o.node.chain
    const account = this.o.node.account(tx.sender)
    const base: StateReader =
      tx.nonce > account.nonce
        ? { get: (key) => (key === `acct/${tx.sender}` ? encodeAccountAt(chain.state, tx.sender, tx.nonce) : chain.state.get(key)) }
        : chain.state
    const env = {
      height: chain.head.height + 1n,
      timestamp: BigInt(Math.max(Date.now(), Number(chain.head.timestamp))),
      params: chain.params,
      sequencer: chain.genesis.sequencer,
      chainId: chain.genesis.chainId,
    }
    const { rejected } = executeTxs(base, [tx], env)
    if (rejected.length > 0) throw rejected[0].error
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
   * Number of records the content ingests into, or why it does not. A verdict on the bytes
   * (records, or a refusal) is kept for good, in memory and on disk under blobs/records/,
   * keyed by the ingestion rules (INGEST_RULES). Running out of time or memory here
   * (isLocalIngestFailure) is remembered for LOCAL_INGEST_FAILURE_TTL_MS only, so a hostile
   * file holds the admission lane once per that time, not once per request; and
   * concurrent askers of the same blob share one extraction.
   */
  async recordCount(sha: string, mediaType: string): Promise<RecordCount> {
    const key = `${sha}:${mediaType}`
    const hit = this.records.get(key)
    if (hit) return hit
    const failure = this.localFailures.get(key)
    if (failure && failure.until > this.now()) return { error: failure.error }
    const file = this.recordsFile(sha, mediaType)
    if (existsSync(file)) {
      const value = JSON.parse(readFileSync(file, 'utf8')) as RecordCount
      this.records.set(key, value)
      return value
    }
    let reading = this.reading.get(key)
    if (!reading) {
      reading = this.readRecords(sha, mediaType, key, file).finally(() => this.reading.delete(key))
      this.reading.set(key, reading)
    }
    return reading
  }

  private async readRecords(sha: string, mediaType: string, key: string, file: string): Promise<RecordCount> {
    let value: RecordCount
    try {
      const bytes = await this.blobs.read(sha)
      value = {
        records: (await ingest(bytes, mediaType, { extractor: this.admissionExtractor, timeoutMs: this.o.ingestTimeoutMs ?? INGEST_TIMEOUT_MS })).records
          .length,
      }
    } catch (e) {
      if (!isSinewError(e) || e.code === 'integrity' || e.code === 'not_found') throw e
      const error = { code: e.code, message: e.shortMessage }
      if (isLocalIngestFailure(e)) {
        this.localFailures.set(key, { error, until: this.now() + LOCAL_INGEST_FAILURE_TTL_MS })
        return { error }
      }
      value = { error }
    }
    this.records.set(key, value)
    writeFileSync(file, JSON.stringify(value) + '\n')
    return value
  }

  private recordsFile(sha: string, mediaType: string): string {
    const rules = sha256(INGEST_RULES).slice(2, 14)
    return join(this.recordsDir, `${sha}.${mediaType.replace(/[^a-z0-9]+/gi, '_')}.${rules}.json`)
  }

  async text(c: ContributionRecord): Promise<string> {
    return joinRecords((await ingest(await this.blobs.read(c.contentHash.slice(2)), c.mediaType, { extractor: this.admissionExtractor })).records)
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
        const doc = await readDocument(this.blobs, other, { extractor: this.admissionExtractor }).catch(() => undefined)
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

/** The account as it would be once its earlier txs have used nonces up to `nonce` (balance unchanged). */
function encodeAccountAt(state: StateReader, address: SignedTx['sender'], nonce: bigint): Uint8Array {
  return encodeAccount({ ...readAccount(state, address), nonce })
}

/** A replica's look at the leader's build of a version (GET <leader>/v1/datanets/:id/versions/:n). */
async function leaderBuild(leader: string, datanet: Hex, version: number): Promise<LeaderBuild | undefined> {
  const r = await fetch(`${leader}/v1/datanets/${datanet}/versions/${version}`, { signal: AbortSignal.timeout(10_000) })
  if (!r.ok) return undefined
  return ((await r.json()) as { build?: LeaderBuild }).build
}
