/**
 * Block and tx rows as both engines store them (snake_case columns; integers as numbers in
 * SQLite, as decimal strings from PostgreSQL's BIGINT), and their conversion to the Store's types.
 */
import type { BlockRow, Hex, TxRow } from './types.ts'

export type BlockDbRow = {
  height: number | string
  hash: string
  parent_hash: string
  timestamp: number | string
  tx_root: string
  state_root: string
  receipts_root: string
  tx_count: number
  proposer: string
  signature: string
}

export type TxDbRow = {
  hash: Buffer
  height: number | string
  idx: number
  type: string
  sender: string
  nonce: string
  message: string
  signature: string
  receipt: string
}

export function toBlock(r: BlockDbRow): BlockRow {
  return {
    height: BigInt(r.height),
    hash: r.hash as Hex,
    parentHash: r.parent_hash as Hex,
    timestamp: BigInt(r.timestamp),
    txRoot: r.tx_root as Hex,
    stateRoot: r.state_root as Hex,
    receiptsRoot: r.receipts_root as Hex,
    txCount: r.tx_count,
    proposer: r.proposer as Hex,
    signature: r.signature as Hex,
  }
}

export function toTx(r: TxDbRow): TxRow {
  return {
    hash: `0x${r.hash.toString('hex')}`,
    height: BigInt(r.height),
    index: r.idx,
    type: r.type,
    sender: r.sender as Hex,
    nonce: BigInt(r.nonce),
    message: r.message,
    signature: r.signature as Hex,
    receipt: r.receipt,
  }
}
