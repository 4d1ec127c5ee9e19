/**
 * x402 payments for model calls (scheme `sinew`, docs/x402.md): `AcceptPayment`, signed by the
 * node (the sequencer key) before it serves a call paid with a payer's PaymentAuthorization
 * (src/ledger/payment.ts). It checks the authorisation as SettlePayment does (payer's
 * signature, this chain's network, validity window at the block's time, unused nonce), that
 * it pays the owner of the model called, and opens a *tab* for the call: an API-key record
 * owned by the payer, with spend limit = the authorised maximum, expiring at validBefore,
 * allowed that one model and one call at a time, under a hash whose secret only the node
 * holds. The call's RecordReceipt then charges the tab like any key, the actual fee, and
 * splits it (treasury, contributors, model owner): the payer is never charged more than it
 * authorised, and a call that fails or is refused writes no receipt and charges nothing.
 * `sinew verify` replays both txs.
 */
import { fromHex, SinewError } from '../core/index.ts'
import {
  authorizationOf,
  checkPaymentAuthorization,
  defineTxKind,
  paymentAuthorizationTxFields,
  paymentNonceKey,
  requireSequencer,
  type TxMessage,
} from '../ledger/index.ts'
import { apiKeyKey, readApiKey, readModel, type ApiKeyRecord } from './state.ts'

export const acceptPaymentKind = defineTxKind({
  type: 'AcceptPayment',
  description:
    "The node accepts a payer's x402 PaymentAuthorization (scheme `sinew`) for one call of `model`: uses the authorisation's nonce and opens a tab (an API-key record of the payer, `tabHash`, spend limit maxAmount, expiring at validBefore) that the call's RecordReceipt charges. Only the sequencer signs it.",
  fields: [...paymentAuthorizationTxFields, { name: 'model', type: 'string' }, { name: 'tabHash', type: 'bytes32' }],
  maxStringBytes: 2048,
  execute(ctx, m) {
    requireSequencer(ctx, 'accepts payment authorisations', 'sender')
    const auth = authorizationOf(m)
    const refusal = checkPaymentAuthorization({ chainId: ctx.chainId, timestampMs: ctx.timestamp, state: ctx.state }, auth, fromHex(m.signature), 0n)
    if (refusal) throw new SinewError({ code: refusal.code, message: refusal.message, details: refusal.details })
    // A spend limit of 0 means "no limit" on a key: a tab always has one.
    if (m.maxAmount === 0n)
      throw new SinewError({ code: 'payment_insufficient', message: 'An authorisation of 0 pays for nothing', details: { field: 'message.maxAmount' } })
    const model = readModel(ctx.state, m.model)
    if (!model?.active)
      throw new SinewError({ code: 'model_not_found', message: `No active model ${m.model}`, details: { field: 'message.model', model: m.model } })
    if (model.owner !== m.payee) {
      throw new SinewError({
        code: 'payment_wrong_payee',
        message: `The authorisation pays ${m.payee}, the model ${m.model} is owned by ${model.owner}`,
        details: { field: 'message.payee', payee: m.payee, owner: model.owner },
      })
    }
    if (readApiKey(ctx.state, m.tabHash))
      throw new SinewError({ code: 'apikey_exists', message: `A key with hash ${m.tabHash} exists already`, details: { field: 'message.tabHash' } })
    ctx.state.setJson(paymentNonceKey(m.payer, m.authNonce), { height: ctx.height.toString(), resource: m.resource, tab: m.tabHash, tx: ctx.txHash })
    ctx.state.setJson(apiKeyKey(m.tabHash), {
      keyHash: m.tabHash,
      owner: m.payer,
      label: `x402 ${m.authNonce}`,
      spendLimit: m.maxAmount.toString(),
      expiresAt: (m.validBefore * 1000n).toString(),
      spent: '0',
      calls: '0',
      revoked: false,
      grantedAt: ctx.timestamp.toString(),
      controls: { models: [m.model], concurrentCalls: 1, budgets: {} },
    } satisfies ApiKeyRecord)
    return { payer: m.payer, payee: m.payee, maxAmount: m.maxAmount, model: m.model, resource: m.resource, authNonce: m.authNonce, tab: m.tabHash }
  },
})

export type AcceptPaymentMessage = TxMessage<typeof acceptPaymentKind>
