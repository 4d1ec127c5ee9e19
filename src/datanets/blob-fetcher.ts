/**
 * Fetches blobs this node lacks from another node (a replica's leader): `GET
 * <source>/v1/blobs/<sha256>`, streamed through `BlobStore.put` with the sha256 expected,
 * so the bytes are hashed on the way into a temp file and only renamed into the store if
 * they hash to what was asked. Anything else (another hash, a 404, a dropped connection,
 * a blob over this node's limit) stores nothing and is retried with exponential backoff,
 * for as long as the blob is wanted: the source may get it later (an upload after the fact).
 *
 * Work runs in the background with at most `concurrency` downloads at a time; `want` never
 * waits, so a replica applying blocks is never held up by blobs.
 */
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { isSinewError, SinewError, type Logger } from '../core/index.ts'
import type { BlobTable } from '../store/index.ts'
import type { BlobStore } from './blobs.ts'

export type BlobFetcherOptions = {
  blobs: BlobStore
  /** Base URL of the node that serves the blobs (`GET /v1/blobs/:sha256`), or with `table` that table's location. */
  source: string
  /** Fetch from the store's shared blob table (PostgreSQL) instead of over HTTP. */
  table?: BlobTable
  log: Logger
  /** Downloads at a time (default 4). */
  concurrency?: number
  /** First retry delay; doubles per failed attempt up to `retryMaxMs` (defaults 500 ms, 60 s). */
  retryBaseMs?: number
  retryMaxMs?: number
  /** One download's time limit (default 10 min: a 64 MiB blob over a slow link). */
  timeoutMs?: number
  /**
   * Asked before each retry with the contributions that asked for the blob: false forgets
   * it (say, its contribution was rejected and nothing needs the bytes any more).
   */
  wanted?: (sha256: string, contributions: readonly string[]) => boolean
  /** Called once a blob is stored. */
  onStored?: (sha256: string) => void
}

export type BlobFetchFailure = { sha256: string; attempts: number; error: { code: string; message: string }; at: string; retryAt: string }

export type BlobFetchStatus = {
  source: string
  /** Blobs still to get: waiting for a first try, downloading, or waiting to retry. */
  pending: number
  /** Of `pending`, downloading now. */
  fetching: number
  /** Of `pending`, those whose last attempt failed (they are retried). */
  failed: number
  /** Stored since the node started. */
  fetched: number
  /** Downloads refused since the node started because the bytes did not hash to the sha256 asked for. */
  refused: number
  /** Failed blobs, latest failure first (at most 10). */
  failures: BlobFetchFailure[]
}

type Entry = {
  sha256: string
  contributions: Set<string>
  attempts: number
  fetching: boolean
  failure?: BlobFetchFailure
  retryTimer?: NodeJS.Timeout
}

export class BlobFetcher {
  private readonly entries = new Map<string, Entry>()
  /** Entries due for an attempt, oldest first. */
  private ready: Entry[] = []
  private readonly inFlight = new Map<Entry, { abort: AbortController; done: Promise<void> }>()
  private started = false
  private stopped = false
  private fetched = 0
  private refused = 0

  constructor(private readonly o: BlobFetcherOptions) {}

  get source(): string {
    return this.o.source
  }

  /** Queues a blob unless it is stored or already queued. Never waits. */
  want(sha256: string, contribution?: string): void {
    if (this.stopped) return
    const existing = this.entries.get(sha256)
    if (existing) {
      if (contribution) existing.contributions.add(contribution)
      return
    }
    if (this.o.blobs.has(sha256)) return
    const entry: Entry = { sha256, contributions: new Set(contribution ? [contribution] : []), attempts: 0, fetching: false }
    this.entries.set(sha256, entry)
    this.ready.push(entry)
    this.pump()
  }

  /** True while the blob is queued, downloading or waiting to retry. */
  isPending(sha256: string): boolean {
    return this.entries.has(sha256)
  }

  start(): void {
    this.started = true
    this.pump()
  }

  /** Cancels downloads in flight (nothing half-written is kept) and every retry. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const e of this.entries.values()) if (e.retryTimer) clearTimeout(e.retryTimer)
    for (const f of this.inFlight.values()) f.abort.abort()
    await Promise.all([...this.inFlight.values()].map((f) => f.done))
  }

  status(): BlobFetchStatus {
    let fetching = 0
    const failures: BlobFetchFailure[] = []
    for (const e of this.entries.values()) {
      if (e.fetching) fetching++
      if (e.failure) failures.push(e.failure)
    }
    failures.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    return {
      source: this.o.source,
      pending: this.entries.size,
      fetching,
      failed: failures.length,
      fetched: this.fetched,
      refused: this.refused,
      failures: failures.slice(0, 10),
    }
  }

  private pump(): void {
    if (!this.started || this.stopped) return
    const limit = this.o.concurrency ?? 4
    while (this.inFlight.size < limit && this.ready.length > 0) {
      const entry = this.ready.shift()!
      if (this.entries.get(entry.sha256) !== entry || entry.fetching) continue
      const abort = new AbortController()
      const done = this.attempt(entry, abort.signal)
        .catch((e) => this.o.log.error({ err: e, sha256: entry.sha256 }, 'blob fetch: unexpected error'))
        .finally(() => {
          this.inFlight.delete(entry)
          this.pump()
        })
      this.inFlight.set(entry, { abort, done })
    }
  }

  private async attempt(entry: Entry, signal: AbortSignal): Promise<void> {
    if (entry.attempts > 0 && !this.stillWanted(entry)) {
      this.entries.delete(entry.sha256)
      this.o.log.info({ sha256: entry.sha256, attempts: entry.attempts }, 'blob no longer needed; stopped fetching it')
      return
    }
    entry.fetching = true
    entry.attempts++
    try {
      if (!this.o.blobs.has(entry.sha256)) await this.download(entry.sha256, signal)
      this.entries.delete(entry.sha256)
      this.fetched++
      this.o.onStored?.(entry.sha256)
    } catch (e) {
      if (this.stopped) return
      const error = isSinewError(e) ? { code: e.code, message: e.shortMessage } : { code: 'blob_fetch_failed', message: String((e as Error)?.message ?? e) }
      const delay = this.backoff(entry.attempts)
      const now = Date.now()
      entry.failure = { sha256: entry.sha256, attempts: entry.attempts, error, at: new Date(now).toISOString(), retryAt: new Date(now + delay).toISOString() }
      if (error.code === 'hash_mismatch') {
        this.refused++
        this.o.log.error(
          { sha256: entry.sha256, source: this.o.source, details: (e as SinewError).details },
          'refused a blob from the leader: its bytes hash to something else; not stored, will retry',
        )
      } else {
        this.o.log.warn({ sha256: entry.sha256, source: this.o.source, attempts: entry.attempts, error, retryInMs: delay }, 'blob fetch failed; will retry')
      }
      entry.retryTimer = setTimeout(() => {
        entry.retryTimer = undefined
        this.ready.push(entry)
        this.pump()
      }, delay)
    } finally {
      entry.fetching = false
    }
  }

  private stillWanted(entry: Entry): boolean {
    try {
      return this.o.wanted?.(entry.sha256, [...entry.contributions]) ?? true
    } catch (e) {
      this.o.log.warn({ err: e, sha256: entry.sha256 }, 'blob fetch: wanted() failed; fetching anyway')
      return true
    }
  }

  private async download(sha256: string, signal: AbortSignal): Promise<void> {
    if (this.o.table) {
      const bytes = await this.o.table.getBlob(sha256)
      if (!bytes)
        throw new SinewError({
          code: 'blob_fetch_failed',
          message: `Blob ${sha256} is not in the store at ${this.o.source}`,
          details: { sha256, source: this.o.source },
        })
      await this.o.blobs.put(bytes, { expected: sha256, cacheOnly: true })
      return
    }
    const url = `${this.o.source}/v1/blobs/${sha256}`
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs ?? 600_000)]) })
    if (!response.ok || !response.body) {
      const body = await response.text().catch(() => '')
      throw new SinewError({
        code: 'blob_fetch_failed',
        message: `GET ${url} answered ${response.status}`,
        details: { sha256, status: response.status, body: body.slice(0, 200) },
      })
    }
    const stream = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
    try {
      // put hashes while it writes the temp file and renames only a match into the store.
      await this.o.blobs.put(stream, { expected: sha256 })
    } finally {
      // On a refusal put drains the rest; a wrong or oversized body is not worth reading.
      stream.destroy()
    }
  }

  /** Exponential, capped, with ±25 % jitter so replicas do not retry in step. */
  private backoff(attempts: number): number {
    const base = this.o.retryBaseMs ?? 500
    const max = this.o.retryMaxMs ?? 60_000
    const delay = Math.min(max, base * 2 ** Math.min(attempts - 1, 30))
    return Math.round(delay * (0.75 + Math.random() * 0.5))
  }
}
