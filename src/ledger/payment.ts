/**
 * Payment authorisations (x402, Sinew-native scheme `sinew`): a payer who holds no API key
 * and no session with the node signs, off-ledger, the EIP-712 struct
 *
 *   PaymentAuthorization { address payer; address payee; uint256 maxAmount; string resource;
 *                          bytes32 nonce; uint64 validAfter; uint64 validBefore; string network }
 *
 * under the chain's domain (Sinew / 1 / chainId); `network` is `sinew:<chainId>`, validity
 * in seconds since the epoch, as EIP-3009's `transferWithAuthorization` has them, so the
 * EVM `exact` scheme can later carry the same terms on the settlement token. The node,
 * having served the call, settles it with `SettlePayment`, a tx only the sequencer signs,
 * which carries the authorisation and its signature and the `amount` actually charged
 * (the `upto` idea: ≤ maxAmount). Execution re-checks everything, so `sinew verify` replays
 * every charge: the payer's signature, this chain's network, the validity window against
 * the block time, the amount, and that the (payer, nonce) pair was never settled before.
 */
import { fromHex, SinewError } from '../core/index.ts'
import { credit, debit } from './accounts.ts'
import type { Address } from './address.ts'
import { defineTxKind, requireSequencer, type TxMessage } from './kinds.ts'
import type { FieldsValue, NoStructs } from './message.ts'
import { createTypedDataHasher } from './signing/index.ts'
import { recoverChecked } from './signing/signature.ts'
import { readJson } from './state.ts'
import { signingDomain } from './tx.ts'

export const PAYMENT_AUTHORIZATION_TYPE = 'PaymentAuthorization'
export const paymentAuthorizationFields = [
  { name: 'payer', type: 'address' },
  { name: 'payee', type: 'address' },
  { name: 'maxAmount', type: 'uint256' },
  { name: 'resource', type: 'string' },
  { name: 'nonce', type: 'bytes32' },
  { name: 'validAfter', type: 'uint64' },
  { name: 'validBefore', type: 'uint64' },
  { name: 'network', type: 'string' },
] as const
export type PaymentAuthorization = FieldsValue<typeof paymentAuthorizationFields, NoStructs>

export const sinewNetwork = (chainId: bigint): string => `sinew:${chainId}`
export const paymentNonceKey = (payer: Address, nonce: string): string => `x402/${payer}/${nonce.toLowerCase()}`

const hashers = new Map<bigint, (m: Record<string, unknown>) => Uint8Array>()
/** The digest the payer signs, for this chain. */
export function paymentAuthorizationDigest(chainId: bigint, auth: PaymentAuthorization): Uint8Array {
  let h = hashers.get(chainId)
  if (!h) {
    h = createTypedDataHasher(signingDomain(chainId), { [PAYMENT_AUTHORIZATION_TYPE]: paymentAuthorizationFields }, PAYMENT_AUTHORIZATION_TYPE)
    hashers.set(chainId, h)
  }
  return h(auth)
}

export type PaymentRefusal =
  | 'payment_signature_invalid'
  | 'payment_wrong_network'
  | 'payment_not_yet_valid'
  | 'payment_expired'
  | 'payment_over_authorised'
  | 'payment_nonce_used'

/**
 * Every check of an authorisation against the ledger at `timestampMs` (the node runs it
 * before serving the call, execution again when settling): a refusal, or undefined.
 */
export function checkPaymentAuthorization(
  o: { chainId: bigint; timestampMs: bigint; state: { get(key: string): Uint8Array | undefined } },
  auth: PaymentAuthorization,
  signature: Uint8Array,
  amount: bigint,
): { code: PaymentRefusal; message: string; details: Record<string, unknown> } | undefined {
  if (auth.network !== sinewNetwork(o.chainId)) {
    return {
      code: 'payment_wrong_network',
      message: `Authorised for network ${auth.network.slice(0, 40)}, this chain is ${sinewNetwork(o.chainId)}`,
      details: { got: auth.network.slice(0, 40), expected: sinewNetwork(o.chainId) },
    }
  }
  const signer = signature.length === 65 ? recoverChecked(paymentAuthorizationDigest(o.chainId, auth), signature) : undefined
  if (signer !== auth.payer) {
    return {
      code: 'payment_signature_invalid',
      message: `The authorisation is not signed by its payer ${auth.payer}`,
      details: { payer: auth.payer, recovered: signer ?? null },
    }
  }
  const now = o.timestampMs / 1000n
  if (now < auth.validAfter)
    return {
      code: 'payment_not_yet_valid',
      message: `The authorisation is valid only after ${auth.validAfter}`,
      details: { validAfter: auth.validAfter.toString(), now: now.toString() },
    }
  if (now >= auth.validBefore)
    return {
      code: 'payment_expired',
      message: `The authorisation expired at ${auth.validBefore}`,
      details: { validBefore: auth.validBefore.toString(), now: now.toString() },
    }
  if (amount > auth.maxAmount) {
    return {
      code: 'payment_over_authorised',
      message: `${amount} is over the authorised maximum ${auth.maxAmount}`,
      details: { amount: amount.toString(), maxAmount: auth.maxAmount.toString() },
    }
  }
  const used = readJson<{ height: string }>(o.state, paymentNonceKey(auth.payer, auth.nonce))
  if (used)
    return {
      code: 'payment_nonce_used',
      message: `Authorisation nonce ${auth.nonce} of ${auth.payer} was settled already`,
      details: { nonce: auth.nonce, settledAt: used.height },
    }
  return undefined
}

/**
 * An authorisation as fields of a node-signed tx that carries it (SettlePayment, and the models
 * module's AcceptPayment): its `nonce` as `authNonce` (the tx has its own nonce), then its signature.
 */
export const paymentAuthorizationTxFields = [
  ...paymentAuthorizationFields.map((f) => (f.name === 'nonce' ? ({ name: 'authNonce', type: 'bytes32' } as const) : f)),
  { name: 'signature', type: 'bytes' },
] as const
type AuthorizationTxFields = FieldsValue<typeof paymentAuthorizationTxFields, NoStructs>

/** The authorisation a tx carries (fields of paymentAuthorizationTxFields). */
export function authorizationOf(m: AuthorizationTxFields): PaymentAuthorization {
  return {
    payer: m.payer,
    payee: m.payee,
    maxAmount: m.maxAmount,
    resource: m.resource,
    nonce: m.authNonce,
    validAfter: m.validAfter,
    validBefore: m.validBefore,
    network: m.network,
  }
}

export const settlePaymentKind = defineTxKind({
  type: 'SettlePayment',
  description:
    "The node settles a payer's signed PaymentAuthorization (x402 scheme `sinew`) for a call it served: moves `amount` (≤ maxAmount) from payer to payee. Only the sequencer signs it; the authorisation's nonce is then used.",
  fields: [...paymentAuthorizationTxFields, { name: 'amount', type: 'uint256' }],
  maxStringBytes: 2048,
  execute(ctx, m) {
    requireSequencer(ctx, 'settles payment authorisations', 'sender')
    const auth = authorizationOf(m)
    const refusal = checkPaymentAuthorization({ chainId: ctx.chainId, timestampMs: ctx.timestamp, state: ctx.state }, auth, fromHex(m.signature), m.amount)
    if (refusal) throw new SinewError({ code: refusal.code, message: refusal.message, details: refusal.details })
    ctx.state.setJson(paymentNonceKey(m.payer, m.authNonce), {
      height: ctx.height.toString(),
      amount: m.amount.toString(),
      resource: m.resource,
      tx: ctx.txHash,
    })
    if (m.amount > 0n) {
      debit(ctx.state, m.payer, m.amount, 'message.amount')
      credit(ctx.state, m.payee, m.amount)
    }
    return { payer: m.payer, payee: m.payee, amount: m.amount, maxAmount: m.maxAmount, resource: m.resource, authNonce: m.authNonce }
  },
})

export type SettlePaymentMessage = TxMessage<typeof settlePaymentKind>
