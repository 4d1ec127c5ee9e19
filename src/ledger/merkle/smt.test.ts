import { randomBytes } from 'node:crypto'
import { concat, keccak256 as viemKeccak, type Hex as ViemHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { isSinewError, toHex } from '../../core/index.ts'
import { SparseMerkleTree, ZERO_HASH, type StateEntry } from './index.ts'

const ZERO = toHex(ZERO_HASH)
const rnd = () => new Uint8Array(randomBytes(32))

/** Deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j], xs[i]]
  }
  return xs
}

// Naive recursive reference, straight from the spec, hashed with viem (not our code).
function bitOf(key: ViemHex, i: number): number {
  return Number((BigInt(key) >> BigInt(255 - i)) & 1n)
}
function refRoot(pairs: Map<ViemHex, ViemHex>): ViemHex {
  const go = (keys: ViemHex[], depth: number): ViemHex => {
    if (keys.length === 0) return ZERO
    if (keys.length === 1) return viemKeccak(concat(['0x00', keys[0], pairs.get(keys[0])!]))
    const l = keys.filter((k) => bitOf(k, depth) === 0)
    const r = keys.filter((k) => bitOf(k, depth) === 1)
    return viemKeccak(concat(['0x01', go(l, depth + 1), go(r, depth + 1)]))
  }
  return go([...pairs.keys()], 0)
}

/** Keys sharing long prefixes, to exercise deep chains (and the 256-bit bottom). */
function clusteredKeys(n: number, rand: () => number): Uint8Array[] {
  const base = rnd()
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const k = base.slice()
    const from = Math.floor(rand() * 32) // randomize everything from byte `from` on (partially)
    k[from] ^= 1 << Math.floor(rand() * 8)
    if (rand() < 0.5) k[31] ^= Math.floor(rand() * 256)
    out.push(k)
  }
  return out
}

function hexMap(tree: SparseMerkleTree): Map<ViemHex, ViemHex> {
  return new Map([...tree.entries()].map(([k, v]) => [toHex(k), toHex(v)]))
}

describe('SparseMerkleTree', () => {
  it('empty tree has root ZERO_HASH and no keys', () => {
    const t = new SparseMerkleTree()
    expect(toHex(t.root())).toBe(ZERO)
    expect(t.size).toBe(0)
    expect(t.get(rnd())).toBeUndefined()
    t.update([[rnd(), null]])
    expect(toHex(t.root())).toBe(ZERO)
    expect(t.stats().hashes).toBe(0)
  })

  it('one key: root is the leaf hash; deleting it gives ZERO_HASH again', () => {
    const t = new SparseMerkleTree()
    const k = rnd()
    const v = rnd()
    t.update([[k, v]])
    expect(toHex(t.root())).toBe(viemKeccak(concat(['0x00', toHex(k), toHex(v)])))
    expect(toHex(t.get(k)!)).toBe(toHex(v))
    t.update([[k, null]])
    expect(toHex(t.root())).toBe(ZERO)
    expect(t.size).toBe(0)
  })

  for (const [name, makeKeys] of [
    ['random keys', (n: number) => Array.from({ length: n }, rnd)],
    ['clustered keys (long shared prefixes)', (n: number, rand: () => number) => clusteredKeys(n, rand)],
  ] as const) {
    it(`root = naive reference, independent of order and batching (${name})`, () => {
      for (let seed = 1; seed <= 6; seed++) {
        const rand = prng(seed)
        const n = 20 + seed * 25
        const keys = makeKeys(n, rand)
        const want = new Map<ViemHex, ViemHex>()
        const ops: StateEntry[] = []
        // Inserts, overwrites and deletes (of present and absent keys), in random order.
        for (let i = 0; i < n * 3; i++) {
          const k = keys[Math.floor(rand() * keys.length)]
          if (rand() < 0.3) ops.push([k, null])
          else ops.push([k, rnd()])
        }
        for (const [k, v] of ops) {
          if (v === null) want.delete(toHex(k))
          else want.set(toHex(k), toHex(v))
        }
        const wantRoot = refRoot(want)

        const oneByOne = new SparseMerkleTree()
        for (const op of ops) oneByOne.update([op])
        const batched = new SparseMerkleTree()
        batched.update(ops)
        const chunked = new SparseMerkleTree()
        for (let i = 0; i < ops.length; i += 7) chunked.update(ops.slice(i, i + 7))
        // The final set inserted fresh, in a shuffled order.
        const fresh = new SparseMerkleTree()
        fresh.update(
          shuffle(
            [...want].map(([k, v]) => [Buffer.from(k.slice(2), 'hex'), Buffer.from(v.slice(2), 'hex')] as const),
            rand,
          ),
        )

        for (const t of [oneByOne, batched, chunked, fresh]) {
          expect(toHex(t.root())).toBe(wantRoot)
          expect(t.size).toBe(want.size)
          expect(hexMap(t)).toEqual(want)
        }
        for (const k of keys) expect(batched.get(k) && toHex(batched.get(k)!)).toBe(want.get(toHex(k)))
        // Deleting everything returns to the empty root.
        batched.update(keys.map((k) => [k, null] as const))
        expect(toHex(batched.root())).toBe(ZERO)
        expect(batched.size).toBe(0)
        expect(batched.stats().nodes).toBe(0)
      }
    })
  }

  it('keys that differ only in the last bit (a 255-node chain) and in the first bit', () => {
    const a = new Uint8Array(32).fill(0xab)
    const b = a.slice()
    b[31] ^= 1
    const c = a.slice()
    c[0] ^= 0x80
    const t = new SparseMerkleTree()
    t.update([
      [a, rnd()],
      [b, rnd()],
    ])
    expect(t.prove(a).siblings.length).toBe(256)
    t.update([[c, rnd()]])
    expect(toHex(t.root())).toBe(refRoot(hexMap(t)))
    t.update([[b, null]])
    expect(t.prove(a).siblings.length).toBe(1) // a is unique again right below the root
    expect(toHex(t.root())).toBe(refRoot(hexMap(t)))
  })

  it('within one batch the last write of a key wins', () => {
    const k = rnd()
    const v1 = rnd()
    const v2 = rnd()
    const other = rnd()
    const t = new SparseMerkleTree()
    t.update([
      [k, v1],
      [other, v1],
      [k, v2],
    ])
    expect(toHex(t.get(k)!)).toBe(toHex(v2))
    t.update([
      [k, null],
      [k, v1],
    ])
    expect(toHex(t.get(k)!)).toBe(toHex(v1))
    t.update([
      [k, v2],
      [k, null],
    ])
    expect(t.get(k)).toBeUndefined()
    expect(t.size).toBe(1)
  })

  it('a batch rehashes each dirty node exactly once; no-op writes cost nothing', () => {
    const t = new SparseMerkleTree()
    const keys = Array.from({ length: 3000 }, rnd)
    t.update(keys.map((k) => [k, rnd()] as const))
    const changed = keys.slice(0, 200)
    // Dirty nodes = the changed leaves + every internal node on their paths (union).
    const prefixes = new Set<string>()
    for (const k of changed) {
      const depth = t.prove(k).siblings.length
      const bits = BigInt(toHex(k)).toString(2).padStart(256, '0')
      for (let d = 0; d < depth; d++) prefixes.add(bits.slice(0, d))
    }
    const before = t.stats().hashes
    t.update(changed.map((k) => [k, rnd()] as const))
    expect(t.stats().hashes - before).toBe(changed.length + prefixes.size)

    const root = toHex(t.root())
    const h = t.stats().hashes
    t.update(changed.map((k) => [k, t.get(k)!] as const)) // same values
    t.update(Array.from({ length: 50 }, () => [rnd(), null] as const)) // absent keys
    expect(t.stats().hashes).toBe(h)
    expect(toHex(t.root())).toBe(root)
  })

  it('validates the whole batch before changing anything', () => {
    const t = new SparseMerkleTree()
    t.update([[rnd(), rnd()]])
    const root = toHex(t.root())
    try {
      t.update([
        [rnd(), rnd()],
        [new Uint8Array(31), rnd()],
      ])
      expect.unreachable()
    } catch (e) {
      expect(isSinewError(e) && e.details.field).toBe('entries[1].keyHash')
    }
    expect(() => t.update([[rnd(), new Uint8Array(33)]])).toThrow(/valueHash must be 32 bytes/)
    expect(() => t.get(new Uint8Array(2))).toThrow(/keyHash/)
    expect(toHex(t.root())).toBe(root)
    expect(t.size).toBe(1)
  })

  it('accepts any iterable, and clone() is independent', () => {
    const t = new SparseMerkleTree()
    function* gen(): Generator<StateEntry> {
      for (let i = 0; i < 100; i++) yield [rnd(), rnd()]
    }
    t.update(gen())
    expect(t.size).toBe(100)
    const c = t.clone()
    const root = toHex(t.root())
    c.update([[rnd(), rnd()]])
    expect(toHex(t.root())).toBe(root)
    expect(c.size).toBe(101)
    expect(toHex(c.root())).toBe(refRoot(hexMap(c)))
  })

  it('returned hashes are copies, not views into the arenas', () => {
    const t = new SparseMerkleTree()
    const k = rnd()
    t.update([[k, rnd()]])
    const r = t.root()
    const v = t.get(k)!
    r.fill(0)
    v.fill(0)
    expect(toHex(t.root())).not.toBe(ZERO)
    expect(toHex(t.get(k)!)).not.toBe(ZERO)
  })
})
