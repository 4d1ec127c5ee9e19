/**
 * Merkle commitments: sparse Merkle tree build / batch update / prove / verify at 1M keys,
 * and the ordered list tree of a large block. Writes bench/results/proof.json.
 */
import { randomBytes } from 'node:crypto'
import { listLeaf, merkleRoot, SparseMerkleTree, verifyStateProof, type StateEntry, type StateProof } from '../src/ledger/merkle/index.ts'
import { median, percentile, writeResult } from './lib.ts'

function entries(n: number): StateEntry[] {
  const keys = randomBytes(n * 32)
  const vals = randomBytes(n * 32)
  const out: StateEntry[] = new Array(n)
  for (let i = 0; i < n; i++) out[i] = [keys.subarray(i * 32, i * 32 + 32), vals.subarray(i * 32, i * 32 + 32)]
  return out
}

function timeBuild(n: number): { tree: SparseMerkleTree; ms: number; rssMB: number; es: StateEntry[] } {
  const es = entries(n)
  global.gc?.()
  const rss0 = process.memoryUsage().rss
  const t0 = performance.now()
  const tree = new SparseMerkleTree()
  tree.update(es)
  tree.root()
  const ms = performance.now() - t0
  return { tree, ms, rssMB: (process.memoryUsage().rss - rss0) / 2 ** 20, es }
}

const r = (x: number, d = 3) => Number(x.toFixed(d))

const b100k = timeBuild(100_000)
console.log(`build 100k keys: ${r(b100k.ms, 0)} ms (${b100k.tree.stats().hashes} hashes)`)

const b1m = timeBuild(1_000_000)
const tree = b1m.tree
const stats1m = tree.stats()
console.log(
  `build 1M keys: ${r(b1m.ms, 0)} ms, ${stats1m.hashes} hashes (${Math.round(stats1m.hashes / (b1m.ms / 1000))}/s), ` +
    `arenas ${r(stats1m.arenaBytes / 2 ** 20, 0)} MiB, rss +${r(b1m.rssMB, 0)} MiB (incl. input)`,
)

// Batch updates of 5k keys into 1M: half overwrite existing keys, half insert new ones.
const batchMs: number[] = []
const batchHashes: number[] = []
for (let rep = 0; rep < 7; rep++) {
  const batch: StateEntry[] = entries(2_500)
  for (let i = 0; i < 2_500; i++) batch.push([b1m.es[Math.floor(Math.random() * b1m.es.length)][0], randomBytes(32)])
  const h0 = tree.stats().hashes
  const t0 = performance.now()
  tree.update(batch)
  tree.root()
  batchMs.push(performance.now() - t0)
  batchHashes.push(tree.stats().hashes - h0)
}
console.log(`batch update 5k keys into 1M: median ${r(median(batchMs), 1)} ms, ${median(batchHashes)} hashes`)

// Prove and verify: half present keys, half absent.
const root = tree.root()
const proveMs: number[] = []
const verifyMs: number[] = []
const proofs: StateProof[] = []
let depthSum = 0
const N = 4_000
for (let i = 0; i < N; i++) {
  const key = i % 2 === 0 ? (b1m.es[Math.floor(Math.random() * b1m.es.length)][0] as Uint8Array) : randomBytes(32)
  const t0 = performance.now()
  const p = tree.prove(key)
  proveMs.push(performance.now() - t0)
  proofs.push(p)
  depthSum += p.siblings.length
}
let ok = 0
for (const p of proofs) {
  const t0 = performance.now()
  if (verifyStateProof(root, p)) ok++
  verifyMs.push(performance.now() - t0)
}
if (ok !== N) throw new Error(`only ${ok}/${N} proofs verified`)
console.log(
  `prove (1M keys): median ${r(median(proveMs))} ms, p99 ${r(percentile(proveMs, 99))} ms; ` +
    `verify: median ${r(median(verifyMs))} ms, p99 ${r(percentile(verifyMs, 99))} ms; mean depth ${r(depthSum / N, 1)}`,
)

// Ordered list tree: txRoot of a 10k-tx block.
const items = Array.from({ length: 10_000 }, () => randomBytes(32))
const listMs: number[] = []
for (let rep = 0; rep < 5; rep++) {
  const t0 = performance.now()
  merkleRoot(items.map((it, i) => listLeaf(i, it)))
  listMs.push(performance.now() - t0)
}
console.log(`list root of 10k items (leaves + tree): median ${r(median(listMs), 1)} ms`)

writeResult('proof', {
  build100kMs: r(b100k.ms, 0),
  build1MMs: r(b1m.ms, 0),
  build1MHashes: stats1m.hashes,
  build1MHashesPerSec: Math.round(stats1m.hashes / (b1m.ms / 1000)),
  arenaMiB1M: r(stats1m.arenaBytes / 2 ** 20, 0),
  rssDeltaMiB1M: r(b1m.rssMB, 0),
  batch5kInto1M: { medianMs: r(median(batchMs), 1), p99Ms: r(percentile(batchMs, 99), 1), medianHashes: median(batchHashes), runs: batchMs.length },
  prove: { medianMs: r(median(proveMs), 4), p99Ms: r(percentile(proveMs, 99), 4), samples: N, meanDepth: r(depthSum / N, 2) },
  verify: { medianMs: r(median(verifyMs), 4), p99Ms: r(percentile(verifyMs, 99), 4), samples: N },
  listRoot10kMs: r(median(listMs), 1),
})
