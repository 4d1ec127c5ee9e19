/**
 * Reorganisations under a deposit on a real anvil process (issue 13, "Done when" (b)): a
 * deposit mined in a block that a reorganisation removes (evm_snapshot, the deposit, one
 * block, evm_revert, other blocks) is never credited; the same signed deposit tx mined again
 * in a later block is credited once, and only once, whatever the watcher reads after.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Address } from '../src/ledger/index.ts'
import { dev, waitFor } from './helpers.ts'
import { expectInvariant, SIN, startSettledNet, type SettledNet } from './settlement-node-fixtures.ts'

let net: SettledNet
const C = privateKeyToAccount(generatePrivateKey()).address.toLowerCase() as Address
const totals = { deposited: 0n, credited: 0n, paid: 0n }

beforeAll(async () => {
  // No checkpoints here: the EVM chain moves only when the test mines.
  net = await startSettledNet({ confirmations: 3, checkpointBlocks: 1_000_000 })
}, 120_000)

afterAll(async () => {
  await net?.close()
})

const status = (ok: (s: any) => boolean) =>
  waitFor(
    () => net.status(),
    (s) => ok(s),
  )

describe('a deposit in a block a reorganisation removed', () => {
  it('is never credited; the same tx mined again is credited exactly once', async () => {
    await net.approve(dev[9].privateKey, 7n * SIN)
    const snapshot = await net.test.snapshot()
    const removed = await net.deposit(dev[9].privateKey, 7n * SIN, C, { approved: true })
    await net.test.mine(1)
    // The watcher saw it, unconfirmed.
    const seen = await status((s) => BigInt(s.settlement.evmHead ?? -1) >= removed.blockNumber + 1n && s.settlement.pendingDeposits === 1)
    expect(seen.settlement.pendingAmount).toBe((7n * SIN).toString())
    expect(await net.sinewBalance(C)).toBe(0n)

    // The chain reorganises: back to before the deposit, then another deposit and other blocks.
    expect(await net.test.revert(snapshot)).toBeUndefined()
    const other = await net.deposit(dev[8].privateKey, 11n * SIN, C)
    totals.deposited += 11n * SIN
    await net.test.mine(5)
    const head = await net.evm.client.getBlockNumber({ cacheTime: 0 })
    expect(head).toBeGreaterThan(removed.blockNumber + 3n)
    await status((s) => BigInt(s.settlement.scannedTo ?? -1) >= head - 3n)
    expect(await net.sinewBalance(C)).toBe(11n * SIN)
    totals.credited += 11n * SIN
    expect(other.blockNumber).toBeLessThanOrEqual(head - 3n)
    expect((await net.status()).settlement.watcher.credited).toBe(1)
    await expectInvariant(net, totals)

    // The removed deposit's signed tx is mined again, in a new block: credited once, from that block.
    const again = await net.evm.client.sendRawTransaction({ serializedTransaction: removed.raw })
    expect(again).toBe(removed.txHash)
    const receipt = await net.evm.client.waitForTransactionReceipt({ hash: again })
    expect(receipt.blockHash).not.toBe(undefined)
    totals.deposited += 7n * SIN
    await net.test.mine(3)
    await waitFor(
      () => net.sinewBalance(C),
      (x) => x === 18n * SIN,
    )
    totals.credited += 7n * SIN
    await net.test.mine(6)
    const later = await net.evm.client.getBlockNumber({ cacheTime: 0 })
    await status((s) => BigInt(s.settlement.scannedTo ?? -1) >= later - 3n)
    expect(await net.sinewBalance(C)).toBe(18n * SIN)
    expect((await net.status()).settlement.watcher.credited).toBe(2)
    await expectInvariant(net, totals)
  })

  it('after a restart the watcher resumes from what the ledger credited, and credits nothing twice', async () => {
    await net.restart()
    await net.test.mine(2)
    const head = await net.evm.client.getBlockNumber({ cacheTime: 0 })
    await status((s) => BigInt(s.settlement.scannedTo ?? -1) >= head - 3n)
    expect(await net.sinewBalance(C)).toBe(18n * SIN)
    expect((await net.status()).settlement.watcher.credited).toBe(0)
    await expectInvariant(net, totals)
  })
})
