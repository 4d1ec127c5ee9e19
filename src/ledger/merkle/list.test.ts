import { randomBytes } from 'node:crypto'
import { encodeAbiParameters, encodePacked, keccak256 as viemKeccak, type Hex as ViemHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { fromHex, isSinewError, toHex } from '../../core/index.ts'
import { listLeaf, merkleLevels, merkleProof, merkleProofFromLevels, merkleRoot, verifyMerkleProof, ZERO_HASH } from './index.ts'

const rnd = () => new Uint8Array(randomBytes(32))

// Independent reference written from the spec with viem: sorted-pair keccak, odd last node
// promoted unchanged.
function refPair(a: ViemHex, b: ViemHex): ViemHex {
  return BigInt(a) < BigInt(b) ? viemKeccak(encodePacked(['bytes32', 'bytes32'], [a, b])) : viemKeccak(encodePacked(['bytes32', 'bytes32'], [b, a]))
}
function refRoot(leaves: ViemHex[]): ViemHex {
  if (leaves.length === 0) return toHex(ZERO_HASH)
  let level = leaves
  while (level.length > 1) {
    const up: ViemHex[] = []
    for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? refPair(level[i], level[i + 1]) : level[i])
    level = up
  }
  return level[0]
}
// OpenZeppelin MerkleProof.processProof, transcribed.
function ozVerify(proof: ViemHex[], root: ViemHex, leaf: ViemHex): boolean {
  let computed = leaf
  for (const p of proof) computed = refPair(computed, p)
  return computed === root
}

describe('listLeaf', () => {
  it('is keccak256(abi.encode(uint256 index, bytes32 itemHash))', () => {
    for (const index of [0, 1, 255, 256, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const item = rnd()
      const want = viemKeccak(encodeAbiParameters([{ type: 'uint256' }, { type: 'bytes32' }], [BigInt(index), toHex(item)]))
      expect(toHex(listLeaf(index, item))).toBe(want)
    }
  })

  it('rejects bad index and item sizes', () => {
    expect(() => listLeaf(-1, rnd())).toThrow(/index/)
    expect(() => listLeaf(1.5, rnd())).toThrow(/index/)
    expect(() => listLeaf(0, new Uint8Array(31))).toThrow(/32 bytes/)
  })
})

describe('merkleRoot / merkleProof', () => {
  it('empty list -> ZERO_HASH, one leaf -> the leaf, two -> sorted pair', () => {
    expect(toHex(merkleRoot([]))).toBe(toHex(ZERO_HASH))
    const a = rnd()
    const b = rnd()
    expect(toHex(merkleRoot([a]))).toBe(toHex(a))
    expect(toHex(merkleRoot([a, b]))).toBe(refPair(toHex(a), toHex(b)))
    expect(toHex(merkleRoot([a, b]))).toBe(toHex(merkleRoot([b, a]))) // sorted pairs are commutative
  })

  it('matches the reference and OpenZeppelin verification for every index, n = 1..40', () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => listLeaf(i, rnd()))
      const root = merkleRoot(leaves)
      expect(toHex(root)).toBe(refRoot(leaves.map((l) => toHex(l))))
      const levels = merkleLevels(leaves)
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(leaves, i)
        expect(proof.map((p) => toHex(p))).toEqual(merkleProofFromLevels(levels, i).map((p) => toHex(p)))
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)))
        expect(verifyMerkleProof(root, leaves[i], proof)).toBe(true)
        expect(
          ozVerify(
            proof.map((p) => toHex(p)),
            toHex(root),
            toHex(leaves[i]),
          ),
        ).toBe(true)
        // The wrong leaf, or any flipped byte of the proof, fails.
        expect(verifyMerkleProof(root, leaves[(i + 1) % n], proof)).toBe(n === 1)
        if (proof.length > 0) {
          const bad = proof.map((p) => p.slice())
          bad[i % bad.length][i % 32] ^= 1
          expect(verifyMerkleProof(root, leaves[i], bad)).toBe(false)
        }
      }
    }
  })

  it('binds position: the same item at another index is another leaf', () => {
    const item = rnd()
    const leaves = [listLeaf(0, item), listLeaf(1, rnd()), listLeaf(2, rnd())]
    const root = merkleRoot(leaves)
    expect(verifyMerkleProof(root, listLeaf(1, item), merkleProof(leaves, 0))).toBe(false)
    expect(verifyMerkleProof(root, listLeaf(0, item), merkleProof(leaves, 0))).toBe(true)
  })

  it('rejects out-of-range indices with a typed error', () => {
    const leaves = [rnd(), rnd()]
    for (const bad of [-1, 2, 0.5]) {
      try {
        merkleProof(leaves, bad)
        expect.unreachable()
      } catch (e) {
        expect(isSinewError(e) && e.code).toBe('invalid_index')
      }
    }
    expect(() => merkleProof([], 0)).toThrow(/out of range/)
    expect(() => merkleRoot([new Uint8Array(5)])).toThrow(/leaves\[0\]/)
  })

  it('verifyMerkleProof returns false (no throw) on malformed input', () => {
    const a = rnd()
    expect(verifyMerkleProof(new Uint8Array(3), a, [])).toBe(false)
    expect(verifyMerkleProof(a, a, [new Uint8Array(31)])).toBe(false)
    expect(verifyMerkleProof(a, fromHex(toHex(a)), [])).toBe(true)
  })
})
