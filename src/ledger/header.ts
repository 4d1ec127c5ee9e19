/**
 * Block headers. The hash is keccak256(abi.encode(uint64 height, bytes32 parentHash,
 * uint64 timestamp, bytes32 txRoot, bytes32 stateRoot, bytes32 receiptsRoot,
 * uint32 txCount, address proposer)), so a Solidity contract recomputes it with
 * `keccak256(abi.encode(...))`; the proposer signs that hash directly (ecrecover-able,
 * no message prefix). Block 0 is derived from genesis and carries no signature.
 */
import { z } from 'zod'
import { addressSchema, fromHex, hash32Schema, hexSchema, keccak256Bytes, toHex, uint256Word, uintStringSchema, type Hex } from '../core/index.ts'
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

/** The JSON form of a header, used by the API, the CLI and proofs: integers as decimal strings. */
export const headerJsonSchema = z
  .object({
    height: uintStringSchema,
    hash: hash32Schema,
    parentHash: hash32Schema,
    timestamp: uintStringSchema.describe('ms since the epoch'),
    txRoot: hash32Schema,
    stateRoot: hash32Schema,
    receiptsRoot: hash32Schema,
    txCount: z.number().int().min(0),
    proposer: addressSchema,
    signature: hexSchema.describe("The proposer's 65-byte signature of the header hash (0x for block 0)"),
  })
  .meta({ id: 'BlockHeader', description: 'A block header; its hash commits to every field but the signature' })

export type HeaderJson = z.output<typeof headerJsonSchema>

export function headerToJson(h: SignedHeader): HeaderJson {
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
