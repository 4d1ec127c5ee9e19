/**
 * Ledger state: one flat key space of byte values, committed by a sparse Merkle tree.
 *
 * Keys are strings with a module prefix (`acct/<address>`, `sys/params`, `datanet/...`);
 * the tree is keyed by keccak256(utf8(key)) and stores keccak256(value), so a proof for
 * any key is checkable offline against a header's stateRoot. Execution never writes the
 * committed state directly: txs run on a `StateOverlay` whose writes are applied only when
 * the block is accepted.
 */
import { canonicalBytes, fromUtf8, keccak256Bytes, utf8, type Hex } from '../core/index.ts'
import { SparseMerkleTree, type StateProof } from './merkle/index.ts'

export type StateWrites = ReadonlyMap<string, Uint8Array | null>

export type StateReader = { get(key: string): Uint8Array | undefined }

/** A JSON value from any state reader (the committed state for queries, an overlay inside a tx): how modules read what `setJson` wrote. */
export function readJson<T>(state: StateReader, key: string): T | undefined {
  const bytes = state.get(key)
  return bytes === undefined ? undefined : (JSON.parse(fromUtf8(bytes)) as T)
}

export const stateKeyHash = (key: string): Uint8Array => keccak256Bytes(utf8(key))
export const stateValueHash = (value: Uint8Array): Uint8Array => keccak256Bytes(value)

/** The committed state: every value in memory plus the Merkle tree over them. */
export class CommittedState implements StateReader {
  private readonly values = new Map<string, Uint8Array>()
  private readonly tree = new SparseMerkleTree()

  get size(): number {
    return this.values.size
  }

  get(key: string): Uint8Array | undefined {
    return this.values.get(key)
  }

  entries(): IterableIterator<[string, Uint8Array]> {
    return this.values.entries()
  }

  root(): Uint8Array {
    return this.tree.root()
  }

  /** Applies writes and returns the writes that undo them (for a block that must be refused). */
  apply(writes: StateWrites): Map<string, Uint8Array | null> {
    const undo = new Map<string, Uint8Array | null>()
    const treeUpdates: [Uint8Array, Uint8Array | null][] = []
    for (const [key, value] of writes) {
      undo.set(key, this.values.get(key) ?? null)
      if (value === null) this.values.delete(key)
      else this.values.set(key, value)
      treeUpdates.push([stateKeyHash(key), value === null ? null : stateValueHash(value)])
    }
    this.tree.update(treeUpdates)
    return undo
  }

  /** An independent copy of the tree (a few memcpys): rolled back to an earlier height for proofs there. */
  treeSnapshot(): SparseMerkleTree {
    return this.tree.clone()
  }

  prove(key: string): { key: string; value: Hex | null; proof: StateProof } {
    const value = this.values.get(key)
    return { key, value: value ? (('0x' + Buffer.from(value).toString('hex')) as Hex) : null, proof: this.tree.prove(stateKeyHash(key)) }
  }
}

/**
 * Writes of the block being built, with a nested layer for the tx being executed: a tx
 * that throws is rolled back alone, and nothing reaches the committed state until the
 * block is accepted.
 */
export class StateOverlay implements StateReader {
  private readonly blockWrites = new Map<string, Uint8Array | null>()
  private txWrites = new Map<string, Uint8Array | null>()

  constructor(private readonly base: StateReader) {}

  get(key: string): Uint8Array | undefined {
    if (this.txWrites.has(key)) return this.txWrites.get(key) ?? undefined
    if (this.blockWrites.has(key)) return this.blockWrites.get(key) ?? undefined
    return this.base.get(key)
  }

  set(key: string, value: Uint8Array): void {
    this.txWrites.set(key, value)
  }

  delete(key: string): void {
    this.txWrites.set(key, null)
  }

  getJson<T = unknown>(key: string): T | undefined {
    return readJson<T>(this, key)
  }

  /** Module objects are stored as canonical JSON (bigints as decimal strings). */
  setJson(key: string, value: unknown): void {
    this.set(key, canonicalBytes(value))
  }

  commitTx(): void {
    for (const [k, v] of this.txWrites) this.blockWrites.set(k, v)
    this.txWrites = new Map()
  }

  rollbackTx(): void {
    this.txWrites = new Map()
  }

  /** The block's writes in key order (the order never changes the root; it keeps logs stable). */
  writes(): Map<string, Uint8Array | null> {
    return new Map([...this.blockWrites].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }
}
