/**
 * AcceptPayment and the tab's charge, executed on a state overlay: only the sequencer accepts,
 * the authorisation must pay the model's owner and be unused; the call's RecordReceipt then
 * charges the payer the actual fee, and a fee above the authorised maximum is refused by the
 * ledger itself (the tab's spend limit), not only by the node.
 */
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { isSinewError, type Hex } from '../core/index.ts'
import {
  CommittedState,
  PAYMENT_AUTHORIZATION_TYPE,
  paymentAuthorizationFields,
  readAccount,
  StateOverlay,
  writeAccount,
  type Address,
  type TxContext,
  type TxKind,
} from '../ledger/index.ts'
import { devAccounts } from '../ledger/keys/index.ts'
import { createModelKinds } from './kinds.ts'
import { acceptPaymentKind } from './payment-tab.ts'

const [payerKey] = devAccounts(1)
const PAYER = payerKey.address
const OWNER = '0x' + '02'.padStart(40, '0')
const SEQUENCER = ('0x' + '98'.padStart(40, '0')) as Address
const TAB = ('0x' + 'cd'.repeat(32)) as Hex
const kinds = Object.fromEntries([...createModelKinds(), acceptPaymentKind].map((k) => [k.type, k])) as Record<string, TxKind<any>>
const T0 = 1_900_000_000_000n // ms

function harness() {
  const state = new StateOverlay(new CommittedState())
  for (const a of [PAYER, OWNER as Address]) writeAccount(state, a, { balance: 10n ** 18n, nonce: 0n })
  state.commitTx()
  let height = 0n
  let seq = 0
  const run = (type: string, sender: Address, message: Record<string, unknown>) => {
    height += 1n
    const ctx: TxContext = {
      sender,
      txHash: ('0x' + (++seq).toString(16).padStart(64, '0')) as Hex,
      height,
      timestamp: T0 + height * 1000n,
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
  // 1 base unit per output token.
  const registered = run('RegisterModel', OWNER as Address, {
    name: 'm',
    description: '',
    backend: 'openai-compatible:https://api.example.com/v1',
    datanets: [],
    pricePerMillion: 1_000_000n,
    contributorShareBps: 0n,
  })
  expect(registered.ok).toBe(true)
  return { run, state, height: () => height }
}

async function acceptance(o: { payee?: string; maxAmount?: bigint; nonce?: Hex } = {}) {
  const auth = {
    payer: PAYER,
    payee: (o.payee ?? OWNER) as Address,
    maxAmount: o.maxAmount ?? 50n,
    resource: '/v1/chat/completions?model=m',
    nonce: o.nonce ?? (('0x' + '11'.repeat(32)) as Hex),
    validAfter: 0n,
    validBefore: T0 / 1000n + 3600n,
    network: 'sinew:31415',
  }
  const signature = await privateKeyToAccount(payerKey.privateKey).signTypedData({
    domain: { name: 'Sinew', version: '1', chainId: 31415n },
    types: { [PAYMENT_AUTHORIZATION_TYPE]: paymentAuthorizationFields },
    primaryType: PAYMENT_AUTHORIZATION_TYPE,
    message: auth,
  })
  const { nonce, ...rest } = auth
  return { ...rest, authNonce: nonce, signature, model: 'm', tabHash: TAB }
}

const receipt = (height: bigint, outputTokens: bigint) => ({
  id: ('0x' + outputTokens.toString(16).padStart(64, '0')) as Hex,
  model: 'm',
  modelVersion: 1n,
  apiKeyHash: TAB,
  authorizedHeight: height,
  authorizedAt: T0 + height * 1000n,
  requestHash: TAB,
  outputHash: TAB,
  promptTokens: 1n,
  outputTokens,
  finishReason: 'stop',
  method: 'x',
  coverageBps: 0n,
  spans: [],
  weights: [],
})

describe('AcceptPayment', () => {
  it('only the sequencer accepts; the payee must own the model; a nonce is accepted once', async () => {
    const h = harness()
    expect(h.run('AcceptPayment', PAYER, await acceptance())).toMatchObject({ ok: false, code: 'not_sequencer' })
    expect(h.run('AcceptPayment', SEQUENCER, await acceptance({ payee: SEQUENCER }))).toMatchObject({ ok: false, code: 'payment_wrong_payee' })
    expect(h.run('AcceptPayment', SEQUENCER, await acceptance({ maxAmount: 0n }))).toMatchObject({ ok: false, code: 'payment_insufficient' })
    const forged = { ...(await acceptance()), maxAmount: 10n ** 18n }
    expect(h.run('AcceptPayment', SEQUENCER, forged)).toMatchObject({ ok: false, code: 'payment_signature_invalid' })
    expect(h.run('AcceptPayment', SEQUENCER, await acceptance())).toMatchObject({ ok: true })
    const again = { ...(await acceptance()), tabHash: ('0x' + 'ef'.repeat(32)) as Hex }
    expect(h.run('AcceptPayment', SEQUENCER, again)).toMatchObject({ ok: false, code: 'payment_nonce_used' })
  })

  it("the call's receipt charges the actual fee, and never more than the authorised maximum", async () => {
    const h = harness()
    expect(h.run('AcceptPayment', SEQUENCER, await acceptance({ maxAmount: 50n }))).toMatchObject({ ok: true })
    const at = h.height()
    const before = readAccount(h.state, PAYER).balance
    expect(h.run('RecordReceipt', SEQUENCER, receipt(at, 51n))).toMatchObject({ ok: false, code: 'spend_limit_reached' })
    expect(readAccount(h.state, PAYER).balance).toBe(before)
    expect(h.run('RecordReceipt', SEQUENCER, receipt(at, 40n))).toMatchObject({ ok: true })
    expect(before - readAccount(h.state, PAYER).balance).toBe(40n)
  })
})
