/**
 * The persistence interface under the ledger. Engines (SQLite by default, PostgreSQL for
 * scale) store the same rows; the ledger keeps its hot state in memory and uses the store
 * for durability, history and start-up. Methods are async so that a networked engine fits
 * the same shape; `commitBlock` must be atomic and durable when it resolves.
 */
import type { Hex } from '../core/index.ts'
export type { Hex }

export type BlockRow = {
  height: bigint
  hash: Hex
  parentHash: Hex
  timestamp: bigint
  txRoot: Hex
  stateRoot: Hex
  receiptsRoot: Hex
  txCount: number
  proposer: Hex
  signature: Hex
}

export type TxRow = {
  hash: Hex
  height: bigint
  index: number
  type: string
  sender: Hex
  nonce: bigint
  /** The message in canonical wire JSON. */
  message: string
  signature: Hex
  /** The receipt in canonical JSON. */
  receipt: string
}

/** Where a tx sits on the chain: block height and index in the block. */
export type TxPosition = { height: bigint; index: number }

export type StateRow = { key: string; value: Uint8Array; height: bigint }

export type BlockCommit = {
  block: BlockRow
  txs: readonly TxRow[]
  /** Changed state keys; null deletes. */
  writes: ReadonlyMap<string, Uint8Array | null>
}

export type BlobRow = {
  sha256: string
  size: number
  /** When it was stored, or last stored again (a paid re-upload): its age for garbage collection, ms since the epoch (database clock). */
  storedAtMs: number
  /** The same instant as the database has it (to the microsecond): a delete `ifStoredAt` it finds it unchanged. */
  storedAt: string
}

/**
 * Content-addressed blobs kept in the store itself, where several nodes share it (PostgreSQL):
 * every node serves every blob, and any node can rebuild an index from the store alone.
 * The embedded engine has none: its blobs are files in the data dir (src/datanets/blobs.ts).
 */
export interface BlobTable {
  /**
   * Stores bytes under their sha256 (the caller has checked it); false if they were there
   * already. Stored again, their age starts again (`storedAt`), as a blob file's mtime does.
   */
  putBlob(sha256: string, bytes: Uint8Array): Promise<boolean>
  getBlob(sha256: string): Promise<Uint8Array | undefined>
  hasBlob(sha256: string): Promise<boolean>
  /** Size and age of one blob, if stored. */
  statBlob(sha256: string): Promise<BlobRow | undefined>
  /**
   * Removes a blob; with `ifStoredAt`, only if it was not stored again since (a re-upload
   * racing the collector keeps it). Under a sequencer lease only while this node's term
   * holds (a node that lost the lease collects nothing). True if it was removed.
   */
  deleteBlob(sha256: string, o?: { ifStoredAt?: string }): Promise<boolean>
  /** Blobs in sha256 order, after `after` (hex) if given. */
  listBlobs(after: string | null, limit: number): Promise<BlobRow[]>
  /**
   * The lock that lets one node at a time collect the table's garbage (nodes sharing the
   * database): the function that lets it go, or undefined when another node holds it.
   */
  lockCollection(): Promise<(() => Promise<void>) | undefined>
}

export interface Store {
  readonly engine: string
  /** Where the data lives, for messages (a URL without its password). */
  readonly location: string
  /** Blobs shared through the store, if the engine keeps them (PostgreSQL). */
  readonly blobs?: BlobTable
  getMeta(key: string): Promise<string | undefined>
  /** Every meta entry, in key order (`sinew store copy`). */
  listMeta(): Promise<[string, string][]>
  putMeta(key: string, value: string): Promise<void>
  /**
   * Atomically and durably appends a block with its txs and state changes. A full or
   * unwritable disk throws a storage fault (`storage_full`, `storage_unwritable`) with
   * nothing of the block kept, and the store takes the next commit.
   */
  commitBlock(commit: BlockCommit): Promise<void>
  /** A small durable write outside the chain: resolves once the store takes writes again, throws its storage fault if not. */
  checkWritable(): Promise<void>
  head(): Promise<BlockRow | undefined>
  getBlock(height: bigint): Promise<BlockRow | undefined>
  listBlocks(fromHeight: bigint, limit: number): Promise<BlockRow[]>
  getBlockTxs(height: bigint): Promise<TxRow[]>
  getTx(hash: Hex): Promise<TxRow | undefined>
  /** Txs `sender` signed, newest first, strictly before position `before` (height, index) if given (an account's history, paged by cursor). */
  listSenderTxs(sender: Hex, before: TxPosition | undefined, limit: number): Promise<TxRow[]>
  /** How many txs `sender` signed. */
  countSenderTxs(sender: Hex): Promise<number>
  /** Every state row, in key order. */
  scanState(): AsyncIterable<StateRow>
  getState(key: string): Promise<StateRow | undefined>
  // State history, for proofs at past heights. Every `commitBlock` also records each of its
  // writes as (key, height, value or null for a delete), kept as long as the blocks. The
  // history starts at the height in meta `state_history_from` (0 for a store made with it;
  // a store that predates it records its head height then, with every current row as of its
  // last write): heights below it cannot be rebuilt.
  /** The keys written (set or deleted) by blocks in (afterHeight, toHeight], each once, in key order. */
  keysWrittenBetween(afterHeight: bigint, toHeight: bigint): Promise<string[]>
  /** A key's value as of block `height` (its last write at or below it); null when absent or deleted then. */
  getStateAt(key: string, height: bigint): Promise<Uint8Array | null>
  close(): Promise<void>
}
