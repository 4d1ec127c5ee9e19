/**
 * The escape hatch end to end on a real anvil process (issue 13, "Done when" (c)): the
 * operator stops posting checkpoints; once the escape delay has passed on the EVM chain,
 * every account funded in the last checkpointed state leaves with exactly its balance there,
 * proven with the node's account proofs, once each. A withdrawal no checkpoint covers
 * cannot be claimed (withdrawal_not_checkpointed, from the claim and from the CLI).
 */
import { decodeAbiParameters } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_SEQUENCER_KEY, DEV_TREASURY_KEY } from '../src/cli/data-dir.ts'
import { NodeClient } from '../src/client/index.ts'
import type { Hex } from '../src/core/index.ts'
import { accountKey, addressOf, type Address } from '../src/ledger/index.ts'
import { claimWithdrawal, evmWallet, revertError, sinewSettlementAbi } from '../src/settlement/index.ts'
import { countTxs, dev, http, runCli, sendTx, waitFor } from './helpers.ts'
import { expectInvariant, SIN, startSettledNet, type SettledNet } from './settlement-node-fixtures.ts'

let net: SettledNet
const a = generatePrivateKey()
const b = generatePrivateKey()
const A = privateKeyToAccount(a).address.toLowerCase() as Address
const B = privateKeyToAccount(b).address.toLowerCase() as Address
const totals = { deposited: 0n, credited: 0n, paid: 0n }

beforeAll(async () => {
  net = await startSettledNet({ confirmations: 0, checkpointBlocks: 1, escapeDelaySeconds: 3600n })
}, 120_000)

afterAll(async () => {
  await net?.close()
})

/** Sends escape(account, balance, nonce, proof) from dev[1], proving acct/<account> at `height` (default: the head). */
async function escapeAccount(account: Address, height?: bigint): Promise<{ balance: bigint }> {
  const p = (await http(`${net.url}/v1/proof/${encodeURIComponent(accountKey(account))}${height === undefined ? '' : `?height=${height}`}`)).json
  if (height !== undefined) expect(p.header.height).toBe(height.toString())
  const [balance, nonce] = decodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], p.value)
  const wallet = evmWallet(net.evm, dev[1].privateKey)
  try {
    const { request } = await net.evm.client.simulateContract({
      address: net.deployment.settlement,
      abi: sinewSettlementAbi,
      functionName: 'escape',
      args: [account, balance, nonce, p.proof.siblings],
      account: wallet.account,
    })
    const receipt = await net.evm.client.waitForTransactionReceipt({ hash: await wallet.writeContract(request) })
    expect(receipt.status).toBe('success')
  } catch (e) {
    throw revertError(e, 'escape')
  }
  return { balance }
}

describe('checkpoints stop: every funded account escapes with exactly its checkpointed balance', () => {
  let checkpointed: bigint
  const funded: Address[] = [...dev.slice(0, 10).map((d) => d.address.toLowerCase() as Address), A, B]

  it('deposits are credited and moved on Sinew, and a checkpoint covers the head', async () => {
    await net.deposit(dev[9].privateKey, 30n * SIN, A)
    await net.deposit(dev[9].privateKey, 20n * SIN, B)
    totals.deposited += 50n * SIN
    await waitFor(
      () => net.sinewBalance(B),
      (x) => x === 20n * SIN,
    )
    await waitFor(
      () => net.sinewBalance(A),
      (x) => x === 30n * SIN,
    )
    totals.credited += 50n * SIN
    await sendTx(net.url, a, 'Transfer', { to: B, amount: (5n * SIN).toString() })
    const head = BigInt((await net.status()).height)
    const s = await waitFor(
      () => net.status(),
      (st) => BigInt(st.settlement.lastCheckpoint?.height ?? 0) >= head,
    )
    checkpointed = BigInt(s.settlement.lastCheckpoint.height)
    await net.running.settlement!.stopCheckpoints()
    expect((await net.status()).settlement.checkpointer.running).toBe(false)
    expect(await net.sinewBalance(A)).toBe(25n * SIN)
    expect(await net.sinewBalance(B)).toBe(25n * SIN)
    await expectInvariant(net, totals)
  })

  it('escape before the delay is refused (EscapeNotOpen)', async () => {
    await expect(escapeAccount(A)).rejects.toMatchObject({ code: 'evm_tx_reverted', details: { errorName: 'EscapeNotOpen' } })
  })

  it('after the delay every funded account leaves with exactly its balance in the last checkpoint, once', async () => {
    expect(BigInt((await net.status()).height)).toBe(checkpointed)
    await net.test.increaseTime(3601)
    await net.test.mine(1)
    const held = await net.tokenBalance(net.deployment.settlement)
    let paid = 0n
    for (const account of funded) {
      const expected = await net.sinewBalance(account)
      expect(expected).toBeGreaterThan(0n)
      const before = await net.tokenBalance(account)
      const { balance } = await escapeAccount(account, checkpointed)
      expect(balance).toBe(expected)
      expect(await net.tokenBalance(account)).toBe(before + expected)
      paid += expected
    }
    // The genesis backing plus every deposit, all gone to their owners: the contract is empty.
    expect(paid).toBe(held)
    expect(await net.tokenBalance(net.deployment.settlement)).toBe(0n)
    // Accounts with nothing (the treasury, the sequencer) have nothing to take.
    for (const empty of [addressOf(DEV_TREASURY_KEY), addressOf(DEV_SEQUENCER_KEY)]) expect(await net.sinewBalance(empty)).toBe(0n)
    const s = await waitFor(
      () => net.status(),
      (st) => st.settlement.invariant?.escapesPaid === paid.toString(),
    )
    expect(s.settlement.invariant).toMatchObject({ holds: true, required: '0', contractBalance: '0' })
  })

  it('a second escape of the same account is refused (AlreadyEscaped) and pays nothing', async () => {
    const before = await net.tokenBalance(A)
    await expect(escapeAccount(A)).rejects.toMatchObject({ code: 'evm_tx_reverted', details: { errorName: 'AlreadyEscaped' } })
    expect(await net.tokenBalance(A)).toBe(before)
  })

  it('a withdrawal no checkpoint covers cannot be claimed: withdrawal_not_checkpointed', async () => {
    const ack = await sendTx(net.url, b, 'Withdraw', { recipient: B, amount: SIN.toString() })
    await expect(
      claimWithdrawal({ api: new NodeClient(net.url), evm: net.evm, contract: net.deployment.settlement, key: dev[1].privateKey, id: ack.hash as Hex }),
    ).rejects.toMatchObject({ code: 'withdrawal_not_checkpointed', details: { withdrawnAt: ack.height, lastCheckpointHeight: checkpointed.toString() } })
  })

  it('sinew verify replays every Deposit, Transfer and Withdraw from genesis to the same roots', async () => {
    const committed = await countTxs(net.running)
    await net.running.close()
    const r = await runCli(['verify', '--data-dir', net.dataDir, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, txs: committed })
  })
})
