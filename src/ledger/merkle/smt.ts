/**
 * Sparse Merkle tree over 256-bit key hashes: the ledger's state root.
 *
 * Hashing (byte-exact spec in docs/state-proofs.md):
 *   empty subtree = 32 zero bytes
 *   leaf          = keccak256(0x00 ‖ keyHash ‖ valueHash)
 *   internal node = keccak256(0x01 ‖ left ‖ right)
 * Key bits are read MSB-first (bit 0 = top bit of byte 0) and choose left (0) / right (1).
 * A subtree holding exactly one leaf is that leaf's hash, placed at the depth where the key
 * becomes unique, so a random-key tree of n leaves is ~log2(n) deep. The shape is a pure
 * function of the key set, hence so is the root: insertion order and batching cannot
 * change it.
 *
 * Memory: no object per node. Leaves and internal nodes live in typed-array arenas
 * (leaf: 64 bytes key‖value + 32 bytes hash; internal: two int32 child refs + 32 bytes
 * hash), about 180 bytes per key at 1M keys. A child ref is an int32: 0 = empty subtree,
 * > 0 = internal node id, < 0 = leaf id (-ref - 1).
 *
 * Updates: `update(batch)` walks the tree once, partitioning the batch by key bit at each
 * depth (an in-place MSB radix sort), and rehashes a node only when something below it
 * changed: each dirty node exactly once, O(k log n) hashes for k changed keys.
 */
import { toHex, SinewError, type Hex } from '../../core/index.ts'
import { assertWord, keyBit, LEAF_PREFIX, NODE_PREFIX } from './hash.ts'
import { keccak256Into } from '../../core/index.ts'
import type { StateProof } from './proof.ts'

const ZERO_HEX = toHex(new Uint8Array(32))
const MIN_CAPACITY = 64

export type StateEntry = readonly [keyHash: Uint8Array, valueHash: Uint8Array | null]

export type TreeStats = {
  /** Keys stored. */
  size: number
  /** Internal nodes (each one 0x01-prefixed hash). */
  nodes: number
  /** keccak256 calls made by this tree since it was created (tests and benchmarks). */
  hashes: number
  /** Bytes held by the arenas (capacity, not just what is in use). */
  arenaBytes: number
}

export class SparseMerkleTree {
  private rootRef = 0
  private count = 0
  private nodeCount = 0
  private hashCount = 0

  // Leaf arena: id -> key ‖ value (64 bytes) and leaf hash (32 bytes).
  private leafKV: Buffer
  private leafHash: Buffer
  private leafCap: number
  private leafNext = 0
  private leafFree: number[] = []

  // Internal node arena: id -> left, right, hash. Id 0 is never used (0 means empty).
  private left: Int32Array
  private right: Int32Array
  private nodeHash: Buffer
  private nodeCap: number
  private nodeNext = 1
  private nodeFree: number[] = []

  // Batch being applied (only during update): keys, values, delete flags, order.
  private ek: Buffer = Buffer.alloc(0)
  private ev: Buffer = Buffer.alloc(0)
  private edel: Uint8Array = new Uint8Array(0)
  private order: Int32Array = new Int32Array(0)
  private tmp: Int32Array = new Int32Array(0)
  /** Set by every `apply`/`upd` call: did the returned subtree change? */
  private changed = false

  private readonly scratch = Buffer.alloc(65)

  constructor() {
    this.leafCap = MIN_CAPACITY
    this.leafKV = Buffer.alloc(this.leafCap * 64)
    this.leafHash = Buffer.alloc(this.leafCap * 32)
    this.nodeCap = MIN_CAPACITY
    this.left = new Int32Array(this.nodeCap)
    this.right = new Int32Array(this.nodeCap)
    this.nodeHash = Buffer.alloc(this.nodeCap * 32)
  }

  get size(): number {
    return this.count
  }

  stats(): TreeStats {
    return {
      size: this.count,
      nodes: this.nodeCount,
      hashes: this.hashCount,
      arenaBytes: this.leafKV.length + this.leafHash.length + this.left.byteLength + this.right.byteLength + this.nodeHash.length,
    }
  }

  /** The stored valueHash of `keyHash`, or undefined if absent. */
  get(keyHash: Uint8Array): Uint8Array | undefined {
    assertWord(keyHash, 'keyHash')
    const ref = this.descend(keyHash, null)
    if (ref < 0) {
      const off = (-ref - 1) * 64
      if (this.leafKeyEquals(off, keyHash)) return copyWord(this.leafKV, off + 32)
    }
    return undefined
  }

  has(keyHash: Uint8Array): boolean {
    return this.get(keyHash) !== undefined
  }

  root(): Uint8Array {
    const out = new Uint8Array(32)
    this.writeHash(this.rootRef, out, 0)
    return out
  }

  /**
   * Applies a batch of sets (valueHash) and deletes (null). Within one batch a key given
   * twice takes its last value. The whole batch is validated before anything changes.
   */
  update(entries: Iterable<StateEntry>): void {
    const list: readonly StateEntry[] = Array.isArray(entries) ? entries : Array.from(entries)
    const k = list.length
    for (let i = 0; i < k; i++) {
      const entry = list[i]
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw new SinewError({
          code: 'invalid_state_entry',
          message: 'State entry must be a [keyHash, valueHash | null] pair',
          details: { field: `entries[${i}]` },
        })
      }
      assertWord(entry[0], `entries[${i}].keyHash`)
      if (entry[1] !== null) assertWord(entry[1], `entries[${i}].valueHash`)
    }
    if (k === 0) return

    this.ek = Buffer.allocUnsafe(k * 32)
    this.ev = Buffer.alloc(k * 32)
    this.edel = new Uint8Array(k)
    this.order = new Int32Array(k)
    this.tmp = new Int32Array(k)
    for (let i = 0; i < k; i++) {
      const [key, value] = list[i]
      this.ek.set(key, i * 32)
      if (value === null) this.edel[i] = 1
      else this.ev.set(value, i * 32)
      this.order[i] = i
    }
    // Grow the arenas once up front rather than doubling repeatedly while hashing.
    this.reserveLeaves(this.leafNext + k)
    this.reserveNodes(this.nodeNext + Math.ceil(k * 1.5))
    try {
      this.rootRef = this.upd(this.rootRef, 0, 0, k)
    } finally {
      this.ek = Buffer.alloc(0)
      this.ev = Buffer.alloc(0)
      this.edel = new Uint8Array(0)
      this.order = new Int32Array(0)
      this.tmp = new Int32Array(0)
    }
  }

  /** Inclusion proof if `keyHash` is present, otherwise a non-inclusion proof. */
  prove(keyHash: Uint8Array): StateProof {
    assertWord(keyHash, 'keyHash')
    const siblings: Hex[] = []
    const ref = this.descend(keyHash, siblings)
    const key = toHex(keyHash)
    if (ref === 0) return { key, value: null, siblings }
    const off = (-ref - 1) * 64
    if (this.leafKeyEquals(off, keyHash)) return { key, value: toHex(this.leafKV.subarray(off + 32, off + 64)), siblings }
    return {
      key,
      value: null,
      siblings,
      otherLeaf: { key: toHex(this.leafKV.subarray(off, off + 32)), valueHash: toHex(this.leafKV.subarray(off + 32, off + 64)) },
    }
  }

  /** All (keyHash, valueHash) pairs in key order. */
  *entries(): Generator<[Uint8Array, Uint8Array]> {
    const stack: number[] = this.rootRef === 0 ? [] : [this.rootRef]
    while (stack.length > 0) {
      const ref = stack.pop()!
      if (ref > 0) {
        // Right first so the left subtree pops first: ascending key order.
        if (this.right[ref] !== 0) stack.push(this.right[ref])
        if (this.left[ref] !== 0) stack.push(this.left[ref])
      } else {
        const off = (-ref - 1) * 64
        yield [copyWord(this.leafKV, off), copyWord(this.leafKV, off + 32)]
      }
    }
  }

  /** An independent copy (arenas are flat typed arrays, so this is a few memcpys). */
  clone(): SparseMerkleTree {
    const t = new SparseMerkleTree()
    t.rootRef = this.rootRef
    t.count = this.count
    t.nodeCount = this.nodeCount
    t.leafKV = Buffer.from(this.leafKV)
    t.leafHash = Buffer.from(this.leafHash)
    t.leafCap = this.leafCap
    t.leafNext = this.leafNext
    t.leafFree = this.leafFree.slice()
    t.left = this.left.slice()
    t.right = this.right.slice()
    t.nodeHash = Buffer.from(this.nodeHash)
    t.nodeCap = this.nodeCap
    t.nodeNext = this.nodeNext
    t.nodeFree = this.nodeFree.slice()
    return t
  }

  // ---- walking ---------------------------------------------------------------------

  /** Follows keyHash's bits to the first leaf or empty ref; collects siblings if asked. */
  private descend(keyHash: Uint8Array, siblings: Hex[] | null): number {
    let ref = this.rootRef
    let depth = 0
    while (ref > 0) {
      const bit = keyBit(keyHash, depth)
      if (siblings) siblings.push(this.hashHex(bit ? this.left[ref] : this.right[ref]))
      ref = bit ? this.right[ref] : this.left[ref]
      depth++
    }
    return ref
  }

  private leafKeyEquals(off: number, key: Uint8Array): boolean {
    const kv = this.leafKV
    for (let i = 0; i < 32; i++) if (kv[off + i] !== key[i]) return false
    return true
  }

  private hashHex(ref: number): Hex {
    if (ref === 0) return ZERO_HEX
    if (ref < 0) {
      const off = (-ref - 1) * 32
      return toHex(this.leafHash.subarray(off, off + 32))
    }
    return toHex(this.nodeHash.subarray(ref * 32, ref * 32 + 32))
  }

  private writeHash(ref: number, dst: Uint8Array, at: number): void {
    if (ref === 0) dst.fill(0, at, at + 32)
    else if (ref < 0) this.leafHash.copy(dst, at, (-ref - 1) * 32, (-ref - 1) * 32 + 32)
    else this.nodeHash.copy(dst, at, ref * 32, ref * 32 + 32)
  }

  // ---- batch update ----------------------------------------------------------------

  /**
   * Applies batch entries order[lo..hi) (all sharing `depth` leading bits with the
   * subtree `ref`) and returns the new ref; sets `this.changed`. An unchanged subtree
   * returns the same ref and costs no hash.
   */
  private upd(ref: number, depth: number, lo: number, hi: number): number {
    if (lo === hi) {
      this.changed = false
      return ref
    }
    // All 256 bits consumed: the entries are one key given several times; the last wins.
    if (depth === 256) return this.applyOne(ref, depth, this.order[hi - 1])
    if (hi - lo === 1 && ref <= 0) return this.applyOne(ref, depth, this.order[lo])

    let l = 0
    let r = 0
    if (ref > 0) {
      l = this.left[ref]
      r = this.right[ref]
    } else if (ref < 0) {
      // Push the existing leaf one level down; a leaf's hash does not depend on its depth,
      // so this is free, and combine() lifts it back up if it stays alone.
      if ((this.leafKV[(-ref - 1) * 64 + (depth >> 3)] >> (7 - (depth & 7))) & 1) r = ref
      else l = ref
    }
    const mid = this.partition(lo, hi, depth)
    const nl = this.upd(l, depth + 1, lo, mid)
    const cl = this.changed
    const nr = this.upd(r, depth + 1, mid, hi)
    const cr = this.changed
    if (!cl && !cr) {
      this.changed = false
      return ref
    }
    this.changed = true
    return this.combine(Math.max(ref, 0), nl, nr)
  }

  /** One entry against an empty or leaf subtree at `depth`. */
  private applyOne(ref: number, depth: number, e: number): number {
    const del = this.edel[e] === 1
    if (ref === 0) {
      if (del) {
        this.changed = false
        return 0
      }
      this.changed = true
      return -this.newLeaf(e) - 1
    }
    const id = -ref - 1
    const off = id * 64
    const eOff = e * 32
    if (this.ek.compare(this.leafKV, off, off + 32, eOff, eOff + 32) === 0) {
      if (del) {
        this.freeLeaf(id)
        this.changed = true
        return 0
      }
      if (this.ev.compare(this.leafKV, off + 32, off + 64, eOff, eOff + 32) === 0) {
        this.changed = false
        return ref
      }
      this.ev.copy(this.leafKV, off + 32, eOff, eOff + 32)
      this.hashLeaf(id)
      this.changed = true
      return ref
    }
    if (del) {
      this.changed = false
      return ref
    }
    this.changed = true
    return this.join(ref, -this.newLeaf(e) - 1, depth)
  }

  /** Subtree at `depth` holding exactly the two leaves a and b (different keys). */
  private join(a: number, b: number, depth: number): number {
    const aOff = (-a - 1) * 64
    const bOff = (-b - 1) * 64
    const kv = this.leafKV
    let p = depth
    for (;;) {
      const byte = p >> 3
      const x = kv[aOff + byte] ^ kv[bOff + byte]
      // Only look at bits >= p within this byte.
      const masked = x & (0xff >> (p & 7))
      if (masked !== 0) {
        p = (byte << 3) + Math.clz32(masked) - 24
        break
      }
      p = (byte + 1) << 3
    }
    const aRight = (kv[aOff + (p >> 3)] >> (7 - (p & 7))) & 1
    let node = aRight ? this.newNode(b, a) : this.newNode(a, b)
    // Shared prefix bits between depth and p: a chain of nodes with one empty child.
    for (let d = p - 1; d >= depth; d--) {
      node = (kv[aOff + (d >> 3)] >> (7 - (d & 7))) & 1 ? this.newNode(0, node) : this.newNode(node, 0)
    }
    return node
  }

  /** The subtree with children (l, r): collapses a lone leaf upward, reuses `existing`. */
  private combine(existing: number, l: number, r: number): number {
    if ((l === 0 && r <= 0) || (r === 0 && l < 0)) {
      if (existing > 0) this.freeNode(existing)
      return l === 0 ? r : l
    }
    if (existing > 0) {
      this.left[existing] = l
      this.right[existing] = r
      this.hashNode(existing)
      return existing
    }
    return this.newNode(l, r)
  }

  /** Stable in-place partition of order[lo..hi) by key bit `depth`; returns the split. */
  private partition(lo: number, hi: number, depth: number): number {
    const order = this.order
    const tmp = this.tmp
    const ek = this.ek
    const byte = depth >> 3
    const shift = 7 - (depth & 7)
    let z = lo
    let o = 0
    for (let i = lo; i < hi; i++) {
      const e = order[i]
      if ((ek[e * 32 + byte] >> shift) & 1) tmp[o++] = e
      else order[z++] = e
    }
    for (let j = 0; j < o; j++) order[z + j] = tmp[j]
    return z
  }

  // ---- arenas ----------------------------------------------------------------------

  private newLeaf(e: number): number {
    let id = this.leafFree.pop()
    if (id === undefined) {
      if (this.leafNext >= this.leafCap) this.reserveLeaves(this.leafNext + 1)
      id = this.leafNext++
    }
    this.ek.copy(this.leafKV, id * 64, e * 32, e * 32 + 32)
    this.ev.copy(this.leafKV, id * 64 + 32, e * 32, e * 32 + 32)
    this.hashLeaf(id)
    this.count++
    return id
  }

  private freeLeaf(id: number): void {
    this.leafFree.push(id)
    this.count--
  }

  private newNode(l: number, r: number): number {
    let id = this.nodeFree.pop()
    if (id === undefined) {
      if (this.nodeNext >= this.nodeCap) this.reserveNodes(this.nodeNext + 1)
      id = this.nodeNext++
    }
    this.left[id] = l
    this.right[id] = r
    this.hashNode(id)
    this.nodeCount++
    return id
  }

  private freeNode(id: number): void {
    this.left[id] = 0
    this.right[id] = 0
    this.nodeFree.push(id)
    this.nodeCount--
  }

  private hashLeaf(id: number): void {
    const s = this.scratch
    s[0] = LEAF_PREFIX
    this.leafKV.copy(s, 1, id * 64, id * 64 + 64)
    keccak256Into(s, 0, 65, this.leafHash, id * 32)
    this.hashCount++
  }

  private hashNode(id: number): void {
    const s = this.scratch
    s[0] = NODE_PREFIX
    this.writeHash(this.left[id], s, 1)
    this.writeHash(this.right[id], s, 33)
    keccak256Into(s, 0, 65, this.nodeHash, id * 32)
    this.hashCount++
  }

  private reserveLeaves(n: number): void {
    if (n <= this.leafCap) return
    let cap = this.leafCap
    while (cap < n) cap *= 2
    this.leafKV = grow(this.leafKV, cap * 64)
    this.leafHash = grow(this.leafHash, cap * 32)
    this.leafCap = cap
  }

  private reserveNodes(n: number): void {
    if (n <= this.nodeCap) return
    let cap = this.nodeCap
    while (cap < n) cap *= 2
    const left = new Int32Array(cap)
    left.set(this.left)
    const right = new Int32Array(cap)
    right.set(this.right)
    this.left = left
    this.right = right
    this.nodeHash = grow(this.nodeHash, cap * 32)
    this.nodeCap = cap
  }
}

function grow(buf: Buffer, bytes: number): Buffer {
  const out = Buffer.alloc(bytes)
  buf.copy(out, 0)
  return out
}

function copyWord(buf: Buffer, off: number): Uint8Array {
  const out = new Uint8Array(32)
  out.set(buf.subarray(off, off + 32))
  return out
}
