/**
 * Block headers. The hash is keccak256(abi.encode(uint64 height, bytes32 parentHash,
 * uint64 timestamp, bytes32 txRoot, bytes32 stateRoot, bytes32 receiptsRoot,
 * uint32 txCount, address proposer)), so a Solidity contract recomputes it with
 * `keccak256(abi.encode(...))`; the proposer signs that hash directly (ecrecover-able,
 * no message prefix). Block 0 is derived from genesis and carries no signature.
 */
import { fromHex, keccak256Bytes, toHex, uint256Word, type Hex } from '../core/index.ts'
import type { BlockRow } from '../store/index.ts'

/** A signed header is exactly the block row the store keeps. */
export type SignedHeader = BlockRow
/** The fields the hash covers. */
export type BlockHeader = Omit<SignedHeader, 'hash' | 'signature'>

export function encodeHeader(h: BlockHeader): Uint8Array {
  const out = new Uint8Array(32 * 8)
  out.set(uint256Word(h.height), 0)
  out.set(fromHex(h.parentHash), 32)
  out.set(uint256Word(h.timestamp), 64)
  out.set(fromHex(h.txRoot), 96)
  out.set(fromHex(h.stateRoot), 128)
  out.set(fromHex(h.receiptsRoot), 160)
  out.set(uint256Word(BigInt(h.txCount)), 192)
  out.set(fromHex(h.proposer), 224 + 12)
  return out
}

export function headerHash(h: BlockHeader): Hex {
  return toHex(keccak256Bytes(encodeHeader(h)))
}

/** JSON form used by the API, the CLI and proofs: integers as decimal strings. */
export function headerToJson(h: SignedHeader): Record<string, string | number> {
  return {
    height: h.height.toString(),
    hash: h.hash,
    parentHash: h.parentHash,
    timestamp: h.timestamp.toString(),
    txRoot: h.txRoot,
    stateRoot: h.stateRoot,
    receiptsRoot: h.receiptsRoot,
    txCount: h.txCount,
    proposer: h.proposer,
    signature: h.signature,
  }
}
