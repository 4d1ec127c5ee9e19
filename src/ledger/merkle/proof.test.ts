import { randomBytes } from 'node:crypto'
import { encodePacked, keccak256 as viemKeccak, type Hex as ViemHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { isSinewError, toHex, type Hex } from '../../core/index.ts'
import { parseStateProof, SparseMerkleTree, verifyStateProof, type StateProof } from './index.ts'

const rnd = () => new Uint8Array(randomBytes(32))

/**
 * Line-by-line transcription of the Solidity verifier in docs/state-proofs.md (uint256 bit
 * arithmetic, abi.encodePacked, keccak256), so the documented contract is tested too.
 */
const sol = {
  leafHash: (key: ViemHex, value: ViemHex) => viemKeccak(encodePacked(['bytes1', 'bytes32', 'bytes32'], ['0x00', key, value])),
  computeRoot(key: ViemHex, start: ViemHex, siblings: readonly ViemHex[]): ViemHex {
    let node = start
    const k = BigInt(key)
    for (let i = siblings.length; i > 0; ) {
      --i
      if (((k >> BigInt(255 - i)) & 1n) === 1n) node = viemKeccak(encodePacked(['bytes1', 'bytes32', 'bytes32'], ['0x01', siblings[i], node]))
      else node = viemKeccak(encodePacked(['bytes1', 'bytes32', 'bytes32'], ['0x01', node, siblings[i]]))
    }
    return node
  },
  verifyInclusion(root: ViemHex, key: ViemHex, valueHash: ViemHex, siblings: readonly ViemHex[]): boolean {
    if (siblings.length > 256) return false
    return sol.computeRoot(key, sol.leafHash(key, valueHash), siblings) === root
  },
  verifyNonInclusion(root: ViemHex, key: ViemHex, hasOther: boolean, otherKey: ViemHex, otherValueHash: ViemHex, siblings: readonly ViemHex[]): boolean {
    const d = siblings.length
    if (d > 256) return false
    let start: ViemHex = `0x${'00'.repeat(32)}`
    if (hasOther) {
      if (otherKey === key) return false
      if (d > 0 && (BigInt(key) ^ BigInt(otherKey)) >> BigInt(256 - d) !== 0n) return false
      start = sol.leafHash(otherKey, otherValueHash)
    }
    return sol.computeRoot(key, start, siblings) === root
  },
  verify(root: ViemHex, p: StateProof): boolean {
    if (p.value !== null) return sol.verifyInclusion(root, p.key, p.value, p.siblings)
    const z: ViemHex = `0x${'00'.repeat(32)}`
    return sol.verifyNonInclusion(root, p.key, p.otherLeaf !== undefined, p.otherLeaf?.key ?? z, p.otherLeaf?.valueHash ?? z, p.siblings)
  },
}

function flipByte(h: Hex, byte: number): Hex {
  const b = Buffer.from(h.slice(2), 'hex')
  b[byte] ^= 0x01
  return `0x${b.toString('hex')}`
}

function both(root: Uint8Array, p: StateProof): boolean {
  const ours = verifyStateProof(root, p)
  expect(sol.verify(toHex(root), p)).toBe(ours) // the documented Solidity logic agrees
  return ours
}

describe('state proofs', () => {
  const tree = new SparseMerkleTree()
  const keys = Array.from({ length: 600 }, rnd)
  tree.update(keys.map((k) => [k, rnd()] as const))
  const root = tree.root()

  it('inclusion proofs verify, and fail for a wrong value, flipped sibling byte or wrong root', () => {
    for (const k of keys.slice(0, 60)) {
      const p = tree.prove(k)
      expect(p.value).toBe(toHex(tree.get(k)!))
      expect(p.otherLeaf).toBeUndefined()
      expect(both(root, p)).toBe(true)
      expect(verifyStateProof(toHex(root), p)).toBe(true)
      expect(both(root, { ...p, value: flipByte(p.value!, 31) })).toBe(false)
      expect(both(root, { ...p, key: flipByte(p.key, 0) })).toBe(false)
      expect(both(root, { ...p, value: null })).toBe(false) // "absent" claim for a present key
      for (let i = 0; i < p.siblings.length; i++) {
        const siblings = p.siblings.slice()
        siblings[i] = flipByte(siblings[i], (i * 7) % 32)
        expect(both(root, { ...p, siblings })).toBe(false)
      }
      expect(both(root, { ...p, siblings: p.siblings.slice(1) })).toBe(false)
      expect(both(root, { ...p, siblings: [...p.siblings, toHex(rnd())] })).toBe(false)
      expect(both(rnd(), p)).toBe(false)
    }
  })

  it('non-inclusion proofs verify for absent keys (ending at another leaf or at an empty subtree)', () => {
    let viaLeaf = 0
    let viaEmpty = 0
    for (let i = 0; i < 300; i++) {
      const k = rnd()
      const p = tree.prove(k)
      expect(p.value).toBeNull()
      if (p.otherLeaf) viaLeaf++
      else viaEmpty++
      expect(both(root, p)).toBe(true)
      // Any tampering fails: claimed value, other leaf's value/key, siblings.
      expect(both(root, { ...p, value: toHex(rnd()), otherLeaf: undefined })).toBe(false)
      if (p.otherLeaf) {
        expect(both(root, { ...p, otherLeaf: { ...p.otherLeaf, valueHash: flipByte(p.otherLeaf.valueHash, 3) } })).toBe(false)
        expect(both(root, { ...p, otherLeaf: undefined })).toBe(false)
        // Using the other leaf's proof to claim the other key is absent fails (it is present).
        expect(both(root, { ...p, key: p.otherLeaf.key, otherLeaf: { key: p.key, valueHash: p.otherLeaf.valueHash } })).toBe(false)
      }
      if (p.siblings.length > 0) {
        const siblings = p.siblings.slice()
        siblings[siblings.length - 1] = flipByte(siblings[siblings.length - 1], 9)
        expect(both(root, { ...p, siblings })).toBe(false)
      }
    }
    expect(viaLeaf).toBeGreaterThan(0)
    // Empty endings are rarer with random keys; force one below.
    const t = new SparseMerkleTree()
    const a = new Uint8Array(32)
    const b = new Uint8Array(32)
    b[0] = 0x01 // a and b share the first 7 bits, so the root's right child is empty
    t.update([
      [a, rnd()],
      [b, rnd()],
    ])
    const absent = new Uint8Array(32)
    absent[0] = 0x80
    const p = t.prove(absent)
    expect(p.otherLeaf).toBeUndefined()
    expect(p.siblings.length).toBe(1)
    expect(both(t.root(), p)).toBe(true)
    expect(both(t.root(), { ...p, siblings: [flipByte(p.siblings[0], 0)] })).toBe(false)
    viaEmpty++
    expect(viaEmpty).toBeGreaterThan(0)
  })

  it('non-inclusion fails for present keys, and an old absence proof fails once the key is added', () => {
    for (const k of keys.slice(0, 30)) {
      const p = tree.prove(k)
      expect(both(root, { key: p.key, value: null, siblings: p.siblings })).toBe(false)
    }
    const t = tree.clone()
    const k = rnd()
    const absent = t.prove(k)
    t.update([[k, rnd()]])
    expect(both(t.root(), absent)).toBe(false)
    expect(both(t.root(), t.prove(k))).toBe(true)
  })

  it('an otherLeaf off the key path, or equal to the key, is refused', () => {
    const k = rnd()
    const p = tree.prove(k)
    if (p.otherLeaf && p.siblings.length > 0) {
      // Same hashes but a key that does not share the path prefix.
      const offPath = flipByte(p.otherLeaf.key, 0).replace(/^0x(.)/, (_m, c: string) => `0x${(parseInt(c, 16) ^ 8).toString(16)}`) as Hex
      expect(verifyStateProof(root, { ...p, otherLeaf: { ...p.otherLeaf, key: offPath } })).toBe(false)
    }
    expect(verifyStateProof(root, { ...p, otherLeaf: { key: p.key, valueHash: toHex(rnd()) } })).toBe(false)
  })

  it('empty tree: the empty proof proves absence of anything', () => {
    const t = new SparseMerkleTree()
    const p = t.prove(rnd())
    expect(p).toEqual({ key: p.key, value: null, siblings: [] })
    expect(both(t.root(), p)).toBe(true)
  })

  it('malformed proofs verify as false, never throw', () => {
    const p = tree.prove(keys[0])
    for (const bad of [
      null,
      {},
      { ...p, key: '0x1234' },
      { ...p, siblings: 'nope' },
      { ...p, siblings: [...p.siblings.slice(1), 42] },
      { ...p, siblings: Array(257).fill(p.siblings[0]) },
      { ...p, value: 'zz' },
      { ...p, value: null, otherLeaf: null },
    ]) {
      expect(verifyStateProof(root, bad as unknown as StateProof)).toBe(false)
    }
    expect(verifyStateProof('0xnothex' as Hex, p)).toBe(false)
    expect(verifyStateProof(new Uint8Array(31), p)).toBe(false)
  })
})

describe('parseStateProof', () => {
  const tree = new SparseMerkleTree()
  const keys = Array.from({ length: 50 }, rnd)
  tree.update(keys.map((k) => [k, rnd()] as const))

  function expectBad(input: unknown, field: string, reason?: RegExp) {
    try {
      parseStateProof(input)
      expect.unreachable(`accepted ${JSON.stringify(input)}`)
    } catch (e) {
      expect(isSinewError(e)).toBe(true)
      if (!isSinewError(e)) return
      expect(e.code).toBe('invalid_state_proof')
      expect(e.details.field).toBe(field)
      if (reason) expect(String(e.details.reason)).toMatch(reason)
    }
  }

  it('round-trips proofs through JSON text and objects, normalising hex case', () => {
    for (let i = 0; i < 20; i++) {
      const p = tree.prove(i % 2 === 0 ? keys[i] : rnd())
      expect(parseStateProof(JSON.stringify(p))).toEqual(p)
      const upper = JSON.parse(JSON.stringify(p).replace(/0x([0-9a-f]+)/g, (_m, h: string) => '0x' + h.toUpperCase()))
      expect(parseStateProof(upper)).toEqual(p)
      expect(verifyStateProof(tree.root(), parseStateProof(upper))).toBe(true)
    }
  })

  it('names the field and the reason', () => {
    const p = tree.prove(keys[0])
    const absent = (() => {
      for (;;) {
        const q = tree.prove(rnd())
        if (q.otherLeaf) return q
      }
    })()
    expectBad('{not json', 'proof', /JSON/)
    expectBad([], 'proof', /object/)
    expectBad({ value: p.value, siblings: p.siblings }, 'key', /required/)
    expectBad({ key: p.key, siblings: p.siblings }, 'value', /required/)
    expectBad({ key: p.key, value: p.value }, 'siblings', /required/)
    expectBad({ ...p, key: p.key.slice(0, 64) }, 'key', /32-byte/)
    expectBad({ ...p, key: 12 }, 'key', /hex/)
    expectBad({ ...p, value: '0x' + 'g'.repeat(64) }, 'value', /hex/)
    expectBad({ ...p, siblings: {} }, 'siblings', /array/)
    expectBad({ ...p, siblings: [...p.siblings, '0x12'] }, `siblings[${p.siblings.length}]`, /32-byte/)
    expectBad({ ...p, siblings: Array(257).fill(p.siblings[0]) }, 'siblings', /at most 256/)
    expectBad({ ...p, extra: 1 }, 'extra', /not a known field/)
    expectBad({ ...p, otherLeaf: absent.otherLeaf }, 'otherLeaf', /non-inclusion/)
    expectBad({ ...absent, otherLeaf: 'x' }, 'otherLeaf', /object/)
    expectBad({ ...absent, otherLeaf: { ...absent.otherLeaf, x: 1 } }, 'otherLeaf.x', /not a known field/)
    expectBad({ ...absent, otherLeaf: { key: absent.otherLeaf!.key } }, 'otherLeaf.valueHash', /32-byte/)
    expectBad({ ...absent, otherLeaf: { ...absent.otherLeaf, key: absent.key } }, 'otherLeaf.key', /differ/)
    const offPath = (absent.key.slice(0, 2) + (parseInt(absent.key[2], 16) ^ 8).toString(16) + absent.otherLeaf!.key.slice(3)) as Hex
    if (absent.siblings.length > 0) expectBad({ ...absent, otherLeaf: { ...absent.otherLeaf, key: offPath } }, 'otherLeaf.key', /share the first/)
  })
})

describe('docs/state-proofs.md test vectors', () => {
  const w = (b: number) => new Uint8Array(32).fill(b)
  const key = (first: number) => {
    const k = new Uint8Array(32)
    k[0] = first
    return k
  }

  it('list tree vectors', async () => {
    const { listLeaf, merkleRoot, merkleProof } = await import('./index.ts')
    const leaves = [w(0x11), w(0x22), w(0x33)].map((it, i) => listLeaf(i, it))
    expect(leaves.map((l) => toHex(l))).toEqual([
      '0x8e4b8e18156a1c7271055ce5b7ef53bb370294ebd631a3b95418a92da46e681f',
      '0xe1031cb5455ce6d92228eb518f7ddc2929163c5f690e2954464cda386d9e4123',
      '0x38c69d0fb0b7ba6e58153079cb783058ce2781c400754aadf37081d41ebae877',
    ])
    expect(toHex(merkleRoot(leaves))).toBe('0xb866c228b77b3811e5e067ae5394e9fa903b5ef71d58817755306becadd2efd5')
    expect(merkleProof(leaves, 0).map((p) => toHex(p))).toEqual([toHex(leaves[1]), toHex(leaves[2])])
    expect(merkleProof(leaves, 2).map((p) => toHex(p))).toEqual(['0xfc72f362d1057996214b0cc3f718d5d68571cbdedeed5d97db1ddab525468441'])
  })

  it('state tree vectors', () => {
    const t = new SparseMerkleTree()
    expect(toHex(t.root())).toBe(`0x${'00'.repeat(32)}`)
    t.update([[key(0x00), w(0xaa)]])
    expect(toHex(t.root())).toBe('0x9efd20705f957e88dd7570ee1b5fff7482a59495f7a1a849122dfcf795947d45')
    t.update([
      [key(0x80), w(0xbb)],
      [key(0x40), w(0xcc)],
    ])
    expect(toHex(t.root())).toBe('0xfdfd01c5697ecba5f1730247d1a8c417c37098fb5de2c6ae942eaf1d49640366')
    expect(t.prove(key(0x40))).toEqual({
      key: '0x4000000000000000000000000000000000000000000000000000000000000000',
      value: '0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc',
      siblings: ['0xe19950ec46cc8aa7c904b3e95e486549fc2c25e27e223630303f0f21044644f0', '0x9efd20705f957e88dd7570ee1b5fff7482a59495f7a1a849122dfcf795947d45'],
    })
    expect(t.prove(key(0xc0))).toEqual({
      key: '0xc000000000000000000000000000000000000000000000000000000000000000',
      value: null,
      siblings: ['0x7fa7913ff3a5afd4f1fe6c9d4a2a4390591cbf9202344ebe44d41570b0dc0358'],
      otherLeaf: {
        key: '0x8000000000000000000000000000000000000000000000000000000000000000',
        valueHash: '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      },
    })
  })
})
