/**
 * Ingest: signed transfers sent in batches over HTTP on 127.0.0.1 to a node running in a
 * separate process, counted at acknowledgment (the answer comes only once the block is
 * durably committed). Then `sinew verify` replays the same chain.
 *
 * Targets (issue: ledger foundation): >= 5,000 tx/s sustained over 100,000 txs (median of
 * 3 runs), p99 acknowledgment latency <= 250 ms; verify at least as fast as ingest.
 *
 *   npx tsx bench/ingest.bench.ts [--txs 100000] [--runs 3] [--batch 200] [--concurrency 4] [--workers 0,2]
 *     [--store sqlite,postgres://postgres@127.0.0.1:5432/postgres]
 *
 * `--workers` lists the node's serving-worker counts to compare (docs/scaling.md): each run
 * starts one node per count, one after another (interleaved, so a busy shared machine
 * weighs on each the same), and the summary gives the median per count. Default 0.
 *
 * `--store` lists the stores to compare the same way: `sqlite` (the data dir, default) and/or
 * a PostgreSQL URL of a user that may create databases; each run on PostgreSQL gets a fresh
 * database (dropped after its verify), so runs start from the same empty chain.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { keccak256Bytes, toHex, utf8 } from '../src/core/index.ts'
import {
  addressOf,
  eip712Types,
  genesisToJson,
  GENESIS_FORMAT,
  insecureDevKey,
  parseGenesis,
  signDigest,
  signingDomain,
  transferKind,
} from '../src/ledger/index.ts'
import { createTypedDataHasher } from '../src/ledger/signing/index.ts'
import { benchDir, median, percentile, writeResult } from './lib.ts'

const { values: args } = parseArgs({
  options: {
    txs: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '4' },
    senders: { type: 'string', default: '64' },
    workers: { type: 'string', default: '0' },
    store: { type: 'string', default: 'sqlite' },
  },
})
const STORES = args.store.split(',')
const WORKERS = args.workers.split(',').map(Number)
const TXS = Number(args.txs)
const RUNS = Number(args.runs)
const BATCH = Number(args.batch)
const CONCURRENCY = Number(args.concurrency)
const SENDERS = Number(args.senders)
const CHAIN_ID = 424242n
const repo = join(benchDir, '..')

const senderKeys = Array.from({ length: SENDERS }, (_, i) => toHex(keccak256Bytes(utf8(`sinew bench sender ${i}`))))
const senderAddresses = senderKeys.map(addressOf)

function writeBenchGenesis(dir: string): void {
  const genesis = parseGenesis({
    format: GENESIS_FORMAT,
    network: 'bench',
    chainId: CHAIN_ID.toString(),
    timestamp: '1767225600000',
    sequencer: addressOf(insecureDevKey('sequencer')),
    params: { protocolFeeBps: 500, treasury: addressOf(insecureDevKey('treasury')) },
    alloc: senderAddresses.map((address) => ({ address, balance: (10n ** 24n).toString() })),
    insecure: true,
    note: 'benchmark chain with public keys',
  })
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(genesisToJson(genesis)))
}

/** Pre-signs every tx (native secp256k1), grouped into the batches each client connection sends. */
function signAll(): string[][] {
  const hasher = createTypedDataHasher(signingDomain(CHAIN_ID), eip712Types(transferKind), 'Transfer')
  const nonces = new Array<bigint>(SENDERS).fill(0n)
  // Connection c owns senders s with s % CONCURRENCY === c, so per-sender order is kept.
  const perConnection: string[][] = Array.from({ length: CONCURRENCY }, () => [])
  for (let i = 0; i < TXS; i++) {
    const s = i % SENDERS
    const to = toHex(keccak256Bytes(utf8(`recipient ${i}`)).subarray(12))
    const message = { to, amount: BigInt(1 + (i % 1000)), nonce: nonces[s]++ }
    const signature = signDigest(senderKeys[s], hasher(message))
    perConnection[s % CONCURRENCY].push(
      JSON.stringify({ type: 'Transfer', message: { to, amount: message.amount.toString(), nonce: message.nonce.toString() }, signature }),
    )
  }
  return perConnection.map((txs) => {
    const bodies: string[] = []
    for (let i = 0; i < txs.length; i += BATCH) bodies.push(`{"txs":[${txs.slice(i, i + BATCH).join(',')}]}`)
    return bodies
  })
}

/** Where a run's chain goes: the data dir (`sqlite`), or a fresh database on the given PostgreSQL server. */
async function freshStore(store: string): Promise<{ url?: string; drop: () => Promise<void> }> {
  if (store === 'sqlite') return { drop: async () => {} }
  const name = `sinew_ingest_bench_${process.pid}_${Math.floor(Math.random() * 1e9)}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: store })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  await admin(`CREATE DATABASE ${name}`)
  const url = new URL(store)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name}`) }
}

/** The store's name in output: `sqlite` or `postgres` (no URL, no password). */
const storeLabel = (store: string) => (store === 'sqlite' ? 'sqlite' : 'postgres')

async function startNode(dir: string, port: number, workers: number, store: string | undefined): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []),
      '--import',
      'tsx',
      join(repo, 'src/cli/main.ts'),
      'node',
      '--data-dir',
      dir,
      '--port',
      String(port),
      '--log-level',
      'warn',
      '--workers',
      String(workers),
      ...(store ? ['--store', store] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  // Up to 2 minutes: a start under tsx on a loaded shared machine is slow.
  for (let i = 0; i < 1200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v1/status`)).ok) return child
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('node did not start')
}

/**
 * CPU seconds (user + system, all its threads) the node process has used, from
 * /proc/<pid>/stat; undefined where there is no /proc. On a shared machine the CPU per tx
 * says more about the node than tx/s, which also measures what else runs.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime (fields 14, 15) in USER_HZ ticks
  } catch {
    return undefined
  }
}

async function runOnce(batches: string[][], run: number, workers: number, storeUrl: string | undefined, store: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sinew-ingest-'))
  writeBenchGenesis(dir)
  const port = 30000 + run + Math.floor(Math.random() * 1000)
  const node = await startNode(dir, port, workers, storeUrl)
  const url = `http://127.0.0.1:${port}/v1/txs`
  const latencies: number[] = []
  let acked = 0
  let failed = 0
  const cpuBefore = cpuSeconds(node.pid)
  const started = performance.now()
  await Promise.all(
    batches.map(async (bodies) => {
      for (const body of bodies) {
        const t0 = performance.now()
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        const json = (await r.json()) as { results: { ok: boolean; error?: unknown }[] }
        const dt = performance.now() - t0
        for (const x of json.results) {
          if (x.ok) {
            acked++
            latencies.push(dt)
          } else if (failed++ < 3) console.error('rejected:', JSON.stringify(x))
        }
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const cpuAfter = cpuSeconds(node.pid)
  const nodeCpuMsPerTx = cpuBefore !== undefined && cpuAfter !== undefined && acked > 0 ? ((cpuAfter - cpuBefore) * 1000) / acked : undefined
  node.kill('SIGTERM')
  await new Promise((r) => node.once('exit', r))
  const result = {
    run,
    store,
    workers,
    loadAverage: loadavg()[0],
    txs: acked,
    failed,
    seconds,
    txPerSecond: acked / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    /** The node's CPU time per acknowledged tx (all its threads; with workers, the writer process only). */
    nodeCpuMsPerTx,
  }
  console.log(
    `run ${run}, ${store}, ${workers} workers: ${acked} acked (${failed} refused) in ${seconds.toFixed(2)} s = ${Math.round(result.txPerSecond)} tx/s; ack latency p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms; node CPU ${nodeCpuMsPerTx?.toFixed(3) ?? '?'} ms/tx; load ${result.loadAverage.toFixed(1)}`,
  )
  return { result, dir }
}

function verify(dir: string, store: string | undefined) {
  const t0 = performance.now()
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(repo, 'src/cli/main.ts'), 'verify', '--data-dir', dir, ...(store ? ['--store', store] : []), '--json'],
    { encoding: 'utf8' },
  )
  const wall = (performance.now() - t0) / 1000
  const report = JSON.parse(r.stdout)
  return { ok: report.ok, txs: report.txs, blocks: report.blocks, replaySeconds: report.seconds, wallSeconds: wall, txPerSecond: report.txs / report.seconds }
}

console.log(`ingest: ${TXS} transfers from ${SENDERS} senders, ${CONCURRENCY} connections x batches of ${BATCH}; load average ${loadavg()[0].toFixed(2)}`)
const t0 = performance.now()
const batches = signAll()
console.log(`signed ${TXS} txs in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
const runs: Awaited<ReturnType<typeof runOnce>>['result'][] = []
const verifies = []
for (let run = 1; run <= RUNS; run++) {
  for (const store of STORES) {
    for (const workers of WORKERS) {
      const target = await freshStore(store)
      const { result, dir } = await runOnce(batches, run, workers, target.url, storeLabel(store))
      runs.push(result)
      const v = { store: storeLabel(store), workers, ...verify(dir, target.url) }
      verifies.push(v)
      console.log(
        `  verify: ${v.ok ? 'OK' : 'MISMATCH'} ${v.txs} txs replayed in ${v.replaySeconds.toFixed(2)} s = ${Math.round(v.txPerSecond)} tx/s (process wall ${v.wallSeconds.toFixed(2)} s)`,
      )
      rmSync(dir, { recursive: true, force: true })
      await target.drop()
    }
  }
}
const byWorkers = STORES.flatMap((s) =>
  WORKERS.map((workers) => {
    const store = storeLabel(s)
    const mine = runs.filter((r) => r.workers === workers && r.store === store)
    return {
      store,
      workers,
      txPerSecondMedian: median(mine.map((r) => r.txPerSecond)),
      p99MsMedian: median(mine.map((r) => r.p99Ms)),
      nodeCpuMsPerTxMedian: median(mine.flatMap((r) => (r.nodeCpuMsPerTx === undefined ? [] : [r.nodeCpuMsPerTx]))),
      loadAverageMedian: median(mine.map((r) => r.loadAverage)),
    }
  }),
)
const summary = {
  txPerSecondMedian: byWorkers[0].txPerSecondMedian,
  p99MsMedian: byWorkers[0].p99MsMedian,
  byWorkers,
  verifyTxPerSecondMedian: median(verifies.map((v) => v.txPerSecond)),
  targets: { txPerSecond: { sqlite: 10000, postgres: 5000 }, p99Ms: 250, verify: 'at least the ingest rate' },
}
for (const b of byWorkers)
  console.log(
    `ingest, ${b.store}, ${b.workers} workers: median ${Math.round(b.txPerSecondMedian)} tx/s (target >= ${b.store === 'sqlite' ? 10000 : 5000}), p99 ${b.p99MsMedian.toFixed(1)} ms (target <= 250); node CPU ${b.nodeCpuMsPerTxMedian.toFixed(3)} ms/tx; load average ${b.loadAverageMedian.toFixed(1)}`,
  )
console.log(`verify ${Math.round(summary.verifyTxPerSecondMedian)} tx/s`)
writeResult('ingest', {
  config: {
    txs: TXS,
    runs: RUNS,
    batch: BATCH,
    concurrency: CONCURRENCY,
    senders: SENDERS,
    workers: WORKERS,
    stores: STORES.map(storeLabel),
    loadAverage: loadavg(),
  },
  runs,
  verifies,
  ...summary,
})
