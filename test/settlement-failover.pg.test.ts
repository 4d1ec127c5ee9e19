/**
 * Settlement under the sequencer lease (docs/settlement.md, docs/scaling.md "Failover"): two
 * nodes on one PostgreSQL database, both configured with the same settlement contract on a
 * local EVM chain (anvil). Only the lease holder credits deposits and posts checkpoints; the
 * standby only reads the contract (its watcher never submits, so it never fails on the
 * sequencer_unavailable a standby's own submit gets). When the sequencer stops, the standby
 * takes over and resumes both from what the ledger and the contract say: a deposit made
 * after the takeover is credited once, and a checkpoint above the old one is posted.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { sinewSettlementAbi } from '../src/settlement/index.ts'
import { dev, http, signTransfer, startDevNode, tempDir, waitFor } from './helpers.ts'
import { freshPgDatabase } from './pg.ts'
import { SIN, startSettledNet, type SettledNet } from './settlement-node-fixtures.ts'

const CONFIRMATIONS = 2
let net: SettledNet
let standby: RunningNode | undefined
const tmp = tempDir('sinew-settle-failover-')

const status = async (url: string) => (await http(`${url}/v1/status`)).json
const checkpointHeight = () =>
  net.evm.client.readContract({ address: net.deployment.settlement, abi: sinewSettlementAbi, functionName: 'lastCheckpointHeight' })
/** The x402 schemes a node's agent card offers now. */
const schemes = async (url: string) =>
  ((await http(`${url}/.well-known/agent-card.json`)).json.capabilities.extensions.find((e: any) => e.uri === 'urn:sinew:a2a:x402-http:v1')?.params.schemes ??
    []) as { scheme: string }[]
const balance = async (url: string, address: Hex) => BigInt((await http(`${url}/v1/accounts/${address.toLowerCase()}`)).json.balance)

beforeAll(async () => {
  const store = await freshPgDatabase()
  net = await startSettledNet({ confirmations: CONFIRMATIONS, checkpointBlocks: 1, nodeOverrides: { store, leasePollMs: 50 } })
  standby = await startDevNode(join(tmp.dir, 'standby'), {
    store,
    failover: true,
    leasePollMs: 50,
    settlementRpcUrl: net.anvil.rpcUrl,
    settlementContract: net.deployment.settlement,
    settlementStartBlock: Number(net.deployment.deployBlock),
    settlementConfirmations: CONFIRMATIONS,
    settlementCheckpointBlocks: 1,
    settlementCheckpointMs: 3_600_000,
    settlementPollMs: 50,
  })
}, 120_000)

afterAll(async () => {
  await standby?.close()
  await net?.close()
  tmp.cleanup()
})

describe('settlement under the sequencer lease', () => {
  it('only the lease holder credits deposits and posts checkpoints; after a takeover the new holder does, from where the chain is', {
    timeout: 240_000,
  }, async () => {
    expect((await status(standby!.url)).failover.role).toBe('standby')
    // An account with nothing but these deposits (dev accounts are funded at genesis).
    const user = '0x00000000000000000000000000000000000000d4' as Hex
    // A deposit, credited by the sequencer.
    const first = 20n * SIN
    await net.deposit(dev[2].privateKey, first, user)
    await net.test.mine(CONFIRMATIONS)
    await waitFor(
      () => balance(net.url, user),
      (b) => b === first,
      60_000,
    )
    // A block, checkpointed by the sequencer.
    const sent = await http(`${net.url}/v1/tx`, { body: await signTransfer(dev[3].privateKey, { to: dev[9].address, amount: 1n, nonce: 0n }) })
    expect(sent.status).toBe(200)
    await waitFor(checkpointHeight, (h) => h >= BigInt(sent.json.height), 60_000)
    // The standby watched the same contract all along and did neither, nor failed trying.
    await waitFor(
      () => status(standby!.url),
      (s) => BigInt(s.height) >= BigInt(sent.json.height),
    )
    const idle = (await status(standby!.url)).settlement
    expect(idle.watcher).toMatchObject({ credited: 0, failures: 0 })
    expect(idle.checkpointer).toMatchObject({ posted: 0, failures: 0 })
    expect((await status(net.url)).settlement.watcher.credited).toBe(1)
    // Only the holder sends EVM txs from the sequencer's account (two senders would reuse its
    // nonces), so only it offers x402 `exact`; a standby forwards paid calls to it.
    expect((await schemes(net.url)).map((s) => s.scheme)).toEqual(['sinew', 'exact'])

    // The sequencer stops (it gives the lease up); the standby takes over.
    await net.running.close()
    await waitFor(
      () => status(standby!.url),
      (s) => s.failover.role === 'sequencer',
      60_000,
    )
    const second = 30n * SIN
    await net.deposit(dev[2].privateKey, second, user)
    await net.test.mine(CONFIRMATIONS)
    await waitFor(
      () => balance(standby!.url, user),
      (b) => b === first + second,
      60_000,
    )
    const next = await http(`${standby!.url}/v1/tx`, { body: await signTransfer(dev[3].privateKey, { to: dev[9].address, amount: 1n, nonce: 1n }) })
    expect(next.status).toBe(200)
    await waitFor(checkpointHeight, (h) => h >= BigInt(next.json.height), 60_000)
    // The contract can show the checkpoint a moment before the poster counts it (it counts once
    // its wait for the tx returns): wait for the node's own count.
    const active = (
      await waitFor(
        () => status(standby!.url),
        (s) => s.settlement.checkpointer.posted >= 1,
        60_000,
      )
    ).settlement
    // The first deposit was not credited again: one Deposit tx by the new holder.
    expect(active.watcher.credited).toBe(1)
    expect(active.checkpointer.posted).toBeGreaterThanOrEqual(1)
    expect(await balance(standby!.url, user)).toBe(first + second)
    // The new holder offers `exact` itself.
    expect((await schemes(standby!.url)).map((s) => s.scheme)).toEqual(['sinew', 'exact'])
  })
})
