/**
 * Ordered list trees (txRoot, receiptsRoot, Datanet version roots).
 *
 * Proofs verify with OpenZeppelin's `MerkleProof.verify(proof, root, leaf)`: each step is
 * the commutative keccak of the sorted pair, so the proof carries no left/right flags.
 * Because sorted pairs forget position, the position is bound into the leaf itself:
 * `listLeaf(i, itemHash) = keccak256(abi.encode(uint256 i, bytes32 itemHash))`.
 *
 * Shape: level 0 is the leaves in list order. Each level pairs nodes (0,1), (2,3), ...;
 * when a level has an odd count its last node is promoted to the next level unchanged
 * (no duplication, no hash). Empty list -> ZERO_HASH; one leaf -> that leaf.
 * n leaves cost exactly n - 1 hashes.
 */
import { uint256Word, SinewError } from '../../core/index.ts'
import { assertWord, hashPairSorted, ZERO_HASH } from './hash.ts'
import { keccak256Into } from '../../core/index.ts'

const leafScratch = Buffer.alloc(64)

/** keccak256(abi.encode(uint256 index, bytes32 itemHash)): binds the item to its position. */
export function listLeaf(index: number, itemHash: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new SinewError({ code: 'invalid_index', message: 'List index must be a non-negative safe integer', details: { field: 'index', got: index } })
  }
  assertWord(itemHash, 'itemHash')
  leafScratch.set(uint256Word(BigInt(index)), 0)
  leafScratch.set(itemHash, 32)
  const out = new Uint8Array(32)
  keccak256Into(leafScratch, 0, 64, out, 0)
  return out
}

function checkLeaves(leaves: readonly Uint8Array[]): void {
  for (let i = 0; i < leaves.length; i++) assertWord(leaves[i], `leaves[${i}]`)
}

/** The next level up: pairs hashed, an odd last node promoted unchanged. */
function nextLevel(level: readonly Uint8Array[]): Uint8Array[] {
  const up: Uint8Array[] = new Array(Math.ceil(level.length / 2))
  for (let i = 0; i + 1 < level.length; i += 2) up[i >> 1] = hashPairSorted(level[i], level[i + 1])
  if (level.length % 2 === 1) up[up.length - 1] = level[level.length - 1]
  return up
}

/**
 * All levels, leaves first, root last (an empty list gives `[[]]`). Build once and call
 * `merkleProofFromLevels` for each index when many proofs of the same list are needed
 * (e.g. every receipt of a block).
 */
export function merkleLevels(leaves: readonly Uint8Array[]): Uint8Array[][] {
  checkLeaves(leaves)
  if (leaves.length === 0) return [[]]
  const levels: Uint8Array[][] = [leaves.slice()]
  while (levels[levels.length - 1].length > 1) levels.push(nextLevel(levels[levels.length - 1]))
  return levels
}

export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  checkLeaves(leaves)
  if (leaves.length === 0) return ZERO_HASH.slice()
  let level: readonly Uint8Array[] = leaves
  while (level.length > 1) level = nextLevel(level)
  return level[0].slice()
}

export function merkleProofFromLevels(levels: readonly (readonly Uint8Array[])[], index: number): Uint8Array[] {
  const count = levels[0]?.length ?? 0
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new SinewError({
      code: 'invalid_index',
      message: 'List index out of range',
      details: { field: 'index', got: index, count },
      hint: count === 0 ? 'An empty list has no proofs.' : `Use an index in 0..${count - 1}.`,
    })
  }
  const proof: Uint8Array[] = []
  let i = index
  for (let l = 0; l < levels.length - 1; l++) {
    const level = levels[l]
    const sibling = i ^ 1
    // A promoted node (odd last one) has no sibling at this level: nothing to add.
    if (sibling < level.length) proof.push(level[sibling].slice())
    i >>= 1
  }
  return proof
}

export function merkleProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new SinewError({
      code: 'invalid_index',
      message: 'List index out of range',
      details: { field: 'index', got: index, count: leaves.length },
      hint: leaves.length === 0 ? 'An empty list has no proofs.' : `Use an index in 0..${leaves.length - 1}.`,
    })
  }
  return merkleProofFromLevels(merkleLevels(leaves), index)
}

/** OpenZeppelin `MerkleProof.verify`: fold the proof with the commutative pair hash. */
export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!(root instanceof Uint8Array) || root.length !== 32 || !(leaf instanceof Uint8Array) || leaf.length !== 32) return false
  let node = leaf
  for (const p of proof) {
    if (!(p instanceof Uint8Array) || p.length !== 32) return false
    node = hashPairSorted(node, p)
  }
  for (let i = 0; i < 32; i++) if (node[i] !== root[i]) return false
  return true
}
