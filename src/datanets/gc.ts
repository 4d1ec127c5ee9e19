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
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Logger } from '../core/index.ts'
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
}

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
    const report: BlobGcReport = { examined: 0, removed: 0, removedBytes: 0, kept: 0, young: 0, pinned: 0, listed: 0 }
    if (!soonOnly && !this.listed) report.listed = await this.listStore()
    for (const [hash, hold] of this.holds) if (hold.until <= now) this.holds.delete(hash)
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
