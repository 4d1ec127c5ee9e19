/**
 * Settlement end to end on a real anvil process (issue 13, "Done when" (a)): a user deposits
 * tokens, is credited on Sinew only after the confirmations, pays for a model call; the
 * contributors earn from its receipt; one of them withdraws on Sinew, a checkpoint covers
 * it, and they claim the tokens on the EVM chain with the proof. Balances on both sides are
 * exact and the backing invariant holds at every step. Then the Sinew-side bad inputs:
 * a withdrawal above the balance, a zero or burning one, a replayed Deposit, a Deposit not
 * signed by the node, a second claim.
 */
import OpenAI from 'openai'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_SEQUENCER_KEY } from '../src/cli/data-dir.ts'
import { NodeClient } from '../src/client/index.ts'
import type { Hex } from '../src/core/index.ts'
import { claimWithdrawal, withdrawalKey } from '../src/settlement/index.ts'
import { publishDatanetVersion } from './datanets-fixtures.ts'
import { DOCS, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, sendTx, waitFor } from './helpers.ts'
import { expectInvariant, SIN, startSettledNet, type SettledNet } from './settlement-node-fixtures.ts'

let net: SettledNet
let backend: FakeBackend
const depositor = dev[9] // holds dev tokens and ETH on anvil
/** A fresh Sinew account: all its SIN comes from the deposit. */
const callerKey = generatePrivateKey()
const owner = dev[3]
const authorKeys = { alpha: dev[5].privateKey, beta: dev[6].privateKey, gamma: dev[7].privateKey } as Record<string, Hex>
const totals = { deposited: 0n, credited: 0n, paid: 0n }

beforeAll(async () => {
  net = await startSettledNet({ confirmations: 3, checkpointBlocks: 1 })
  backend = await startFakeOpenAI()
}, 120_000)

afterAll(async () => {
  await net?.close()
  await backend?.close()
})

describe('deposit -> paid model call -> contributor withdraws -> claim with a proof', () => {
  const user = privateKeyToAccount(callerKey)
  let earned: { author: Hex; amount: bigint }
  let withdrawalId: Hex
  let withdrawnAt: bigint
  const recipient = privateKeyToAccount(generatePrivateKey()).address

  it('the invariant holds at genesis: the contract holds exactly the genesis allocation', async () => {
    await expectInvariant(net, totals)
    const s = await net.status()
    expect(s.settlement.chainId).toBe('31337')
    expect(s.settlement.contract).toBe(net.deployment.settlement.toLowerCase())
  })

  it('a deposit is credited only after its confirmations, exactly once', async () => {
    const amount = 50n * SIN
    const before = await net.tokenBalance(depositor.address)
    const { blockNumber } = await net.deposit(depositor.privateKey, amount, user.address)
    totals.deposited += amount
    expect(await net.tokenBalance(depositor.address)).toBe(before - amount)
    // The watcher has seen the deposit's block, and waits for confirmations.
    const seen = await waitStatus((s) => BigInt(s.settlement.evmHead ?? -1) >= blockNumber && s.settlement.pendingDeposits === 1)
    expect(seen.settlement.pendingAmount).toBe(amount.toString())
    expect(await net.sinewBalance(user.address)).toBe(0n)
    await expectInvariant(net, totals)
    await net.test.mine(3)
    await waitBalance(user.address, amount)
    totals.credited += amount
    const s = await waitStatus((st) => st.settlement.pendingDeposits === 0 && st.settlement.watcher.credited === 1)
    expect(BigInt(s.settlement.scannedTo)).toBeGreaterThanOrEqual(blockNumber)
    await net.test.mine(5)
    await waitStatus((st) => BigInt(st.settlement.scannedTo) >= blockNumber + 5n)
    expect(await net.sinewBalance(user.address)).toBe(amount)
    await expectInvariant(net, totals)
  })

  it('the deposited SIN pays for a model call and its contributors earn from the receipt', async () => {
    const { ref } = await publishDatanetVersion(net.url, {
      owner: dev[2].privateKey,
      name: 'Settled Tales',
      stake: SIN,
      docs: DOCS.map((d) => ({ key: d.key, text: d.text, author: authorKeys[d.key] })),
    })
    await sendTx(net.url, owner.privateKey, 'RegisterModel', {
      name: 'settled-llm',
      description: 'test',
      backend: `openai-compatible:${backend.url}#fixed`,
      datanets: [ref],
      pricePerMillion: (1000n * SIN).toString(),
      contributorShareBps: '5000',
    })
    const apiKey = await grantApiKey(net.url, callerKey)
    const before = await net.sinewBalance(user.address)
    const authorsBefore = { [dev[5].address]: await net.sinewBalance(dev[5].address), [dev[6].address]: await net.sinewBalance(dev[6].address) }
    const openai = new OpenAI({ baseURL: `${net.url}/v1`, apiKey, maxRetries: 0 })
    const { response } = await openai.chat.completions.create({ model: 'settled-llm', messages: [{ role: 'user', content: 'a story' }] }).withResponse()
    const receipt = (await http(`${net.url}/v1/receipts/${response.headers.get('x-sinew-receipt')}`)).json
    const fee = BigInt(receipt.split.fee)
    expect(fee).toBeGreaterThan(0n)
    expect(await net.sinewBalance(user.address)).toBe(before - fee)
    const top = receipt.split.contributors.find((c: any) => c.author === dev[5].address)
    expect(BigInt(top.amount)).toBeGreaterThan(0n)
    expect(await net.sinewBalance(dev[5].address)).toBe(authorsBefore[dev[5].address] + BigInt(top.amount))
    earned = { author: dev[5].address, amount: BigInt(top.amount) }
    await expectInvariant(net, totals)
  })

  it('the contributor withdraws what they earned; a checkpoint covers it; the claim pays the recipient exactly', async () => {
    const before = await net.sinewBalance(earned.author)
    const ack = await sendTx(net.url, dev[5].privateKey, 'Withdraw', { recipient, amount: earned.amount.toString() })
    withdrawalId = ack.hash
    withdrawnAt = BigInt(ack.height)
    expect(ack.receipt.result).toMatchObject({ id: withdrawalId, account: earned.author, recipient: recipient.toLowerCase(), amount: earned.amount.toString() })
    expect(await net.sinewBalance(earned.author)).toBe(before - earned.amount)
    // Withdrawn SIN left Sinew and is owed by the contract until claimed: the invariant still holds.
    await expectInvariant(net, totals)
    const s = await waitStatus((st) => BigInt(st.settlement.lastCheckpoint?.height ?? 0) >= withdrawnAt)
    expect(s.settlement.lagBlocks).toBe('0')
    const held = await net.tokenBalance(net.deployment.settlement)
    const claim = await claimWithdrawal({
      api: new NodeClient(net.url),
      evm: net.evm,
      contract: net.deployment.settlement,
      key: dev[1].privateKey,
      id: withdrawalId,
    })
    totals.paid += earned.amount
    expect(claim).toMatchObject({ id: withdrawalId, recipient: recipient.toLowerCase(), account: earned.author, amount: earned.amount.toString() })
    expect(BigInt(claim.checkpointHeight)).toBeGreaterThanOrEqual(withdrawnAt)
    expect(await net.tokenBalance(recipient)).toBe(earned.amount)
    expect(await net.tokenBalance(net.deployment.settlement)).toBe(held - earned.amount)
    await expectInvariant(net, totals)
  })

  it('a second claim of the same withdrawal is refused and pays nothing', async () => {
    const held = await net.tokenBalance(net.deployment.settlement)
    await expect(
      claimWithdrawal({ api: new NodeClient(net.url), evm: net.evm, contract: net.deployment.settlement, key: dev[1].privateKey, id: withdrawalId }),
    ).rejects.toMatchObject({ code: 'evm_tx_reverted', details: { errorName: 'AlreadyWithdrawn' } })
    expect(await net.tokenBalance(recipient)).toBe(earned.amount)
    expect(await net.tokenBalance(net.deployment.settlement)).toBe(held)
  })

  it('a withdrawal above the balance is refused and records nothing', async () => {
    const balance = await net.sinewBalance(user.address)
    const height = (await net.status()).height
    await expect(sendTx(net.url, callerKey, 'Withdraw', { recipient, amount: (balance + 1n).toString() })).rejects.toMatchObject({
      code: 'insufficient_balance',
    })
    expect(await net.sinewBalance(user.address)).toBe(balance)
    const totalsNow = (await http(`${net.url}/v1/proof/${encodeURIComponent('settlement/totals')}`)).json
    expect(JSON.parse(Buffer.from(totalsNow.value.slice(2), 'hex').toString()).withdrawals).toBe(1)
    expect((await net.status()).height).toBe(height)
  })

  it('a withdrawal of 0 or to the zero address is refused', async () => {
    await expect(sendTx(net.url, callerKey, 'Withdraw', { recipient, amount: '0' })).rejects.toMatchObject({
      code: 'invalid_field',
      details: { field: 'message.amount' },
    })
    await expect(sendTx(net.url, callerKey, 'Withdraw', { recipient: `0x${'0'.repeat(40)}`, amount: '1' })).rejects.toMatchObject({
      code: 'invalid_field',
      details: { field: 'message.recipient' },
    })
  })

  it('a replayed Deposit (same chain, tx and log) is refused and credits nothing; only the node may sign one', async () => {
    const deposit = (await http(`${net.url}/v1/blocks?limit=1000&txs=full`)).json
    const credited = findTx(deposit, 'Deposit')
    expect(credited).toBeDefined()
    const balance = await net.sinewBalance(user.address)
    await expect(sendTx(net.url, DEV_SEQUENCER_KEY, 'Deposit', credited.message)).rejects.toMatchObject({ code: 'deposit_already_credited' })
    expect(await net.sinewBalance(user.address)).toBe(balance)
    // A Deposit for a log never credited, signed by anyone but the node, is refused too.
    await expect(sendTx(net.url, dev[4].privateKey, 'Deposit', { ...credited.message, logIndex: '99' })).rejects.toMatchObject({ code: 'not_sequencer' })
    expect(await net.sinewBalance(user.address)).toBe(balance)
    await expectInvariant(net, totals)
  })

  it('the withdrawal record is the ABI encoding the contract checks', async () => {
    const p = (await http(`${net.url}/v1/proof/${encodeURIComponent(withdrawalKey(withdrawalId))}`)).json
    const word = (a: string) => a.slice(2).toLowerCase().padStart(64, '0')
    expect(p.value).toBe(`0x${word(earned.author)}${word(recipient)}${earned.amount.toString(16).padStart(64, '0')}`)
  })
})

function findTx(blocks: any, type: string): any {
  for (const b of blocks.blocks ?? blocks) for (const t of b.txs ?? []) if (t.type === type) return t
  return undefined
}

async function waitStatus(ok: (s: any) => boolean): Promise<any> {
  return waitFor(
    () => net.status(),
    (s) => s.settlement !== undefined && ok(s),
  )
}

async function waitBalance(address: Hex, amount: bigint): Promise<void> {
  await waitFor(
    () => net.sinewBalance(address),
    (b) => b === amount,
  )
}
