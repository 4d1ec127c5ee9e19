/**
 * Background index builds of published Datanet versions. Not ledger state: everything here
 * is derived from the versions on the ledger and the blobs, under
 *
 *   <dataDir>/indexes/<datanet id>/<n>/status.json   {state: queued|building|ready|failed, …}
 *   <dataDir>/indexes/<datanet id>/<n>/index/        the attribution index + authors.json + manifest.json
 *   <dataDir>/indexes/<datanet id>/<n>/build/        the build in progress (removed on restart)
 *
 * status.json is replaced atomically (temp file + rename). A node that stops in the middle
 * of a build finds `building` on its next start and builds the version again from scratch.
 * A build that failed for this node's own reasons (an extraction out of time or memory, a
 * system error: RETRYABLE_BUILD_CODES) is tried again by itself after a backoff
 * (`retryAt`); any other failure stays failed (with its error) until `retry`.
 *
 * Builds run in lanes (`lanes`, default 1): each lane builds one version at a time with its
 * own PDF/DOCX extraction worker, one Datanet builds one version at a time, and the versions
 * tried least often go first. So a Datanet whose documents take long to read (a hostile
 * file, up to the time budget each) holds one lane, never every Datanet's builds.
 *
 * Which contributions a version's index holds is a function of the ledger and the blob
 * bytes only, so every node builds the same index (docs/datanets.md#versions-and-index-builds):
 * the version's documents (accepted, less the excluded ones), minus those whose blob is
 * not the size they declare or does not ingest as their media type: those are skipped and
 * listed in the build report, and credited nothing. A blob this node lacks is the node's
 * problem, not the contribution's: the version is neither built nor failed, it stays
 * `queued` in phase `blobs` (done/total = blobs here / documents, `waitingFor` names the
 * contributions) until the blob arrives (uploaded, or fetched from the leader by a
 * replica: `onMissingBlobs`). Other local trouble (a damaged blob on disk, an extraction
 * out of time, memory or stack) fails the build, to be retried; it never skips anything.
 *
 * A ready version's `buildId` commits to what decides its index: the attribution index's
 * id (which covers its documents), the ingestion rules with the parsers' versions, and the
 * report (excluded and skipped contributions, with the skip codes). A replica compares its
 * buildId with the leader's (`compare`) and fails the version with `index_mismatch` when
 * they differ, so two nodes never silently credit different contributions.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildIndex, type Doc, type IndexInfo } from '../attribution/index.ts'
import { canonicalJson, isSinewError, sha256, SinewError, type Hex, type Logger } from '../core/index.ts'
import type { StateReader } from '../ledger/index.ts'
import { storageFault } from '../store/index.ts'
import type { BlobStore } from './blobs.ts'
import { Extractor, ingest, INGEST_RULES, isLocalIngestCode, isLocalIngestFailure, joinRecords, type ExtractorStats, type IngestOptions } from './ingest.ts'
import { datanetCount, datanetIndexKey, getContribution, getDatanet, getVersion, readJson, versionDocumentIds, type ContributionRecord } from './state.ts'

export type BuildState = 'queued' | 'building' | 'ready' | 'failed'

export type BuildStatus = {
  state: BuildState
  /** While building: 'texts' (reading and ingesting contributions), then the index builder's phases. */
  phase?: string
  done?: number
  total?: number
  attempts: number
  startedAt?: string
  finishedAt?: string
  error?: { code: string; message: string; details?: Record<string, unknown> }
  /** A failed build this node retries by itself (RETRYABLE_BUILD_CODES): when it is tried again. */
  retryAt?: string
  index?: {
    documents: number
    tokens: number
    bytesOnDisk: number
    indexId: string
    tokenizerVersion: string
    /** The ingestion rules and parser versions the texts were read with (INGEST_RULES). */
    ingestRules: string
    /** Commits to the index id, the ingestion rules and the report (buildCommitment): equal on every node that built the same thing. */
    buildId: Hex
  }
  /** On a replica, once ready: whether the leader built the same (its buildId). */
  check?: LeaderCheck
  /** While waiting for blobs (phase `blobs`): the contributions whose blob this node lacks (at most 20). */
  waitingFor?: Hex[]
  /** Once ready: what the index holds, and what it left out and why. The same on every node. */
  report?: BuildReport
}

export type SkippedContribution = { contribution: Hex; code: string; message: string }

/** What a replica knows of the leader's build of a version it built too. */
export type LeaderCheck = { state: 'pending'; attempts: number; lastError?: string } | { state: 'agrees'; leaderBuildId: string; at: string }

/** The leader's build of a version, as GET /v1/datanets/:id/versions/:n shows it. */
export type LeaderBuild = { state: BuildState; index?: { indexId: string; buildId?: string }; report?: BuildReport }

/**
 * The build id: sha256 of the canonical JSON of what decides a version's index — the
 * attribution index id (it covers the documents and their texts), the ingestion rules,
 * and the report, with each skipped contribution's code (messages may quote a parser's or
 * the runtime's wording, so they are not part of it).
 */
export function buildCommitment(o: { indexId: string; ingestRules: string; report: BuildReport }): Hex {
  return sha256(
    canonicalJson({
      indexId: o.indexId,
      ingestRules: o.ingestRules,
      documents: o.report.documents,
      excluded: o.report.excluded,
      skipped: o.report.skipped.map((x) => ({ contribution: x.contribution, code: x.code })),
    }),
  )
}

export type BuildReport = {
  /** Documents in the index. */
  documents: number
  /** Contributions the owner had excluded when the version was published. */
  excluded: Hex[]
  /** Contributions left out because of their bytes (size_mismatch, unparseable_content), in index order. */
  skipped: SkippedContribution[]
}

export type IndexBuilderOptions = {
  dataDir: string
  state: () => StateReader
  blobs: BlobStore
  log: Logger
  /** Suffix-array worker threads (default 1). */
  workers?: number
  pollMs?: number
  /** Called when a version becomes ready. */
  onReady?: (datanet: Hex, version: number) => void
  /** Told of the contributions of a version whose blobs this node lacks (a replica fetches them). */
  onMissingBlobs?: (missing: ContributionRecord[]) => void
  /** Builds at once, each with its own extraction worker (default 1). */
  lanes?: number
  /** Time budget of reading one PDF or DOCX (default INGEST_TIMEOUT_MS). */
  ingestTimeoutMs?: number
  /** A replica: the leader's build of a version (undefined when it cannot be had now), to compare with once ready. */
  compare?: (datanet: Hex, version: number) => Promise<LeaderBuild | undefined>
  /** Least time between two comparisons of one version with the leader's (default 2 s). */
  compareEveryMs?: number
}

export const versionRef = (datanet: string, version: number): string => `${datanet}@${version}`

/**
 * Failures that are this node's, not the version's: an extraction out of time or memory, or
 * an unexpected system error. Such a build is tried again by itself, after RETRY_BASE_MS
 * doubling with each attempt up to RETRY_MAX_MS.
 */
export const isRetryableBuildCode = (code: string): boolean => isLocalIngestCode(code) || code === 'build_failed'
const RETRY_BASE_MS = 5_000
const RETRY_MAX_MS = 3600_000
const retryDelayMs = (attempts: number): number => Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(20, Math.max(0, attempts - 1)))
/** How long a build that met a full or unwritable disk waits before it is tried again. */
const STORAGE_RETRY_MS = 2000

function writeAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n')
  renameSync(tmp, file)
}

export class IndexBuilder {
  readonly root: string
  private readonly known = new Map<string, BuildStatus>()
  /** Builds under way, by version ref: their live status. */
  private readonly live = new Map<string, BuildStatus>()
  /** Each lane's extraction worker; a lane is busy while `laneBusy[i]`. */
  private readonly lanes: Extractor[]
  private readonly laneBusy: boolean[]
  /** Datanets with a build under way (one version at a time each). */
  private readonly busyDatanets = new Set<string>()
  private readonly builds = new Set<Promise<void>>()
  /** Versions waiting for blobs (in memory only: status.json says queued), with the contributions still missing. */
  private readonly waiting = new Map<string, { status: BuildStatus; missing: ContributionRecord[] }>()
  /** When each version waiting for the leader's build may be compared again. */
  private readonly nextCompare = new Map<string, number>()
  /** Versions whose build met a full or unwritable disk (in memory: status.json may not be writable), retried from `retryAt`. */
  private readonly storageWait = new Map<string, { status: BuildStatus; retryAt: number }>()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor(private readonly o: IndexBuilderOptions) {
    this.root = join(o.dataDir, 'indexes')
    const lanes = Math.max(1, o.lanes ?? 1)
    this.lanes = Array.from({ length: lanes }, () => new Extractor())
    this.laneBusy = this.lanes.map(() => false)
  }

  /** What each lane's extraction worker has done. */
  laneStats(): ExtractorStats[] {
    return this.lanes.map((l) => l.stats())
  }

  dir(datanet: string, version: number): string {
    return join(this.root, datanet, String(version))
  }

  indexDir(datanet: string, version: number): string {
    return join(this.dir(datanet, version), 'index')
  }

  start(): void {
    this.stopped = false
    const tick = () => {
      if (this.stopped) return
      // A tick never takes the node down: what it could not do is logged and tried again.
      const ticked = this.tick().catch((e) => this.o.log.error({ err: e }, 'index builder: tick failed; trying again'))
      this.running = ticked.finally(() => {
        this.running = undefined
        if (!this.stopped) this.timer = setTimeout(tick, this.o.pollMs ?? 200)
      })
    }
    tick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
    await Promise.all(this.builds)
  }

  /** The build status of a published version (queued if this node has not started it yet). */
  status(datanet: string, version: number): BuildStatus {
    const key = versionRef(datanet, version)
    const live = this.live.get(key)
    if (live) return { ...live }
    const waiting = this.waiting.get(key) ?? this.storageWait.get(key)
    if (waiting) return { ...waiting.status }
    return { ...this.load(datanet, version) }
  }

  /** Puts a failed build back in the queue. */
  retry(datanet: string, version: number): BuildStatus {
    const current = this.load(datanet, version)
    if (current.state !== 'failed') return current
    const next: BuildStatus = { state: 'queued', attempts: current.attempts }
    this.save(datanet, version, next)
    return next
  }

  private load(datanet: string, version: number): BuildStatus {
    const key = versionRef(datanet, version)
    const cached = this.known.get(key)
    if (cached) return cached
    const file = join(this.dir(datanet, version), 'status.json')
    let status: BuildStatus = { state: 'queued', attempts: 0 }
    if (existsSync(file)) {
      try {
        status = JSON.parse(readFileSync(file, 'utf8')) as BuildStatus
      } catch {
        status = { state: 'queued', attempts: 0 }
      }
    }
    this.known.set(key, status)
    return status
  }

  private save(datanet: string, version: number, status: BuildStatus): void {
    mkdirSync(this.dir(datanet, version), { recursive: true })
    writeAtomic(join(this.dir(datanet, version), 'status.json'), status)
    this.known.set(versionRef(datanet, version), status)
  }

  /** Versions on the ledger that this node has not built (or whose build a crash cut short), and ready ones still to compare with the leader's. */
  private pending(): { datanet: Hex; version: number; attempts?: number; compare?: true }[] {
    const state = this.o.state()
    const now = Date.now()
    const out: { datanet: Hex; version: number; attempts?: number; compare?: true }[] = []
    const n = datanetCount(state)
    for (let i = 0; i < n; i++) {
      const id = readJson<Hex>(state, datanetIndexKey(i))!
      const d = getDatanet(state, id)
      if (!d) continue
      for (let v = 1; v <= d.versions; v++) {
        const s = this.load(id, v)
        // `building` found on disk means a previous process died mid-build: build again.
        const interrupted = s.state === 'building' && !this.live.has(versionRef(id, v))
        // A missing blob is a reason to wait, never a final verdict (failures of earlier code said otherwise).
        const blobsMayCome = s.state === 'failed' && s.error?.code === 'missing_blob'
        const retryNow = s.state === 'failed' && s.retryAt !== undefined && Date.parse(s.retryAt) <= now
        if (s.state === 'queued' || interrupted || blobsMayCome || retryNow) out.push({ datanet: id, version: v, attempts: s.attempts })
        else if (s.state === 'ready' && this.o.compare && s.check?.state !== 'agrees') out.push({ datanet: id, version: v, compare: true })
      }
    }
    // The versions tried least often first (a stable sort: ledger order among equals).
    return out.sort((a, b) => (a.attempts ?? 0) - (b.attempts ?? 0))
  }

  private async tick(): Promise<void> {
    const work = this.pending()
    for (const { datanet, version, compare } of work) {
      if (this.stopped) return
      if ((this.storageWait.get(versionRef(datanet, version))?.retryAt ?? 0) > Date.now()) continue
      if (compare) await this.compareWithLeader(datanet, version)
      else if (!this.live.has(versionRef(datanet, version)) && !this.busyDatanets.has(datanet) && !this.awaitingBlobs(datanet, version)) {
        const lane = this.laneBusy.indexOf(false)
        if (lane >= 0) this.launch(datanet, version, lane)
      }
    }
  }

  /** Starts a build in a free lane; the lane and the Datanet are free again when it ends. */
  private launch(datanet: Hex, version: number, lane: number): void {
    this.laneBusy[lane] = true
    this.busyDatanets.add(datanet)
    const run: Promise<void> = this.build(datanet, version, this.lanes[lane]).finally(() => {
      this.laneBusy[lane] = false
      this.busyDatanets.delete(datanet)
      this.builds.delete(run)
    })
    this.builds.add(run)
  }

  /**
   * True while a version lacks blobs: it stays queued (phase `blobs`) without spending an
   * attempt. Only the contributions still missing are looked at again on later ticks.
   */
  private awaitingBlobs(datanet: Hex, version: number): boolean {
    const key = versionRef(datanet, version)
    const has = (c: ContributionRecord) => this.o.blobs.has(c.contentHash.slice(2))
    let entry = this.waiting.get(key)
    if (!entry) {
      const state = this.o.state()
      const v = getVersion(state, datanet, version)
      if (!v) return false
      const contributions = versionDocumentIds(state, v).map((id) => getContribution(state, id)!)
      const missing = contributions.filter((c) => !has(c))
      if (missing.length === 0) return false
      const current = this.load(datanet, version)
      entry = { status: { state: 'queued', phase: 'blobs', done: 0, total: contributions.length, attempts: current.attempts }, missing }
    } else {
      entry.missing = entry.missing.filter((c) => !has(c))
    }
    if (entry.missing.length === 0) {
      this.waiting.delete(key)
      return false
    }
    this.o.onMissingBlobs?.(entry.missing)
    // A missing_blob failure from before (or from a blob that vanished) goes back to the queue on disk.
    const current = this.load(datanet, version)
    if (current.state !== 'queued') this.save(datanet, version, { state: 'queued', attempts: current.attempts })
    entry.status.done = entry.status.total! - entry.missing.length
    entry.status.waitingFor = entry.missing.slice(0, 20).map((c) => c.id)
    if (!this.waiting.has(key)) this.o.log.info({ datanet, version, missing: entry.missing.length }, 'datanet version waits for blobs before its index build')
    this.waiting.set(key, entry)
    return true
  }

  /**
   * A replica's check of a ready version against the leader's build: the same buildId (or,
   * from a leader that does not give one, the same index id) and it is settled; a
   * different one fails the version with `index_mismatch`. While the leader has no ready
   * build (or cannot be reached) it is asked again later.
   */
  private async compareWithLeader(datanet: Hex, version: number): Promise<void> {
    const key = versionRef(datanet, version)
    const now = Date.now()
    if ((this.nextCompare.get(key) ?? 0) > now) return
    this.nextCompare.set(key, now + (this.o.compareEveryMs ?? 2000))
    const mine = this.load(datanet, version)
    if (mine.state !== 'ready' || !mine.index) return
    const attempts = (mine.check?.state === 'pending' ? mine.check.attempts : 0) + 1
    let leader: LeaderBuild | undefined
    try {
      leader = await this.o.compare!(datanet, version)
    } catch (e) {
      this.save(datanet, version, { ...mine, check: { state: 'pending', attempts, lastError: (e as Error).message } })
      return
    }
    if (!leader || leader.state !== 'ready' || !leader.index) {
      this.save(datanet, version, { ...mine, check: { state: 'pending', attempts } })
      return
    }
    const same = leader.index.buildId !== undefined ? leader.index.buildId === mine.index.buildId : leader.index.indexId === mine.index.indexId
    if (same) {
      this.nextCompare.delete(key)
      this.save(datanet, version, {
        ...mine,
        check: { state: 'agrees', leaderBuildId: leader.index.buildId ?? leader.index.indexId, at: new Date().toISOString() },
      })
      return
    }
    const summary = (b: { index?: { indexId: string; buildId?: string }; report?: BuildReport }) => ({
      buildId: b.index?.buildId ?? null,
      indexId: b.index?.indexId ?? null,
      documents: b.report?.documents ?? null,
      skipped: b.report?.skipped.map((x) => ({ contribution: x.contribution, code: x.code })) ?? null,
    })
    const err = new SinewError({
      code: 'index_mismatch',
      message: `This node's index of ${key} differs from the leader's: build ${mine.index.buildId}, the leader's ${leader.index.buildId ?? leader.index.indexId}`,
      details: { datanet, version, mine: summary(mine), leader: summary(leader) },
      hint: 'The nodes read some contribution differently (parser versions, ingestion rules, or a fault). Compare the reports; rebuild with POST /v1/datanets/:id/versions/:n/build once fixed.',
    })
    this.nextCompare.delete(key)
    this.save(datanet, version, {
      state: 'failed',
      attempts: mine.attempts,
      startedAt: mine.startedAt,
      finishedAt: new Date().toISOString(),
      error: { code: err.code, message: err.shortMessage, details: err.details },
    })
    this.o.log.error({ datanet, version, error: err.details }, 'datanet version index differs from the leader: failed')
  }

  private async build(datanet: Hex, version: number, extractor: Extractor): Promise<void> {
    const key = versionRef(datanet, version)
    const previous = this.load(datanet, version)
    const status: BuildStatus = { state: 'building', phase: 'texts', done: 0, attempts: previous.attempts + 1, startedAt: new Date().toISOString() }
    this.live.set(key, status)
    const dir = this.dir(datanet, version)
    const buildDir = join(dir, 'build')
    const finalDir = join(dir, 'index')
    const t0 = Date.now()
    const included: ContributionRecord[] = []
    const skipped: SkippedContribution[] = []
    let documents = -1
    try {
      this.save(datanet, version, status)
      rmSync(buildDir, { recursive: true, force: true })
      mkdirSync(buildDir, { recursive: true })
      const state = this.o.state()
      const v = getVersion(state, datanet, version)
      if (!v) throw new Error(`version ${key} is not on the ledger`)
      const contributions = versionDocumentIds(state, v).map((id) => getContribution(state, id)!)
      documents = contributions.length
      status.total = contributions.length
      const missing = contributions.filter((c) => !this.o.blobs.has(c.contentHash.slice(2)))
      if (missing.length > 0) {
        // Gone since the check before the build: the next tick waits for them again.
        throw new SinewError({
          code: 'missing_blob',
          message: `${missing.length} contribution(s) have no blob on this node`,
          details: { contributions: missing.slice(0, 20).map((c) => ({ id: c.id, contentHash: c.contentHash })) },
        })
      }
      const delayMs = Number(process.env.SINEW_TEST_BUILD_DELAY_MS ?? 0)
      const blobs = this.o.blobs
      const ingestOptions: IngestOptions = { extractor, timeoutMs: this.o.ingestTimeoutMs }
      async function* docs(): AsyncGenerator<Doc> {
        for (const c of contributions) {
          const doc = await readDocument(blobs, c, ingestOptions)
          status.done = (status.done ?? 0) + 1
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
          if ('skip' in doc) {
            skipped.push({ contribution: c.id, ...doc.skip })
            continue
          }
          included.push(c)
          yield { id: c.id, text: doc.text }
        }
      }
      const info: IndexInfo = await buildIndex(docs(), buildDir, {
        workers: this.o.workers ?? 1,
        onProgress: (p) => {
          // The texts phase counts documents itself; later phases come from the builder.
          if (p.phase === 'tokenize' || p.phase === 'read') return
          status.phase = p.phase
          status.done = p.done
          status.total = p.total
        },
      })
      const report: BuildReport = { documents: included.length, excluded: v.excluded ?? [], skipped }
      const buildId = buildCommitment({ indexId: info.indexId, ingestRules: INGEST_RULES, report })
      writeFileSync(join(buildDir, 'authors.json'), JSON.stringify(Object.fromEntries(included.map((c) => [c.id, c.author]))) + '\n')
      writeFileSync(join(buildDir, 'manifest.json'), JSON.stringify(manifest(datanet, v, included, report, buildId), null, 2) + '\n')
      rmSync(finalDir, { recursive: true, force: true })
      renameSync(buildDir, finalDir)
      const ready: BuildStatus = {
        state: 'ready',
        attempts: status.attempts,
        startedAt: status.startedAt,
        finishedAt: new Date().toISOString(),
        index: {
          documents: info.documents,
          tokens: info.tokens,
          bytesOnDisk: info.bytesOnDisk,
          indexId: info.indexId,
          tokenizerVersion: info.tokenizerVersion,
          ingestRules: INGEST_RULES,
          buildId,
        },
        report,
        ...(this.o.compare ? { check: { state: 'pending' as const, attempts: 0 } } : {}),
      }
      this.live.delete(key)
      this.storageWait.delete(key)
      this.save(datanet, version, ready)
      this.o.log.info(
        { datanet, version, documents: info.documents, skipped: skipped.length, tokens: info.tokens, ms: Date.now() - t0 },
        'datanet version index ready',
      )
      this.o.onReady?.(datanet, version)
    } catch (e) {
      this.live.delete(key)
      try {
        rmSync(buildDir, { recursive: true, force: true })
      } catch {
        // left for the next attempt, which starts by removing it
      }
      // A full or unwritable disk is this node's trouble, not the version's: it stays
      // queued (phase `storage`, with the reason) and is built again once the disk takes
      // writes; it is never marked failed for it.
      const fault = storageFault(e, this.root, 'the index build waits for it to take writes')
      if (fault) return this.waitForStorage(datanet, version, status.attempts, fault)
      // Every document read and skipped: the corpus builder refuses an empty corpus; say why it is empty.
      // (Skips followed by a local failure are that failure: the build is retried.) Anything
      // else but a SinewError is unexpected: build_failed, with the system's code as the reason.
      const reason = (e as { code?: unknown })?.code
      const err =
        skipped.length > 0 && skipped.length === documents
          ? noDocuments(skipped)
          : isSinewError(e)
            ? e
            : new SinewError({
                code: 'build_failed',
                message: (e as Error)?.message ?? String(e),
                details: typeof reason === 'string' ? { reason } : {},
                cause: e,
              })
      const failed: BuildStatus = {
        state: 'failed',
        attempts: status.attempts,
        startedAt: status.startedAt,
        finishedAt: new Date().toISOString(),
        error: { code: err.code, message: err.shortMessage, details: err.details },
        ...(isRetryableBuildCode(err.code) ? { retryAt: new Date(Date.now() + retryDelayMs(status.attempts)).toISOString() } : {}),
      }
      this.storageWait.delete(key)
      try {
        this.save(datanet, version, failed)
      } catch (saveError) {
        const fault = storageFault(saveError, this.root, 'the index build waits for it to take writes')
        if (fault) return this.waitForStorage(datanet, version, status.attempts, fault)
        throw saveError
      }
      this.o.log.warn({ datanet, version, error: failed.error }, 'datanet version index build failed')
    }
  }

  private waitForStorage(datanet: Hex, version: number, attempts: number, fault: SinewError): void {
    const key = versionRef(datanet, version)
    const status: BuildStatus = {
      state: 'queued',
      phase: 'storage',
      attempts,
      error: { code: fault.code, message: fault.shortMessage, details: fault.details },
    }
    if (!this.storageWait.has(key)) this.o.log.warn({ datanet, version, code: fault.code }, 'datanet version index build waits for the disk to take writes')
    this.storageWait.set(key, { status, retryAt: Date.now() + STORAGE_RETRY_MS })
    try {
      this.save(datanet, version, { state: 'queued', attempts })
    } catch {
      // status.json cannot be written either: memory says queued, and a restart finds `building` and builds again
    }
  }
}

/** A version all of whose contributions were skipped: the same on every node, so retrying does not help. */
const noDocuments = (skipped: SkippedContribution[]): SinewError =>
  new SinewError({
    code: 'no_documents',
    message: `Every one of the ${skipped.length} contribution(s) of this version was skipped: the index would be empty`,
    details: { skipped },
    hint: 'Exclude them (ExcludeContribution) and publish again once the Datanet has contributions that ingest.',
  })

/**
 * A contribution's document, or why the version skips it: a property of its bytes (their
 * size against the declared one, whether they ingest), the same on every node. Anything
 * else (a blob damaged on disk, an extraction out of time) throws: the build fails here
 * and is retried, never built without it.
 */
export async function readDocument(
  blobs: BlobStore,
  c: ContributionRecord,
  opts: IngestOptions = {},
): Promise<{ text: string } | { skip: { code: string; message: string } }> {
  const bytes = await blobs.read(c.contentHash.slice(2))
  if (String(bytes.length) !== c.size) {
    return { skip: { code: 'size_mismatch', message: `The blob has ${bytes.length} bytes, the contribution declares ${c.size}` } }
  }
  try {
    return { text: joinRecords((await ingest(bytes, c.mediaType, opts)).records) }
  } catch (e) {
    if (!isSinewError(e) || isLocalIngestFailure(e)) throw e
    return { skip: { code: e.code, message: e.shortMessage } }
  }
}

function manifest(datanet: Hex, v: { version: number; root: Hex }, included: ContributionRecord[], report: BuildReport, buildId: Hex) {
  return {
    datanet,
    version: v.version,
    root: v.root,
    buildId,
    ingestRules: INGEST_RULES,
    contributions: included.map((c) => ({ id: c.id, author: c.author, title: c.title, contentHash: c.contentHash, mediaType: c.mediaType })),
    excluded: report.excluded,
    skipped: report.skipped,
  }
}
