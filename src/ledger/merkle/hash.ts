/**
 * Hash primitives shared by the list trees and the sparse Merkle tree. Everything here is
 * keccak256 so a Solidity contract can recompute it (see docs/state-proofs.md).
 *
 * The hot paths hash from one reused scratch buffer with core's keccak256Into, because
 * building inputs with concatBytes would allocate a fresh array per hash.
 */
import { keccak256Into, SinewError } from '../../core/index.ts'

/** 32 zero bytes: the root of an empty list and of an empty tree, and any empty subtree. */
export const ZERO_HASH: Uint8Array = new Uint8Array(32)

/** Domain prefixes of the sparse Merkle tree, so a leaf can never be read as a node. */
export const LEAF_PREFIX = 0x00
export const NODE_PREFIX = 0x01

const scratch64 = Buffer.alloc(64)
const scratch65 = Buffer.alloc(65)

function digest(input: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(32)
  keccak256Into(input, 0, len, out, 0)
  return out
}

/** Lexicographic (= uint256) comparison of two 32-byte words: <0, 0, >0. */
export function compareWords(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[i] - b[i]
    if (d !== 0) return d
  }
  return 0
}

/** OpenZeppelin `Hashes.commutativeKeccak256`: keccak256 of the two words, smaller first. */
export function hashPairSorted(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (compareWords(a, b) <= 0) {
    scratch64.set(a, 0)
    scratch64.set(b, 32)
  } else {
    scratch64.set(b, 0)
    scratch64.set(a, 32)
  }
  return digest(scratch64, 64)
}

/** Sparse Merkle tree leaf: keccak256(0x00 ‖ keyHash ‖ valueHash). */
export function stateLeafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  scratch65[0] = LEAF_PREFIX
  scratch65.set(keyHash, 1)
  scratch65.set(valueHash, 33)
  return digest(scratch65, 65)
}

/** Sparse Merkle tree internal node: keccak256(0x01 ‖ left ‖ right). */
export function stateNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  scratch65[0] = NODE_PREFIX
  scratch65.set(left, 1)
  scratch65.set(right, 33)
  return digest(scratch65, 65)
}

/** Bit `i` (0 = most significant bit of byte 0) of a 32-byte key hash. */
export function keyBit(key: Uint8Array, i: number): number {
  return (key[i >> 3] >> (7 - (i & 7))) & 1
}

/** Throws unless `value` is a 32-byte Uint8Array; `what` names it in the error. */
export function assertWord(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw new SinewError({
      code: 'invalid_hash',
      message: `${what} must be 32 bytes`,
      details: {
        field: what,
        got: value instanceof Uint8Array ? `${value.length} bytes` : value === null ? 'null' : typeof value,
      },
      hint: 'Pass a 32-byte Uint8Array (a keccak256 digest).',
    })
  }
}
