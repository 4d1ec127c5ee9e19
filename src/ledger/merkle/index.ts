/**
 * Merkle commitments of the ledger (byte-level spec: docs/state-proofs.md).
 *  - Ordered list trees for txRoot / receiptsRoot: OpenZeppelin MerkleProof-compatible.
 *  - A sparse Merkle tree over 256-bit key hashes for stateRoot, with inclusion and
 *    non-inclusion proofs.
 */
export { ZERO_HASH, hashPairSorted, stateLeafHash, stateNodeHash } from './hash.ts'
export { listLeaf, merkleRoot, merkleProof, merkleLevels, merkleProofFromLevels, verifyMerkleProof } from './list.ts'
export { SparseMerkleTree, type StateEntry, type TreeStats } from './smt.ts'
export { verifyStateProof, parseStateProof, MAX_PROOF_DEPTH, type StateProof } from './proof.ts'
