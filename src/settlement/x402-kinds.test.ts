/**
 * DepositTransfer and AcceptEvmPayment executed on a state overlay: a payment transfer is
 * credited once, under the same key as the watcher's Deposit (neither path credits a log the
 * other did) and without moving the watcher's resume cursor; a tab opens only from an
 * EIP-3009 authorisation signed by the payer whose credited transfer it names, once.
 */
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { isSinewError, type Hex } from '../core/index.ts'
import { CommittedState, readAccount, StateOverlay, writeAccount, type Address, type TxContext, type TxKind } from '../ledger/index.ts'
import { devAccounts } from '../ledger/keys/index.ts'
import { createModelKinds, readApiKey } from '../models/index.ts'
import { depositKind } from './kinds.ts'
import { readTotals } from './state.ts'
import { acceptEvmPaymentKind, depositTransferKind, transferWithAuthorizationTypes } from './x402-kinds.ts'

const [payerKey, otherKey] = devAccounts(2)
const PAYER = payerKey.address
const OWNER = ('0x' + '02'.padStart(40, '0')) as Address
const SEQUENCER = ('0x' + '98'.padStart(40, '0')) as Address
const TOKEN = ('0x' + '7a'.repeat(20)) as Address
const CONTRACT = ('0x' + '5c'.repeat(20)) as Address
const EVM_TX = ('0x' + 'ee'.repeat(32)) as Hex
const kinds = Object.fromEntries([...createModelKinds(), depositKind, depositTransferKind, acceptEvmPaymentKind].map((k) => [k.type, k])) as Record<
  string,
  TxKind<any>
>

function harness() {
  const state = new StateOverlay(new CommittedState())
  writeAccount(state, OWNER, { balance: 10n ** 18n, nonce: 0n })
  state.commitTx()
  let height = 0n
  const run = (type: string, sender: Address, message: Record<string, unknown>) => {
    height += 1n
    const ctx: TxContext = {
      sender,
      txHash: ('0x' + height.toString(16).padStart(64, '0')) as Hex,
      height,
      timestamp: 1_900_000_000_000n + height * 1000n,
      params: { protocolFeeBps: 0, treasury: SEQUENCER },
      sequencer: SEQUENCER,
      chainId: 31415n,
      state,
    }
    try {
      kinds[type].validate?.(message as any)
      const result = kinds[type].execute(ctx, message as any)
      state.commitTx()
      return { ok: true as const, result }
    } catch (e) {
      state.rollbackTx()
      if (!isSinewError(e)) throw e
      return { ok: false as const, code: e.code }
    }
  }
  const registered = run('RegisterModel', OWNER, {
    name: 'm',
    description: '',
    backend: 'openai-compatible:https://api.example.com/v1',
    datanets: [],
    pricePerMillion: 1_000_000n,
    contributorShareBps: 0n,
  })
  expect(registered.ok).toBe(true)
  return { run, state }
}

const credit = (o: { logIndex?: bigint; blockNumber?: bigint; amount?: bigint; account?: Address } = {}) => ({
  evmChainId: 31337n,
  txHash: EVM_TX,
  logIndex: o.logIndex ?? 1n,
  blockNumber: o.blockNumber ?? 90n,
  blockHash: ('0x' + 'bb'.repeat(32)) as Hex,
  from: PAYER,
  account: o.account ?? PAYER,
  amount: o.amount ?? 100n,
})

async function authorisation(o: { signer?: Hex; value?: bigint; nonce?: Hex } = {}) {
  const message = {
    from: PAYER,
    to: CONTRACT,
    value: o.value ?? 100n,
    validAfter: 0n,
    validBefore: 2_000_000_000n,
    nonce: o.nonce ?? (('0x' + '11'.repeat(32)) as Hex),
  }
  const signature = await privateKeyToAccount(o.signer ?? payerKey.privateKey).signTypedData({
    domain: { name: 'Sinew Dev Token', version: '1', chainId: 31337, verifyingContract: TOKEN },
    types: transferWithAuthorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message,
  })
  return {
    evmChainId: 31337n,
    token: TOKEN,
    tokenName: 'Sinew Dev Token',
    tokenVersion: '1',
    from: PAYER,
    to: CONTRACT,
    value: message.value,
    validAfter: message.validAfter,
    validBefore: message.validBefore,
    authNonce: message.nonce,
    signature,
    depositTx: EVM_TX,
    depositLogIndex: 1n,
    model: 'm',
    tabHash: ('0x' + 'cd'.repeat(32)) as Hex,
  }
}

describe('DepositTransfer', () => {
  it('credits the payer once, under the Deposit key, without moving the watcher cursor', () => {
    const { run, state } = harness()
    expect(run('DepositTransfer', SEQUENCER, credit()).ok).toBe(true)
    expect(readAccount(state, PAYER).balance).toBe(100n)
    expect(readTotals(state)).toMatchObject({ deposited: '100', deposits: 1, lastDepositBlock: '0' })
    // Neither path credits the same log again.
    expect(run('DepositTransfer', SEQUENCER, credit())).toMatchObject({ ok: false, code: 'deposit_already_credited' })
    expect(run('Deposit', SEQUENCER, credit())).toMatchObject({ ok: false, code: 'deposit_already_credited' })
    expect(readAccount(state, PAYER).balance).toBe(100n)
    // A watcher's Deposit moves the cursor; a payment transfer of a later block does not.
    expect(run('Deposit', SEQUENCER, credit({ logIndex: 7n, blockNumber: 80n })).ok).toBe(true)
    expect(run('DepositTransfer', SEQUENCER, credit({ logIndex: 8n, blockNumber: 95n })).ok).toBe(true)
    expect(readTotals(state)).toMatchObject({ deposited: '300', deposits: 3, lastDepositBlock: '80' })
  })

  it('only the sequencer credits, and only to the payer', () => {
    const { run } = harness()
    expect(run('DepositTransfer', PAYER, credit())).toMatchObject({ ok: false, code: 'not_sequencer' })
    expect(run('DepositTransfer', SEQUENCER, credit({ account: OWNER }))).toMatchObject({ ok: false, code: 'invalid_field' })
  })
})

describe('AcceptEvmPayment', () => {
  it('opens a tab of the payer, limited to the value, from the authorisation signed by the payer', async () => {
    const { run, state } = harness()
    expect(run('DepositTransfer', SEQUENCER, credit()).ok).toBe(true)
    const m = await authorisation()
    expect(run('AcceptEvmPayment', OWNER, m)).toMatchObject({ ok: false, code: 'not_sequencer' })
    expect(run('AcceptEvmPayment', SEQUENCER, m).ok).toBe(true)
    expect(readApiKey(state, m.tabHash)).toMatchObject({ owner: PAYER, spendLimit: '100', spent: '0', controls: { models: ['m'], concurrentCalls: 1 } })
    // The same authorisation opens no second tab.
    expect(run('AcceptEvmPayment', SEQUENCER, { ...m, tabHash: '0x' + 'ce'.repeat(32) })).toMatchObject({ ok: false, code: 'payment_nonce_used' })
  })

  it('refuses a signature by someone else, a field changed after signing, a transfer not credited or of another value', async () => {
    const { run } = harness()
    expect(run('DepositTransfer', SEQUENCER, credit()).ok).toBe(true)
    expect(run('AcceptEvmPayment', SEQUENCER, await authorisation({ signer: otherKey.privateKey }))).toMatchObject({
      ok: false,
      code: 'payment_signature_invalid',
    })
    expect(run('AcceptEvmPayment', SEQUENCER, { ...(await authorisation()), validBefore: 2_000_000_001n })).toMatchObject({
      ok: false,
      code: 'payment_signature_invalid',
    })
    expect(run('AcceptEvmPayment', SEQUENCER, { ...(await authorisation()), depositLogIndex: 2n })).toMatchObject({
      ok: false,
      code: 'payment_settlement_failed',
    })
    expect(run('AcceptEvmPayment', SEQUENCER, await authorisation({ value: 99n }))).toMatchObject({ ok: false, code: 'payment_settlement_failed' })
  })
})
