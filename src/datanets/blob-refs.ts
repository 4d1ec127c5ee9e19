/**
 * Which blobs the ledger refers to (docs/datanets.md#uploads). Each module that keeps blobs
 * declares, in a `BlobReferences`, the tx kinds that name a blob (such a signed tx is an
 * upload permit) and the state entries that hold references (a contribution names its
 * content, a task its spec and results). `BlobRefIndex` counts the references of committed
 * state and follows it block by block: a block's writes say which entries changed, each
 * module says which blobs an entry holds now, the index keeps what each entry held before.
 * So knowing whether a blob is referenced costs a map lookup, and keeping the index costs
 * O(changed entries) per block, never a scan of the state.
 */
import type { Hex } from '../core/index.ts'

/** A blob a tx names: its sha256 (0x + 64 hex) and, where the tx declares it, its size. */
export type BlobRef = { hash: Hex; size?: bigint }

/** What a module contributes to the blob rules: the kinds that name blobs, and where its state refers to blobs. */
export type BlobReferences = {
  /** For each tx kind that refers to a blob: the blob a (decoded) message names. */
  kinds: Record<string, (message: Record<string, unknown>) => BlobRef>
  /** The module's state entries that refer to blobs. */
  state: {
    /** Whether the entry at `key` may refer to blobs (a test of the key alone: cheap, no decoding). */
    holds(key: string): boolean
    /** The sha256s (64 lowercase hex, no 0x) the entry refers to now; garbage collection keeps them. */
    refs(key: string, value: Uint8Array): Iterable<string>
  }
}

/** What a block changed: blobs that became referenced, and blobs no longer referenced. */
export type RefChanges = { referenced: string[]; released: string[] }

/** Reference counts of committed state, kept up to date block by block. */
export class BlobRefIndex {
  private readonly counts = new Map<string, number>()
  /** What each referring entry held when last seen (absent: nothing). */
  private readonly held = new Map<string, string[]>()

  constructor(private readonly modules: readonly BlobReferences[]) {}

  /** How many committed entries refer to the blob. */
  count(sha256: string): number {
    return this.counts.get(sha256) ?? 0
  }

  isReferenced(sha256: string): boolean {
    return this.counts.has(sha256)
  }

  /** Blobs referenced now. */
  get size(): number {
    return this.counts.size
  }

  /** Every referenced blob (tests compare the index with a scan). */
  referenced(): string[] {
    return [...this.counts.keys()]
  }

  /** Reads a whole state once (at start-up): every entry some module holds refers to. */
  load(entries: Iterable<[string, Uint8Array]>): void {
    for (const [key, value] of entries) this.set(key, value)
  }

  /** Applies one block's writes (key -> new value, null when deleted). */
  apply(writes: ReadonlyMap<string, Uint8Array | null>): RefChanges {
    const changes: RefChanges = { referenced: [], released: [] }
    for (const [key, value] of writes) this.set(key, value, changes)
    return changes
  }

  private set(key: string, value: Uint8Array | null, changes?: RefChanges): void {
    const module = this.modules.find((m) => m.state.holds(key))
    if (!module) return
    const before = this.held.get(key) ?? []
    const now = value === null ? [] : [...new Set(module.state.refs(key, value))]
    if (now.length > 0) this.held.set(key, now)
    else this.held.delete(key)
    for (const sha of now) {
      const n = this.counts.get(sha) ?? 0
      this.counts.set(sha, n + 1)
      if (n === 0) changes?.referenced.push(sha)
    }
    for (const sha of before) {
      const n = this.counts.get(sha)! - 1
      if (n > 0) this.counts.set(sha, n)
      else {
        this.counts.delete(sha)
        changes?.released.push(sha)
      }
    }
  }
}
