/**
 * x402 Sinew-native scheme: a payload made by the unmodified @x402/core client with the
 * exported `sinewScheme`, settled by the sequencer's SettlePayment on an in-memory chain;
 * each bad authorisation refused with nothing charged.
 */
import { x402Client } from '@x402/core/client'
import { describe, expect, it } from 'vitest'
import { SINEW_ASSET, sinewScheme, type SinewPaymentPayload } from '../client/x402.ts'
import { devAccounts } from './keys/index.ts'
import { addressOf, Chain, createLedgerRegistry, devGenesis, insecureDevKey, readAccount, sinewNetwork, type Address } from './index.ts'

const [payer, payee, other] = devAccounts(3)
const seqKey = insecureDevKey('sequencer')
const genesis = devGenesis({ accounts: [payer, payee], sequencer: addressOf(seqKey), treasury: addressOf(insecureDevKey('treasury')) })
const network = sinewNetwork(genesis.chainId) as `${string}:${string}`
const T = 1_900_000_000n // seconds: the payer's clock when signing
const MAX = 10n ** 17n

async function authorise(key: `0x${string}`, o: { resource?: string; network?: string; amount?: bigint } = {}): Promise<SinewPaymentPayload> {
  const net = (o.network ?? network) as `${string}:${string}`
  const client = new x402Client().register(net, sinewScheme(key, { now: () => Number(T) }) as any)
  client.setSpendControls({ allowedAssets: [{ network: net, asset: SINEW_ASSET }] })
  const payload = await client.createPaymentPayload({
    x402Version: 2,
    resource: { url: 'http://node/v1/chat/completions' },
    accepts: [
      {
        scheme: 'sinew',
        network: net,
        asset: SINEW_ASSET,
        amount: (o.amount ?? MAX).toString(),
        payTo: payee.address,
        maxTimeoutSeconds: 300,
        extra: { resource: o.resource ?? 'POST /v1/chat/completions' },
      },
    ],
  })
  return payload.payload as SinewPaymentPayload
}

function setup() {
  const chain = Chain.inMemory(genesis, createLedgerRegistry())
  let nonce = 0n
  const settle = async (p: SinewPaymentPayload, amount: bigint, atSeconds = T) => {
    const { authorization: a } = p
    const env = chain.codec.sign(seqKey, 'SettlePayment', {
      payer: a.payer,
      payee: a.payee,
      maxAmount: a.maxAmount,
      resource: a.resource,
      authNonce: a.nonce,
      validAfter: a.validAfter,
      validBefore: a.validBefore,
      network: a.network,
      signature: p.signature,
      amount: amount.toString(),
      nonce: nonce.toString(),
    })
    const { execution } = await chain.produceBlock([chain.codec.recover(chain.codec.decode(env))], seqKey, atSeconds * 1000n)
    if (execution.rejected.length > 0) return { error: execution.rejected[0].error }
    nonce++
    return { receipt: execution.included[0].receipt }
  }
  const balance = (a: Address) => readAccount(chain.state, a).balance
  return { chain, settle, balance }
}

describe('x402 sinew scheme', () => {
  it('settles the actual fee (≤ the authorised maximum) from payer to payee, once', async () => {
    const { settle, balance } = setup()
    const p = await authorise(payer.privateKey)
    expect(p.authorization).toMatchObject({ payer: payer.address, payee: payee.address, maxAmount: MAX.toString(), network })
    const before = [balance(payer.address), balance(payee.address)]
    const fee = 12_345n
    const r = await settle(p, fee)
    expect(r.receipt?.result).toMatchObject({ payer: payer.address, payee: payee.address, amount: fee.toString(), authNonce: p.authorization.nonce })
    expect(before[0] - balance(payer.address)).toBe(fee)
    expect(balance(payee.address) - before[1]).toBe(fee)
    expect((await settle(p, 1n)).error?.code).toBe('payment_nonce_used')
    expect(before[0] - balance(payer.address)).toBe(fee)
  })

  it('refuses an expired, over-authorised, other-network, forged or unfunded authorisation, charging nothing', async () => {
    const { settle, balance } = setup()
    const start = balance(payer.address)
    const p = await authorise(payer.privateKey)
    expect((await settle(p, MAX + 1n)).error?.code).toBe('payment_over_authorised')
    expect((await settle(p, 1n, T + 301n)).error?.code).toBe('payment_expired')
    const elsewhere = await authorise(payer.privateKey, { network: 'sinew:1' })
    expect((await settle(elsewhere, 1n)).error?.code).toBe('payment_wrong_network')
    const forged = { ...p, authorization: { ...p.authorization, payer: other.address } }
    expect((await settle(forged, 1n)).error?.code).toBe('payment_signature_invalid')
    const rebound = { ...p, authorization: { ...p.authorization, resource: 'POST /mcp' } }
    expect((await settle(rebound, 1n)).error?.code).toBe('payment_signature_invalid')
    const unfunded = await authorise(other.privateKey)
    expect((await settle(unfunded, 1n)).error?.code).toBe('insufficient_balance')
    expect(balance(payer.address)).toBe(start)
  })
})
