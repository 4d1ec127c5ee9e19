/**
 * The deposit watcher and the checkpointer survive an RPC outage and node restarts (issue 13):
 * the node reaches anvil through a TCP proxy the test cuts and restores; during the outage
 * /v1/status shows the failures and the growing lag, nothing is credited and nothing is
 * lost; afterwards the deposit is credited exactly once and the checkpoints catch up. A
 * restart while a deposit waits for its confirmations credits it once; a restart while a
 * checkpoint tx of the poster is still unmined never posts a second one. Oracles: the
 * contract's own CheckpointPosted logs and the poster's nonce (every tx it sent posted a
 * checkpoint, none reverted), the token balances on anvil, the Sinew balances and totals.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_SEQUENCER_KEY } from '../src/cli/data-dir.ts'
import type { Hex } from '../src/core/index.ts'
import { addressOf } from '../src/ledger/index.ts'
import { evmWallet, headerTuple, readTotals, sinewSettlementAbi } from '../src/settlement/index.ts'
import { dev, http, sendTx, waitFor } from './helpers.ts'
import { expectInvariant, SIN, startSettledNet, type SettledNet } from './settlement-node-fixtures.ts'

let net: SettledNet
const totals = { deposited: 0n, credited: 0n, paid: 0n }
const poster = addressOf(DEV_SEQUENCER_KEY)
const CHECKPOINT_POSTED = sinewSettlementAbi.find((x) => x.type === 'event' && x.name === 'CheckpointPosted')!

beforeAll(async () => {
  net = await startSettledNet({ confirmations: 2, checkpointBlocks: 1, rpcProxy: true })
}, 120_000)

afterAll(async () => {
  await net?.close()
})

const status = async () => (await net.status()).settlement
const fresh = () => privateKeyToAccount(generatePrivateKey()).address.toLowerCase() as Hex
/** One Sinew block (a 1-unit transfer), so there is something to checkpoint. */
const sinewBlock = () => sendTx(net.url, dev[0].privateKey, 'Transfer', { to: dev[1].address, amount: '1' })

/** Every checkpoint the contract accepted, and the check that the poster never sent a tx that did not post one. */
async function expectCleanCheckpoints(): Promise<bigint[]> {
  const logs = await net.evm.client.getLogs({
    address: net.deployment.settlement,
    event: CHECKPOINT_POSTED,
    fromBlock: net.deployment.deployBlock,
    strict: true,
  })
  const heights = logs.map((l) => l.args.height)
  for (let i = 1; i < heights.length; i++) expect(heights[i]).toBeGreaterThan(heights[i - 1])
  // The poster's nonce counts every tx it ever sent: each one posted a checkpoint (none reverted, none doubled).
  expect(await net.evm.client.getTransactionCount({ address: poster, blockTag: 'pending' })).toBe(heights.length)
  return heights
}

const creditedDeposits = () => readTotals(net.running.node.chain.state).deposits

describe('an RPC outage', () => {
  it('status shows the failures and the lag; afterwards the deposit is credited once and checkpoints catch up', async () => {
    await sinewBlock()
    const height = BigInt((await net.status()).height)
    await waitFor(status, (s) => BigInt(s.lastCheckpoint?.height ?? -1) >= height && s.watcher.lastSuccessAt !== null)
    await expectInvariant(net, totals)

    net.proxy!.cut()
    // On the EVM chain (the test reaches anvil directly): a deposit, confirmed.
    const user = fresh()
    await net.deposit(dev[9].privateKey, 7n * SIN, user)
    totals.deposited += 7n * SIN
    await net.test.mine(3)
    // On Sinew: blocks the checkpointer cannot post.
    await sinewBlock()
    await sinewBlock()
    const during = await waitFor(status, (s) => s.watcher.failures >= 2 && s.checkpointer.failures >= 2 && BigInt(s.lagBlocks ?? 0) >= 2n)
    expect(during.watcher.lastError).toBeTruthy()
    expect(during.checkpointer.lastError).toBeTruthy()
    expect(during.watcher.running && during.checkpointer.running).toBe(true)
    expect(await net.sinewBalance(user)).toBe(0n)

    net.proxy!.restore()
    await waitFor(
      () => net.sinewBalance(user),
      (b) => b === 7n * SIN,
    )
    totals.credited += 7n * SIN
    const head = BigInt((await net.status()).height)
    const after = await waitFor(status, (s) => s.watcher.failures === 0 && s.checkpointer.failures === 0 && BigInt(s.lastCheckpoint?.height ?? -1) >= head)
    expect(after.lagBlocks).toBe('0')
    expect(creditedDeposits()).toBe(1)
    expect((await expectCleanCheckpoints()).at(-1)).toBe(head)
    await expectInvariant(net, totals)
  })
})

describe('a node restart', () => {
  it('while a deposit waits for its confirmations: credited exactly once, also after a second restart', async () => {
    const user = fresh()
    const { blockNumber } = await net.deposit(dev[8].privateKey, 5n * SIN, user)
    totals.deposited += 5n * SIN
    await waitFor(status, (s) => s.pendingDeposits === 1)
    await net.restart()
    await net.test.mine(2)
    await waitFor(
      () => net.sinewBalance(user),
      (b) => b === 5n * SIN,
    )
    totals.credited += 5n * SIN
    // Again: the watcher resumes from the deposit's block, reads it again, and skips what is credited.
    await net.restart()
    await net.test.mine(3)
    await waitFor(status, (s) => BigInt(s.scannedTo ?? -1) >= blockNumber + 3n)
    expect(await net.sinewBalance(user)).toBe(5n * SIN)
    expect(creditedDeposits()).toBe(2)
    await expectInvariant(net, totals)
  })

  it('while a checkpoint tx of the poster is unmined: the new process waits for it and never posts a second', async () => {
    // The node before the restart: it stops checkpointing, its last block uncovered...
    await net.running.settlement!.stopCheckpoints()
    await sinewBlock()
    const head = net.running.node.chain.head
    await net.test.setAutomine(false)
    try {
      // ...and its checkpoint of that block is sent but not mined when it goes down.
      const wallet = evmWallet(net.evm, DEV_SEQUENCER_KEY)
      const inFlight = await wallet.writeContract({
        address: net.deployment.settlement,
        abi: sinewSettlementAbi,
        functionName: 'postCheckpoint',
        args: [headerTuple(head), head.signature],
        gas: 300_000n,
      })
      await net.restart()
      // The new process ticks (twice, so it has surely looked) and sends nothing while that tx is unmined.
      const first = await waitFor(status, (s) => s.checkpointer.lastSuccessAt !== null)
      await waitFor(status, (s) => s.checkpointer.lastSuccessAt !== first.checkpointer.lastSuccessAt)
      const mined = await net.evm.client.getTransactionCount({ address: poster, blockTag: 'latest' })
      expect(await net.evm.client.getTransactionCount({ address: poster, blockTag: 'pending' })).toBe(mined + 1)
      await net.test.setAutomine(true)
      await net.test.mine(1)
      expect((await net.evm.client.getTransactionReceipt({ hash: inFlight })).status).toBe('success')
    } finally {
      await net.test.setAutomine(true)
    }
    await waitFor(status, (s) => s.lastCheckpoint?.height === head.height.toString() && s.checkpointer.failures === 0)
    // The chain moves on and the new process posts the next checkpoint itself.
    await sinewBlock()
    const next = BigInt((await net.status()).height)
    await waitFor(status, (s) => BigInt(s.lastCheckpoint?.height ?? -1) >= next)
    const heights = await expectCleanCheckpoints()
    expect(heights.filter((h) => h === head.height)).toHaveLength(1)
    await expectInvariant(net, totals)
    const totalsOnSinew = (await http(`${net.url}/v1/status`)).json.settlement.invariant
    expect(totalsOnSinew.deposited).toBe(totals.credited.toString())
  })
})
