/**
 * x402 version 2 on the gateway over real HTTP (a dev node, SQLite, port 0, a fake OpenAI-wire
 * backend): a call without an API key gets 402 and PAYMENT-REQUIRED; the retry with a
 * PAYMENT-SIGNATURE made by the exported Sinew scheme is served, charged the receipt's fee
 * (≤ the authorised maximum) and answered with PAYMENT-RESPONSE; every bad payment (replayed,
 * expired, another resource, less than the price, an unfunded signer, another network, a
 * header that is not base64 JSON) is refused with its own code and charges nothing; a call
 * whose backend fails charges nothing. Balances are read from the ledger (GET /v1/accounts).
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { sinewScheme } from '../src/client/x402.ts'
import type { RunningNode } from '../src/server/index.ts'
import { startFakeModelNode } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, testClock } from './helpers.ts'

const SIN = 10n ** 18n
const PRICE = 1000n * SIN
const MAX_TOKENS = 5
let net: Awaited<ReturnType<typeof startFakeModelNode>>
let running: RunningNode
const clock = testClock()
const owner = dev[3]
const payer = dev[4]

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64')
const unb64 = (s: string | null) => JSON.parse(Buffer.from(s ?? '', 'base64').toString('utf8'))
const balance = async (a: string): Promise<bigint> => BigInt((await http(`${running.url}/v1/accounts/${a}`)).json.balance)

async function call(path: string, headers: Record<string, string> = {}, model = 'x402-llm') {
  const body =
    path === '/v1/responses'
      ? { model, input: 'go on', max_output_tokens: MAX_TOKENS }
      : { model, messages: [{ role: 'user', content: 'go on' }], max_tokens: MAX_TOKENS }
  const res = await fetch(`${running.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { status: res.status, headers: res.headers, json: (await res.json()) as any }
}

/** The 402 of an unpaid call, decoded. */
async function required(path = '/v1/chat/completions', model = 'x402-llm') {
  const r = await call(path, {}, model)
  expect(r.status).toBe(402)
  return unb64(r.headers.get('payment-required'))
}

/** A PaymentPayload for `requirement` (edited as a test needs) signed by `key` with the exported scheme. */
async function pay(requirement: any, key: Hex = payer.privateKey, now?: () => number) {
  const scheme = sinewScheme(key, now ? { now } : {})
  const { payload } = await scheme.createPaymentPayload(2, requirement)
  return { x402Version: 2, accepted: requirement, payload }
}

/** The call refused 402 with `code`, and the payer's balance unchanged. */
async function refused(headers: Record<string, string>, code: string, who: string = payer.address) {
  const before = await balance(who)
  const r = await call('/v1/chat/completions', headers)
  expect(r.status).toBe(402)
  expect(r.json.error.code).toBe(code)
  // A refused payment is answered with the requirements again, saying why.
  const again = unb64(r.headers.get('payment-required'))
  expect(again.x402Version).toBe(2)
  expect(again.error).toBeTruthy()
  expect(await balance(who)).toBe(before)
  return r
}

beforeAll(async () => {
  net = await startFakeModelNode({
    prefix: 'sinew-x402-',
    owner: owner.privateKey,
    pricePerMillion: PRICE,
    models: { 'x402-llm': 'fixed', 'x402-fail': 'fail' },
    clock: clock.now,
  })
  running = net.running
}, 60_000)

afterAll(() => net?.close())

describe('x402 on the gateway', () => {
  it('a call without an API key gets 402 with PAYMENT-REQUIRED: version 2, the Sinew scheme, the most the call costs, the model owner', async () => {
    const r = await call('/v1/chat/completions')
    expect(r.status).toBe(402)
    expect(r.json.error.code).toBe('payment_required')
    const pr = unb64(r.headers.get('payment-required'))
    expect(pr).toMatchObject({ x402Version: 2, resource: { url: `${running.url}/v1/chat/completions`, mimeType: 'application/json' } })
    expect(pr.accepts).toHaveLength(1)
    // docs/gateway.md: fee = ceil(price × output tokens / 10^6); at most MAX_TOKENS output tokens.
    const maxFee = (PRICE * BigInt(MAX_TOKENS) + 999_999n) / 1_000_000n
    expect(pr.accepts[0]).toEqual({
      scheme: 'sinew',
      network: 'sinew:31415',
      amount: maxFee.toString(),
      asset: 'SIN',
      payTo: owner.address,
      maxTimeoutSeconds: 300,
      extra: { resource: '/v1/chat/completions?model=x402-llm', model: 'x402-llm', maxTokens: MAX_TOKENS, decimals: 18, settlement: 'upto' },
    })
  })

  it('paid with PAYMENT-SIGNATURE: served, charged the receipt fee (≤ the authorised maximum), PAYMENT-RESPONSE names the receipt', async () => {
    const pr = await required()
    const payment = await pay(pr.accepts[0])
    const before = { payer: await balance(payer.address), owner: await balance(owner.address) }
    const r = await call('/v1/chat/completions', { 'payment-signature': b64(payment) })
    expect(r.status).toBe(200)
    expect(r.json.choices[0].message.content).not.toBe('')
    const settled = unb64(r.headers.get('payment-response'))
    const receiptId = r.headers.get('x-sinew-receipt')
    const receipt = (await http(`${running.url}/v1/receipts/${receiptId}`)).json
    expect(settled).toMatchObject({ success: true, network: 'sinew:31415', payer: payer.address, amount: receipt.split.fee })
    expect(settled.extra.receipt).toBe(receiptId)
    expect(settled.transaction).toBe(receipt.tx)
    expect(BigInt(receipt.split.fee)).toBeGreaterThan(0n)
    expect(BigInt(receipt.split.fee)).toBeLessThanOrEqual(BigInt(pr.accepts[0].amount))
    expect(receipt.split.fee).toBe(r.json.usage.cost)
    // The ledger moved exactly the fee: the payer lost it; the owner got it less the protocol fee (no contributors here).
    expect(before.payer - (await balance(payer.address))).toBe(BigInt(receipt.split.fee))
    expect((await balance(owner.address)) - before.owner).toBe(BigInt(receipt.split.ownerAmount))

    // The same payment again is a replay.
    await refused({ 'payment-signature': b64(payment) }, 'payment_nonce_used')
  })

  it('one payment sent on five calls at once pays for exactly one: the ledger refuses the other acceptances as replays', async () => {
    const pr = await required()
    const header = { 'payment-signature': b64(await pay(pr.accepts[0])) }
    const before = await balance(payer.address)
    const answers = await Promise.all(Array.from({ length: 5 }, () => call('/v1/chat/completions', header)))
    const served = answers.filter((a) => a.status === 200)
    expect(served).toHaveLength(1)
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(a.status).toBe(402)
      expect(a.json.error.code).toBe('payment_nonce_used')
    }
    const fee = BigInt(unb64(served[0].headers.get('payment-response')).amount)
    expect(before - (await balance(payer.address))).toBe(fee)
  })

  it('the Responses API takes x402 too, priced for its own resource', async () => {
    const pr = await required('/v1/responses')
    expect(pr.accepts[0].extra.resource).toBe('/v1/responses?model=x402-llm')
    const r = await call('/v1/responses', { 'payment-signature': b64(await pay(pr.accepts[0])) })
    expect(r.status).toBe(200)
    expect(unb64(r.headers.get('payment-response'))).toMatchObject({ success: true, payer: payer.address })
  })

  it('refuses an expired authorisation', async () => {
    const pr = await required()
    const longAgo = () => Math.floor(Date.now() / 1000) - 3600
    await refused({ 'payment-signature': b64(await pay(pr.accepts[0], payer.privateKey, longAgo)) }, 'payment_expired')
  })

  it('refuses an authorisation for another resource (another route, another model)', async () => {
    const pr = await required('/v1/responses')
    await refused({ 'payment-signature': b64(await pay(pr.accepts[0])) }, 'payment_wrong_resource')
    const other = await required('/v1/chat/completions', 'x402-fail')
    await refused({ 'payment-signature': b64(await pay(other.accepts[0])) }, 'payment_wrong_resource')
  })

  it('refuses an authorisation for less than the price, or paying someone else', async () => {
    const pr = await required()
    const req = pr.accepts[0]
    await refused({ 'payment-signature': b64(await pay({ ...req, amount: (BigInt(req.amount) - 1n).toString() })) }, 'payment_insufficient')
    await refused({ 'payment-signature': b64(await pay({ ...req, payTo: dev[9].address })) }, 'payment_wrong_payee')
  })

  it('refuses a signer without funds', async () => {
    const pr = await required()
    const broke = generatePrivateKey()
    await refused({ 'payment-signature': b64(await pay(pr.accepts[0], broke)) }, 'payment_insufficient_funds', privateKeyToAccount(broke).address.toLowerCase())
  })

  it('refuses a payment for another network', async () => {
    const pr = await required()
    await refused({ 'payment-signature': b64(await pay({ ...pr.accepts[0], network: 'sinew:999' })) }, 'payment_wrong_network')
  })

  it('refuses a forged signature and a payload of another shape', async () => {
    const pr = await required()
    const payment = await pay(pr.accepts[0])
    const forged = {
      ...payment,
      payload: { ...payment.payload, authorization: { ...(payment.payload as any).authorization, maxAmount: '1000000000000000000000' } },
    }
    await refused({ 'payment-signature': b64(forged) }, 'payment_signature_invalid')
    await refused({ 'payment-signature': b64({ x402Version: 1, payload: {} }) }, 'payment_payload_invalid')
    await refused({ 'payment-signature': b64({ ...payment, accepted: { ...payment.accepted, scheme: 'exact' } }) }, 'payment_scheme_unsupported')
  })

  it('refuses a PAYMENT-SIGNATURE that is not valid base64 JSON', async () => {
    await refused({ 'payment-signature': 'not base64!' }, 'payment_header_invalid')
    await refused({ 'payment-signature': Buffer.from('{"x402Version": 2,').toString('base64') }, 'payment_header_invalid')
  })

  it('a call whose backend fails is not charged, and says so in PAYMENT-RESPONSE', async () => {
    const pr = await required('/v1/chat/completions', 'x402-fail')
    const before = await balance(payer.address)
    const r = await call('/v1/chat/completions', { 'payment-signature': b64(await pay(pr.accepts[0])) }, 'x402-fail')
    expect(r.status).toBe(502)
    expect(unb64(r.headers.get('payment-response'))).toMatchObject({ success: false, amount: '0', payer: payer.address })
    expect(await balance(payer.address)).toBe(before)
  })

  it('a call with an API key is served as before, without x402', async () => {
    const key = await grantApiKey(running.url, payer.privateKey)
    const r = await call('/v1/chat/completions', { authorization: `Bearer ${key}` })
    expect(r.status).toBe(200)
    expect(r.headers.get('payment-response')).toBeNull()
  })
})
