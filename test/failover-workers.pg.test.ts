/**
 * Serving workers under the sequencer lease (docs/scaling.md): two `sinew node --failover
 * --workers 1` processes on one PostgreSQL database. The standby's worker answers reads from
 * its own view and forwards writes (through its writer) to the sequencer, read-your-writes
 * included; after kill -9 of the sequencer (its worker goes with it), the standby takes over
 * and its worker keeps serving, now for the new sequencer. Nothing acknowledged is lost and
 * the chain has no gap or fork. The ten kills under load are test/failover.pg.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { WORKER_HEADER } from '../src/server/index.ts'
import { FailoverCluster, readChain, TransferLoad } from './failover-cluster.ts'
import { dev, signTransfer, tempDir, waitFor } from './helpers.ts'
import { freshPgDatabase } from './pg.ts'

const tmp = tempDir('sinew-failover-workers-')
let cluster: FailoverCluster | undefined
afterAll(async () => {
  await cluster?.stop()
  tmp.cleanup()
})

async function call(url: string, init: { method?: string; body?: unknown } = {}) {
  const r = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  return { status: r.status, worker: r.headers.get(WORKER_HEADER), json: (await r.json()) as any }
}

describe('serving workers under the sequencer lease', () => {
  it("a standby's worker serves and forwards writes; after kill -9 of the sequencer it serves for the new one", { timeout: 240_000 }, async () => {
    const store = await freshPgDatabase()
    cluster = await FailoverCluster.start({ root: tmp.dir, store, count: 2, workers: 1 })
    const c = cluster
    const { member: seq } = await c.sequencer()
    const standby = c.members.find((m) => m !== seq)!
    const url = standby.process.url

    // Through the standby's worker (not its writer process): its status, a write, then reads.
    const status = await call(`${url}/v1/status`)
    expect(status.json.failover.role).toBe('standby')
    expect(status.worker).toBeTruthy()
    expect(status.worker).not.toBe(String(standby.process.pid))
    const sender = dev[7]
    const to = '0x00000000000000000000000000000000000000c3' as Hex
    const nonce = BigInt((await call(`${url}/v1/accounts/${sender.address}`)).json.nonce)
    const ack = await call(`${url}/v1/tx`, { method: 'POST', body: await signTransfer(sender.privateKey, { to, amount: 77n, nonce }) })
    expect(ack.status, JSON.stringify(ack.json)).toBe(200)
    // (Its answer names the process that made it: the sequencer's worker, passed back unchanged.)
    expect(ack.worker).not.toBe(status.worker)
    // Read-your-writes on the standby's worker: its view has the block once the ack arrived.
    const [account, recipient, byHash] = await Promise.all([
      call(`${url}/v1/accounts/${sender.address}`),
      call(`${url}/v1/accounts/${to}`),
      call(`${url}/v1/tx/${ack.json.hash}`),
    ])
    expect(account.json.nonce).toBe((nonce + 1n).toString())
    expect(recipient.json.balance).toBe('77')
    expect(byHash.json.height).toBe(ack.json.height)
    for (const r of [account, recipient, byHash]) expect(r.worker).toBe(status.worker)

    // Under load, kill -9 of the sequencer: the standby takes over with its worker serving.
    const load = new TransferLoad(() => c.urls().filter((u) => u === url), 2)
    await waitFor(
      async () => load.acked.length,
      (n) => n >= 5,
      60_000,
    )
    const { term } = await c.killSequencer()
    expect(term).toBeGreaterThan(BigInt(status.json.failover.lease.term))
    const after = await call(`${url}/v1/status`)
    expect(after.json.failover.role).toBe('sequencer')
    expect(after.worker).toBe(status.worker)
    const floor = load.acked.length
    await waitFor(
      async () => load.acked.length,
      (n) => n >= floor + 5,
      60_000,
    )
    await load.stop()
    const account2 = await call(`${url}/v1/accounts/${sender.address}`)
    expect(account2.json.nonce).toBe((nonce + 1n).toString())

    const chain = await readChain(store)
    expect(chain.heights).toEqual(chain.heights.map((_, i) => BigInt(i)))
    expect(chain.links).toBe(true)
    expect(load.acked.filter((h) => !chain.txs.has(h))).toEqual([])
    expect(chain.txs.has(ack.json.hash)).toBe(true)
  })
})
