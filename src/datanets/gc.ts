/**
 * Garbage collection of blobs (docs/datanets.md#uploads). A blob no committed record refers
 * to (BlobRefIndex) is removed once it is older than the grace period. Its age is its
 * file's mtime: set when it is stored, and again only by a paid re-upload (uploads.ts) —
 * never by a tx that merely names it. While a tx naming it is being admitted or waits in
 * the sequencer, it is kept (not made younger). A blob whose uploader's claim ended early
 * (its permit went stale, the balance behind it left: `collectSoon`) goes at once, unless
 * something else keeps it.
 *
 * A pass looks only at candidates: blobs this node stored that nothing referred to when
 * last seen (fed by the store, by the reference index as blocks apply, and, once, by a
 * listing of the blob directory), so its cost follows the unreferenced blobs, not the
 * ledger state or the referenced blobs. It works in chunks and yields to the event loop
 * between them; each blob's fate is decided from the state of that moment.
 *
 * On a store that keeps the blobs (PostgreSQL, shared by several nodes: `shared`), the
 * table is the truth and the files are each node's cache. The table is collected by one
 * node at a time, the sequencer (`shared.collects`): only it admits and queues txs, so its
 * pins and pending txs are every tx in flight, and its chain is the database's head (a node
 * that lost the lease removes nothing: the delete checks its term). It holds an advisory
 * lock for the pass (two nodes that both think they sequence, for a moment, never collect
 * at once), judges ages by each row's `stored_at` (refreshed by a re-upload), and walks the
 * whole table by pages (its cost follows the table, read without the bytes). A blob is
 * removed from this node's cache first, at the moment it is judged (so an admission after
 * that finds no blob), then from the table only if it was not stored again meanwhile; if a
 * tx came to need it during the delete, it is put back from the cache. Other nodes only
 * drop cached files, by the same rules, never rows.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { readFile } from 'node:fs/promises'
import type { Logger } from '../core/index.ts'
import type { BlobRow, BlobTable } from '../store/index.ts'
import type { BlobRefIndex } from './blob-refs.ts'
import type { BlobStore } from './blobs.ts'
import type { UploadBook } from './upload-book.ts'

export type BlobGcReport = {
  /** Blobs looked at (candidates, and those collected early). */
  examined: number
  removed: number
  removedBytes: number
  /** Referenced again since they became candidates. */
  kept: number
  /** Younger than the grace period. */
  young: number
  /** Named by a tx being admitted or waiting for a block. */
  pinned: number
  /** Files listed in the blob directory (the first pass only). */
  listed: number
  /** On a shared blob table: rows looked at, or null when this pass left the table alone (not the sequencer, or another node collecting). */
  tableRows: number | null
}

/** A blob table shared by several nodes (PostgreSQL) and when this node collects it. */
export type SharedBlobCollection = {
  table: BlobTable
  /** True while this node may collect the table: it is the sequencer. */
  collects: () => boolean
}

/** Table rows read per page by a shared pass. */
const TABLE_PAGE = 500

/** How long a blob stays kept after a tx naming it was admitted, until the tx shows up in the sequencer (a batch admits its txs one by one before queueing them). */
export const ADMISSION_HOLD_MS = 5 * 60_000
/** Blobs decided between two yields to the event loop. */
const CHUNK = 256

export type BlobCollectorOptions = {
  blobs: BlobStore
  refs: BlobRefIndex
  book: UploadBook
  graceMs: number
  now: () => number
  /** The blobs (sha256s) named by txs waiting for a block or in the block being committed. */
  pendingBlobs: () => Iterable<string>
  /** Told of each removed blob (to drop what is cached about it). */
  onRemove?: (sha256: string) => void
  /** The store's blob table, where several nodes share it: the files are then a cache of it. */
  shared?: SharedBlobCollection
  log: Logger
}

export class BlobCollector {
  private readonly candidates = new Set<string>()
  /** Blobs whose claims ended early: collected as soon as nothing keeps them. */
  private readonly soon = new Set<string>()
  private readonly admitting = new Map<string, number>()
  /** Blobs of admitted txs not yet in a block, by tx hash, and until when they are held. */
  private readonly holds = new Map<string, { shas: readonly string[]; until: number }>()
  private listed = false
  private queue: Promise<unknown> = Promise.resolve()
  private soonScheduled = false

  constructor(private readonly o: BlobCollectorOptions) {}

  get graceMs(): number {
    return this.o.graceMs
  }

  /** Blobs a pass would look at now. */
  get candidateCount(): number {
    return this.candidates.size
  }

  /** A blob stored, or no longer referenced: a candidate. */
  consider(sha256: string): void {
    if (!this.o.refs.isReferenced(sha256)) this.candidates.add(sha256)
  }

  /** A blob now referenced: no longer a candidate. */
  referenced(sha256: string): void {
    this.candidates.delete(sha256)
    this.soon.delete(sha256)
  }

  /** Collects these blobs as soon as nothing keeps them (no reference, claim, admission or pending tx), whatever their age. */
  collectSoon(shas: Iterable<string>): void {
    for (const sha of shas) this.soon.add(sha)
    if (this.soon.size === 0 || this.soonScheduled) return
    this.soonScheduled = true
    setImmediate(() => {
      this.soonScheduled = false
      this.collect({ soonOnly: true }).catch((e) => this.o.log.error({ err: e }, 'blob garbage collection failed'))
    })
  }

  /**
   * Keeps a tx's blobs while it is admitted; the returned function ends that, and they stay
   * held until the tx is committed (`committed`) or ADMISSION_HOLD_MS pass (a batch admits its
   * txs one by one before queueing them; a refused tx is never committed).
   */
  pin(txHash: string, shas: readonly string[]): () => void {
    for (const sha of shas) this.admitting.set(sha, (this.admitting.get(sha) ?? 0) + 1)
    let done = false
    return () => {
      if (done) return
      done = true
      for (const sha of shas) {
        const n = this.admitting.get(sha)! - 1
        if (n > 0) this.admitting.set(sha, n)
        else this.admitting.delete(sha)
      }
      this.holds.set(txHash, { shas, until: this.o.now() + ADMISSION_HOLD_MS })
    }
  }

  /** Txs now in a block: their blobs are no longer held for them (the reference index has them, or the ledger refused them). */
  committed(txHashes: Iterable<string>): void {
    for (const hash of txHashes) this.holds.delete(hash)
  }

  /** One pass, after any pass under way (passes never overlap). */
  collect(opts: { now?: number; soonOnly?: boolean } = {}): Promise<BlobGcReport> {
    const run = this.queue.then(() => this.pass(opts.now ?? this.o.now(), opts.soonOnly ?? false))
    this.queue = run.catch(() => undefined)
    return run
  }

  /** Resolves once no pass is under way (at shutdown). */
  async idle(): Promise<void> {
    await this.queue
  }

  private async pass(now: number, soonOnly: boolean): Promise<BlobGcReport> {
    const report: BlobGcReport = { examined: 0, removed: 0, removedBytes: 0, kept: 0, young: 0, pinned: 0, listed: 0, tableRows: null }
    for (const [hash, hold] of this.holds) if (hold.until <= now) this.holds.delete(hash)
    const shared = this.o.shared
    if (shared?.collects()) {
      const unlock = await shared.table.lockCollection()
      if (unlock) {
        try {
          await this.tablePass(shared.table, now, soonOnly, report)
        } finally {
          await unlock()
        }
        return report
      }
    }
    if (!soonOnly && !this.listed) report.listed = await this.listStore()
    const work = soonOnly ? [...this.soon] : [...new Set([...this.soon, ...this.candidates])]
    for (let i = 0; i < work.length; i += CHUNK) {
      if (i > 0) await yieldToLoop()
      const kept = new Set(this.o.pendingBlobs())
      for (const hold of this.holds.values()) for (const sha of hold.shas) kept.add(sha)
      for (const sha of work.slice(i, i + CHUNK)) this.decide(sha, now, kept, report)
    }
    return report
  }

  /** `kept`: blobs of txs waiting in the sequencer or admitted and on their way to it. */
  private decide(sha: string, now: number, kept: ReadonlySet<string>, report: BlobGcReport): void {
    report.examined++
    const early = this.soon.delete(sha)
    if (this.o.refs.isReferenced(sha)) {
      this.candidates.delete(sha)
      report.kept++
      return
    }
    const stat = this.o.blobs.stat(sha)
    if (!stat) {
      this.candidates.delete(sha)
      this.o.book.endAll(sha)
      return
    }
    this.candidates.add(sha)
    if (this.admitting.has(sha) || kept.has(sha)) {
      report.pinned++
      return
    }
    // Early only when no other uploader's claim still stands behind it.
    const unbacked = early && this.o.book.claimantsOf(sha).length === 0
    if (!unbacked && now - stat.mtimeMs < this.o.graceMs) {
      report.young++
      return
    }
    this.o.blobs.remove(sha)
    this.candidates.delete(sha)
    this.o.book.endAll(sha)
    this.o.onRemove?.(sha)
    report.removed++
    report.removedBytes += stat.size
  }

  /**
   * A pass over the shared table (under its lock): every row, or only the blobs to collect
   * soon; then the cached files whose rows are gone. Each blob is decided as `decide` does,
   * by its row's age.
   */
  private async tablePass(table: BlobTable, now: number, soonOnly: boolean, report: BlobGcReport): Promise<void> {
    report.tableRows = 0
    /** Blobs whose rows this pass saw (those it deleted are no longer candidates). */
    const seen = new Set<string>()
    const decideRows = async (rows: readonly BlobRow[]) => {
      report.tableRows! += rows.length
      for (const row of rows) seen.add(row.sha256)
      const kept = this.keptNow()
      const removing: { row: BlobRow }[] = []
      for (const row of rows) {
        // Referenced blobs are the bulk of the table: not counted as examined.
        if (this.o.refs.isReferenced(row.sha256)) {
          this.candidates.delete(row.sha256)
          this.soon.delete(row.sha256)
          continue
        }
        report.examined++
        const early = this.soon.delete(row.sha256)
        if (this.admitting.has(row.sha256) || kept.has(row.sha256)) {
          report.pinned++
          continue
        }
        const unbacked = early && this.o.book.claimantsOf(row.sha256).length === 0
        if (!unbacked && now - row.storedAtMs < this.o.graceMs) {
          this.candidates.add(row.sha256)
          report.young++
          continue
        }
        removing.push({ row })
      }
      // Decided in this tick: each leaves this node's cache now, so an admission from now on
      // finds no blob (it checks the cache, synchronously, once pinned).
      for (const { row } of removing) this.o.blobs.remove(row.sha256)
      for (const { row } of removing) {
        const removed = await table.deleteBlob(row.sha256, { ifStoredAt: row.storedAt })
        if (!removed) {
          report.kept++ // stored again meanwhile (or this node is no longer the sequencer)
          continue
        }
        // A read during the delete cached the blob again from the table, and a tx naming it
        // was admitted on that copy: it goes back into the table.
        const needed = this.o.refs.isReferenced(row.sha256) || this.admitting.has(row.sha256) || this.keptNow().has(row.sha256)
        if (needed && this.o.blobs.has(row.sha256)) {
          await table.putBlob(row.sha256, await readFile(this.o.blobs.path(row.sha256)))
          report.pinned++
          continue
        }
        this.o.blobs.remove(row.sha256)
        this.candidates.delete(row.sha256)
        this.o.book.endAll(row.sha256)
        this.o.onRemove?.(row.sha256)
        report.removed++
        report.removedBytes += row.size
      }
    }
    if (soonOnly) {
      const rows: BlobRow[] = []
      for (const sha of [...this.soon]) {
        const row = await table.statBlob(sha)
        if (row) rows.push(row)
        else this.soon.delete(sha)
      }
      await decideRows(rows)
      return
    }
    for (let after: string | null = null; ; ) {
      const rows = await table.listBlobs(after, TABLE_PAGE)
      await decideRows(rows)
      if (rows.length < TABLE_PAGE) break
      after = rows[rows.length - 1].sha256
      await yieldToLoop()
    }
    // Cached files of blobs no longer in the table (collected by another node), as old as
    // the grace period (an upload stores its file, then its row) and kept by nothing: dropped.
    if (!this.listed) report.listed = await this.listStore()
    const kept = this.keptNow()
    for (const sha of [...this.candidates]) {
      if (this.o.refs.isReferenced(sha)) {
        this.candidates.delete(sha)
        continue
      }
      if (seen.has(sha)) continue
      const stat = this.o.blobs.stat(sha)
      if (!stat) {
        this.candidates.delete(sha)
        continue
      }
      if (this.admitting.has(sha) || kept.has(sha) || now - stat.mtimeMs < this.o.graceMs || (await table.hasBlob(sha))) continue
      this.o.blobs.remove(sha)
      this.candidates.delete(sha)
      this.o.book.endAll(sha)
      this.o.onRemove?.(sha)
    }
  }

  /** Blobs of txs waiting in the sequencer or admitted and on their way to it. */
  private keptNow(): Set<string> {
    const kept = new Set(this.o.pendingBlobs())
    for (const hold of this.holds.values()) for (const sha of hold.shas) kept.add(sha)
    return kept
  }

  /** The first pass lists the blob directory once (a directory per yield): blobs stored before this process started. */
  private async listStore(): Promise<number> {
    let n = 0
    for (const dir of this.o.blobs.directories()) {
      for (const sha of this.o.blobs.listDirectory(dir)) {
        n++
        this.consider(sha)
      }
      await yieldToLoop()
    }
    this.listed = true
    return n
  }
}

/** Runs a pass every `intervalMs` in the background (an unref'd timer: it never keeps the process alive). */
export function scheduleGc(collector: BlobCollector, intervalMs: number, log: Logger): () => void {
  const timer = setInterval(() => {
    collector.collect().then(
      (r) => {
        if (r.removed > 0) log.info(r, 'blob garbage collection')
      },
      (e) => log.error({ err: e }, 'blob garbage collection failed'),
    )
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
