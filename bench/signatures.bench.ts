/**
 * Signing layer throughput: signer recovery (viem pure JS, native inline, worker pool) and
 * EIP-712 hashing (precompiled hasher vs viem hashTypedData). Every figure is the median of
 * 3 runs. Also measures the pool's break-even batch size, which sets INLINE_BELOW in
 * src/ledger/signing/pool.ts, and how much main-thread time the pool leaves to the ledger.
 *
 *   npx tsx bench/signatures.bench.ts      (or: npm run bench signatures)
 */
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { hashTypedData, recoverAddress, toHex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import {
  INLINE_BELOW,
  SignatureRecoveryPool,
  createTypedDataHasher,
  nativeSecp256k1,
  parseSignature,
  recoverSigner,
  signDigest,
  type RecoveryItem,
} from '../src/ledger/signing/index.ts'
import { median, writeResult } from './lib.ts'

const RUNS = 3

function makeItems(count: number): RecoveryItem[] {
  const keys = Array.from({ length: 16 }, () => generatePrivateKey())
  return Array.from({ length: count }, (_, i) => {
    const digest = new Uint8Array(randomBytes(32))
    return { digest, signature: parseSignature(signDigest(keys[i % keys.length], digest)) }
  })
}

/** Median over RUNS of ops/s, where one run does `ops` operations via `fn`. */
async function rate(ops: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  const rates: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    await fn()
    rates.push((ops * 1000) / (performance.now() - t0))
  }
  return Math.round(median(rates))
}

/** Median latency (ms) of one call, over `reps` calls. */
async function latency(reps: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = []
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now()
    await fn()
    times.push(performance.now() - t0)
  }
  return Number(median(times).toFixed(3))
}

const fmt = (n: number) => n.toLocaleString('en-US')

async function main() {
  console.log(`[bench] signatures: native secp256k1 = ${nativeSecp256k1}`)
  const items5000 = makeItems(5000)
  const items1000 = items5000.slice(0, 1000)

  // --- recovery ---------------------------------------------------------------------------
  const viemItems = items5000.slice(0, 300).map((it) => ({ hash: toHex(it.digest), signature: toHex(it.signature) }))
  await recoverAddress(viemItems[0]) // warm up
  const viemRecover = await rate(viemItems.length, async () => {
    for (const it of viemItems) await recoverAddress(it)
  })

  for (const it of items1000) recoverSigner(it.digest, it.signature) // warm up
  const nativeInline = await rate(items5000.length, () => {
    for (const it of items5000) recoverSigner(it.digest, it.signature)
  })

  const pool = new SignatureRecoveryPool({ workers: 2, inlineBelow: 1 })
  await pool.recoverMany(items1000) // start-up and JIT warm-up
  const pool1000 = await rate(5000, async () => {
    for (let k = 0; k < 5; k++) await pool.recoverMany(items1000)
  })
  const cpu0 = process.cpuUsage()
  const tPool = performance.now()
  const pool5000 = await rate(5000, () => pool.recoverMany(items5000))
  // CPU time of all threads / wall time: how many cores the pool actually got. On an idle
  // 2-core machine this approaches 2; when other processes compete it drops, and so does
  // the pool's advantage over inline.
  const cpu = process.cpuUsage(cpu0)
  const coresObtained = Number(((cpu.user + cpu.system) / 1000 / (performance.now() - tPool)).toFixed(2))

  // Main-thread cost of a pooled batch: event-loop busy time while the workers recover.
  // That is the CPU the ledger thread keeps for parsing, hashing, state and storage.
  const elu0 = performance.eventLoopUtilization()
  const t0 = performance.now()
  for (let k = 0; k < 5; k++) await pool.recoverMany(items1000)
  const wall = performance.now() - t0
  const elu = performance.eventLoopUtilization(elu0)
  const mainThreadMsPer1000 = Number((elu.active / 5).toFixed(2))
  const inlineMsPer1000 = Number(((1000 * 1000) / nativeInline).toFixed(2))

  // --- threshold: inline vs pool per batch size ------------------------------------------
  const threshold: { batch: number; inlineMs: number; poolMs: number; speedup: number }[] = []
  for (const size of [1, 4, 8, 16, 32, 100, 1000, 5000]) {
    const batch = items5000.slice(0, size)
    const reps = size <= 100 ? 200 : size <= 1000 ? 20 : 6
    // Interleaved, so both sides see the same background load.
    const inlineTimes: number[] = []
    const poolTimes: number[] = []
    for (let r = 0; r < reps; r++) {
      inlineTimes.push(
        await latency(1, () => {
          for (const it of batch) recoverSigner(it.digest, it.signature)
        }),
      )
      poolTimes.push(await latency(1, () => pool.recoverMany(batch)))
    }
    const inlineMs = Number(median(inlineTimes).toFixed(3))
    const poolMs = Number(median(poolTimes).toFixed(3))
    threshold.push({ batch: size, inlineMs, poolMs, speedup: Number((inlineMs / poolMs).toFixed(2)) })
  }
  await pool.close()

  // --- hashing ----------------------------------------------------------------------------
  const domain = { name: 'Sinew', version: '1', chainId: 31337n }
  const transferTypes = {
    Transfer: [
      { name: 'to', type: 'address' },
      { name: 'amount', type: 'uint256' },
      { name: 'nonce', type: 'uint64' },
    ],
  }
  const contributeTypes = {
    Contribute: [
      { name: 'title', type: 'string' },
      { name: 'contentHash', type: 'bytes32' },
      { name: 'public', type: 'bool' },
      { name: 'shareBps', type: 'uint16' },
      { name: 'tags', type: 'string[]' },
      { name: 'author', type: 'Author' },
      { name: 'nonce', type: 'uint64' },
    ],
    Author: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
  }
  const transfers = Array.from({ length: 5000 }, (_, i) => ({ to: toHex(randomBytes(20)), amount: BigInt(toHex(randomBytes(16))), nonce: BigInt(i) }))
  const contributions = Array.from({ length: 5000 }, (_, i) => ({
    title: `dataset shard ${i} — ${'x'.repeat(i % 50)}`,
    contentHash: toHex(randomBytes(32)),
    public: i % 2 === 0,
    shareBps: BigInt(i % 10000),
    tags: ['text', 'en', `batch-${i % 7}`],
    author: { name: `agent-${i}`, wallet: toHex(randomBytes(20)) },
    nonce: BigInt(i),
  }))
  const hashTransfer = createTypedDataHasher(domain, transferTypes, 'Transfer')
  const hashContribute = createTypedDataHasher(domain, contributeTypes, 'Contribute')
  for (const m of transfers) hashTransfer(m) // warm up
  for (const m of contributions) hashContribute(m)
  const hashing = {
    transfer: {
      precompiled: await rate(transfers.length, () => transfers.forEach((m) => hashTransfer(m))),
      viem: await rate(1000, () =>
        transfers.slice(0, 1000).forEach((message) => hashTypedData({ domain, types: transferTypes, primaryType: 'Transfer', message })),
      ),
    },
    contribute: {
      precompiled: await rate(contributions.length, () => contributions.forEach((m) => hashContribute(m))),
      viem: await rate(1000, () =>
        contributions.slice(0, 1000).forEach((message) => hashTypedData({ domain, types: contributeTypes, primaryType: 'Contribute', message })),
      ),
    },
  }

  const recovery = { viemRecoverAddress: viemRecover, nativeInline, pool2Workers: { batch1000: pool1000, batch5000: pool5000 } }
  console.log('recoveries/s (median of 3):')
  console.log(`  viem recoverAddress (pure JS)  ${fmt(viemRecover)}`)
  console.log(`  native inline                  ${fmt(nativeInline)}`)
  console.log(`  pool, 2 workers, batch 1000    ${fmt(pool1000)}`)
  console.log(`  pool, 2 workers, batch 5000    ${fmt(pool5000)}   (cores obtained ${coresObtained}, load average ${loadavg()[0].toFixed(2)})`)
  console.log(`  main-thread ms per 1000 tx: inline ${inlineMsPer1000}, pool ${mainThreadMsPer1000} (wall ${(wall / 5).toFixed(1)})`)
  console.log('inline vs pool latency per batch (ms, median):')
  for (const t of threshold) console.log(`  batch ${String(t.batch).padStart(5)}: inline ${t.inlineMs}  pool ${t.poolMs}  speedup ${t.speedup}x`)
  console.log(`  INLINE_BELOW = ${INLINE_BELOW}`)
  console.log('EIP-712 hashes/s (median of 3):')
  for (const [k, v] of Object.entries(hashing))
    console.log(`  ${k.padEnd(10)} precompiled ${fmt(v.precompiled)}  viem ${fmt(v.viem)}  (${(v.precompiled / v.viem).toFixed(1)}x)`)

  writeResult('signatures', {
    runs: RUNS,
    nativeSecp256k1,
    recoveriesPerSecond: recovery,
    poolCoresObtained: coresObtained,
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
    mainThreadMsPer1000: { inline: inlineMsPer1000, pool: mainThreadMsPer1000 },
    inlineVsPool: threshold,
    inlineBelow: INLINE_BELOW,
    hashesPerSecond: hashing,
  })
}

await main()
