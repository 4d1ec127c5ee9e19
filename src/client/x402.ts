/**
 * The Sinew-native x402 (version 2) payment scheme, client side: a `SchemeNetworkClient`
 * an agent registers with the official `@x402/core` / `@x402/fetch` client, exported from
 * the package as `sinew/x402`:
 *
 *   import { wrapFetchWithPayment, x402Client } from '@x402/fetch'
 *   import { sinewScheme, SINEW_ASSET } from 'sinew/x402'
 *   const client = new x402Client().register('sinew:31415', sinewScheme(privateKey))
 *   client.setSpendControls({ allowedAssets: [{ network: 'sinew:31415', asset: SINEW_ASSET, maxAmountPerPayment: '1000000000000000000' }] })
 *   const pay = wrapFetchWithPayment(fetch, client)
 *
 * A node's requirement `{ scheme: 'sinew', network: 'sinew:<chainId>', asset: 'SIN',
 * amount: <the most the call may cost, base units>, payTo, maxTimeoutSeconds, extra:
 * { resource } }` is answered with `{ authorization, signature }`: the payer's EIP-712
 * PaymentAuthorization (src/ledger/payment.ts) for at most `amount`, bound to that payee,
 * resource and network, with a fresh random nonce and a validity window of
 * maxTimeoutSeconds. The node charges the actual fee (≤ amount) with a `SettlePayment` tx.
 */
import { randomBytes } from 'node:crypto'
import type { Hex } from '../core/index.ts'
import { PAYMENT_AUTHORIZATION_TYPE, paymentAuthorizationFields } from '../ledger/index.ts'

export const SINEW_SCHEME = 'sinew'
export const SINEW_ASSET = 'SIN'
/** Seconds of clock skew allowed before the window opens. */
const SKEW_SECONDS = 60

/** The EIP-712 types the payer signs (PaymentAuthorization, src/ledger/payment.ts). */
export const PAYMENT_AUTHORIZATION_TYPES = { [PAYMENT_AUTHORIZATION_TYPE]: paymentAuthorizationFields }

/** What `createPaymentPayload` puts in `payload`: the authorisation (integers as decimal strings) and its signature. */
export type SinewPaymentPayload = {
  authorization: {
    payer: Hex
    payee: Hex
    maxAmount: string
    resource: string
    nonce: Hex
    validAfter: string
    validBefore: string
    network: string
  }
  signature: Hex
}

type Requirements = { scheme: string; network: string; amount: string; payTo: string; maxTimeoutSeconds: number; extra: Record<string, unknown> }

/** The scheme for a payer key: pass it to `x402Client.register('sinew:<chainId>', …)`. */
export function sinewScheme(privateKey: Hex, options: { now?: () => number } = {}) {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000))
  return {
    scheme: SINEW_SCHEME,
    async createPaymentPayload(x402Version: number, req: Requirements): Promise<{ x402Version: number; payload: Record<string, unknown> }> {
      const m = /^sinew:([1-9][0-9]*)$/.exec(req.network)
      if (!m) throw new Error(`sinew scheme: network must be sinew:<chainId>, got ${req.network}`)
      if (typeof req.extra?.resource !== 'string') throw new Error('sinew scheme: the requirement names no extra.resource')
      const { privateKeyToAccount } = await import('viem/accounts')
      const account = privateKeyToAccount(privateKey)
      const t = now()
      const authorization = {
        payer: account.address.toLowerCase() as Hex,
        payee: req.payTo.toLowerCase() as Hex,
        maxAmount: req.amount,
        resource: req.extra.resource,
        nonce: `0x${randomBytes(32).toString('hex')}` as Hex,
        validAfter: String(Math.max(0, t - SKEW_SECONDS)),
        validBefore: String(t + Math.max(1, req.maxTimeoutSeconds)),
        network: req.network,
      }
      const signature = await account.signTypedData({
        domain: { name: 'Sinew', version: '1', chainId: BigInt(m[1]) },
        types: PAYMENT_AUTHORIZATION_TYPES,
        primaryType: 'PaymentAuthorization',
        message: {
          ...authorization,
          maxAmount: BigInt(authorization.maxAmount),
          validAfter: BigInt(authorization.validAfter),
          validBefore: BigInt(authorization.validBefore),
        },
      })
      const payload: SinewPaymentPayload = { authorization, signature }
      return { x402Version, payload }
    },
  }
}
