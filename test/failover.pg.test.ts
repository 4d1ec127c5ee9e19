/**
 * Sequencer failover under load (docs/scaling.md, "Failover"): three `sinew node --failover`
 * processes on one PostgreSQL database, a client submitting signed transfers through any of
 * them, and kill -9 of the sequencer ten times in a row. After each kill another node takes
 * over; at the end every acknowledged tx is in the chain, the heights run from 0 without a
 * gap, every parent hash is the previous block's hash, and `sinew verify` passes.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, tempDir, waitFor } from './helpers.ts'
import { FailoverCluster, readChain, TransferLoad } from './failover-cluster.ts'
import { freshPgDatabase } from './pg.ts'

const tmp = tempDir('sinew-failover-')
let cluster: FailoverCluster | undefined
afterAll(async () => {
  await cluster?.stop()
  tmp.cleanup()
})

describe('sequencer failover', () => {
  it('survives kill -9 of the sequencer 10 times under load: nothing acknowledged lost, no gap, no fork, verify passes', { timeout: 300_000 }, async () => {
    const store = await freshPgDatabase()
    cluster = await FailoverCluster.start({ root: tmp.dir, store, count: 3 })
    const c = cluster
    const load = new TransferLoad(() => c.urls())
    const terms: bigint[] = []
    for (let kill = 0; kill < 10; kill++) {
      // Load flows through the current sequencer before each kill.
      const floor = load.acked.length
      await waitFor(
        async () => load.acked.length,
        (n) => n >= floor + 5,
        60_000,
      )
      const { term, firstBlockMs } = await c.killSequencer()
      terms.push(term)
      process.stderr.write(`failover test: kill ${kill + 1}: term ${term}, first block ${firstBlockMs} ms after, ${load.acked.length} acked\n`)
    }
    const floor = load.acked.length
    await waitFor(
      async () => load.acked.length,
      (n) => n >= floor + 5,
      60_000,
    )
    await load.stop()
    // Each kill handed the lease to a new term.
    for (let i = 1; i < terms.length; i++) expect(terms[i]).toBeGreaterThan(terms[i - 1])

    const chain = await readChain(store)
    expect(chain.heights).toEqual(chain.heights.map((_, i) => BigInt(i)))
    expect(chain.links).toBe(true)
    const missing = load.acked.filter((h) => !chain.txs.has(h))
    expect(missing).toEqual([])
    expect(load.acked.length).toBeGreaterThanOrEqual(55)

    await c.stop()
    cluster = undefined
    const verified = await runCli(['verify', '--json', '--store', store, '--data-dir', c.members[0].dir])
    expect(verified.code, verified.stderr).toBe(0)
    const report = JSON.parse(verified.stdout) as { ok: boolean; height?: string; txs: number }
    expect(report.ok).toBe(true)
    expect(report.txs).toBeGreaterThanOrEqual(load.acked.length)
  })
})
