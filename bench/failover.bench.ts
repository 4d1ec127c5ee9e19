/**
 * Sequencer failover time (docs/scaling.md, "Failover"): three `sinew node --failover`
 * processes on one PostgreSQL database (a fresh server from Debian's binaries, or
 * SINEW_TEST_PG), signed transfers flowing through all of them, and kill -9 of the sequencer
 * `--kills` times (default 10). For each kill: the time from the kill to the takeover (the
 * new holder's lease, database clock) and to the first block by the new sequencer (its
 * timestamp; same machine clock). Median and worst, JSON in bench/results/failover.json.
 *
 *   nice npx tsx bench/failover.bench.ts [--kills 10]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, writeResult } from './lib.ts'
import { FailoverCluster, TransferLoad } from '../test/failover-cluster.ts'
import { startTestPgServer } from '../test/pg-server.ts'
import { freshPgDatabase } from '../test/pg.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const kills = arg('kills', 10)
const TARGET_MS = 2000

const server = process.env.SINEW_TEST_PG ? undefined : await startTestPgServer()
const adminUrl = process.env.SINEW_TEST_PG ?? server!.adminUrl
const root = mkdtempSync(join(tmpdir(), 'sinew-failover-bench-'))
let cluster: FailoverCluster | undefined
try {
  cluster = await FailoverCluster.start({ root, store: await freshPgDatabase(adminUrl, 'sinew_bench'), count: 3 })
  const c = cluster
  const load = new TransferLoad(() => c.urls())
  const runs: { takeoverMs: number; firstBlockMs: number }[] = []
  for (let k = 0; k < kills; k++) {
    const floor = load.acked.length
    while (load.acked.length < floor + 20) await new Promise((r) => setTimeout(r, 20))
    const { takeoverMs, firstBlockMs } = await c.killSequencer()
    runs.push({ takeoverMs, firstBlockMs })
    process.stderr.write(`kill ${k + 1}/${kills}: takeover ${takeoverMs} ms, first block ${firstBlockMs} ms\n`)
  }
  await load.stop()
  const first = runs.map((r) => r.firstBlockMs)
  const takeover = runs.map((r) => r.takeoverMs)
  const result = {
    kills,
    nodes: 3,
    deathToFirstBlockMs: { median: median(first), worst: Math.max(...first), all: first },
    deathToTakeoverMs: { median: median(takeover), worst: Math.max(...takeover), all: takeover },
    target: { deathToFirstBlockMs: TARGET_MS, met: Math.max(...first) <= TARGET_MS },
    ackedTxs: load.acked.length,
    retries: load.retries,
    settings: { leasePollMs: 50, leaseMs: 5000, blockIntervalMs: 20 },
  }
  console.log(JSON.stringify(result, null, 2))
  console.log(`wrote ${writeResult('failover', result)}`)
} finally {
  await cluster?.stop()
  server?.stop()
  rmSync(root, { recursive: true, force: true })
}
