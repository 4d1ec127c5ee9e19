/**
 * Garbage collection of blobs (docs/datanets.md#uploads): a blob that no ledger record
 * refers to (no pending or accepted contribution, no task spec or result: each module's
 * `BlobReferences.live`) is removed once it is older than the grace period. Its age is its
 * file's mtime: set when it was stored, and again whenever it is uploaded anew or a tx
 * naming it is admitted, so a blob about to be referred to is never collected under a tx on
 * its way. One pass is synchronous (the set of live blobs and the deletions belong to the
 * same moment of the ledger) and runs in the background every `intervalMs`.
 */
import type { Logger } from '../core/index.ts'
import type { BlobStore } from './blobs.ts'

export type BlobGcReport = { removed: number; removedBytes: number; kept: number; young: number }

/** Removes every blob not in `live` whose mtime is at least `graceMs` before `now`. */
export function collectBlobs(blobs: BlobStore, live: ReadonlySet<string>, graceMs: number, now: number, onRemove?: (sha256: string) => void): BlobGcReport {
  const report: BlobGcReport = { removed: 0, removedBytes: 0, kept: 0, young: 0 }
  for (const b of blobs.list()) {
    if (live.has(b.sha256)) report.kept++
    else if (now - b.mtimeMs < graceMs) report.young++
    else {
      blobs.remove(b.sha256)
      onRemove?.(b.sha256)
      report.removed++
      report.removedBytes += b.size
    }
  }
  return report
}

/** Runs `collect` every `intervalMs` in the background (an unref'd timer: it never keeps the process alive). */
export function scheduleGc(collect: () => BlobGcReport, intervalMs: number, log: Logger): () => void {
  const timer = setInterval(() => {
    try {
      const r = collect()
      if (r.removed > 0) log.info(r, 'blob garbage collection')
    } catch (e) {
      log.error({ err: e }, 'blob garbage collection failed')
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
