/**
 * x402's EVM `exact` scheme on the settlement token, end to end: a real anvil with the
 * settlement contract and the dev token (EIP-3009), a Sinew dev node over real HTTP as its own
 * facilitator, and the unmodified `@x402/fetch` + `@x402/evm` client paying with a viem account
 * that holds tokens on anvil and nothing on Sinew. Oracles: token balances read from anvil,
 * the transfer's receipt and Transfer log read from anvil, the receipt and balances on Sinew,
 * the node's backing invariant against the contract's balance, and `sinew verify`.
 * Refusals (replay, wrong payTo, wrong amount, expired, bad signature, no tokens, chain
 * unreachable) move no token and charge nothing.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { x402Client as CoreClient } from '@x402/core/client'
import { ExactEvmScheme } from '@x402/evm/exact/client'
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch'
import { getAddress, parseEventLogs, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeDevGenesis } from '../src/cli/data-dir.ts'
import { evmPaymentKey, evmWallet, genesisMint, readDeposit, readTotals, sinewDevTokenAbi } from '../src/settlement/index.ts'
import { startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { countTxs, dev, http, runCli, sendTx, waitFor } from './helpers.ts'
import { expectInvariant, SIN, startSettledNet, type SettledNet } from './settlement-node-fixtures.ts'

const PRICE = 1000n * SIN
const MODEL = 'evm-llm'
const owner = dev[3]
let net: SettledNet
let backend: FakeBackend
let network: `${string}:${string}`
/** An agent that has never met Sinew: tokens on anvil, no ETH, no SIN. */
const payerKey = generatePrivateKey()
const payer = privateKeyToAccount(payerKey)
const PAYER = payer.address.toLowerCase() as Hex
/** A second such agent, paying at the same time. */
const payer2 = privateKeyToAccount(generatePrivateKey())
/** What the test itself moved into the contract (the invariant's oracle). */
let deposited = 0n

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64')
const unb64 = (s: string | null) => JSON.parse(Buffer.from(s ?? '', 'base64').toString('utf8'))
const bodyFor = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: 8 })
const body = bodyFor(MODEL)

async function call(headers: Record<string, string> = {}, model = MODEL) {
  const res = await fetch(`${net.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: bodyFor(model),
  })
  return { status: res.status, headers: res.headers, json: (await res.json()) as any }
}

/** The `exact` requirement of an unpaid call's 402. */
async function exactRequirement(model = MODEL) {
  const r = await call({}, model)
  expect(r.status).toBe(402)
  const required = unb64(r.headers.get('payment-required'))
  return { required, exact: required.accepts.find((a: any) => a.scheme === 'exact') }
}

/** An x402 client paying `exact` on anvil with `account`, the settlement token allowed. */
function evmClient<C extends CoreClient>(client: C, account: PrivateKeyAccount = payer): C {
  client.register(network, new ExactEvmScheme(account))
  client.setSpendControls({ allowedAssets: [{ network, asset: net.deployment.token, maxAmountPerPayment: SIN.toString() }] })
  return client
}

/** A PaymentPayload for `requirement` (edited as a test needs) made by the unmodified @x402/evm scheme. */
async function pay(requirement: any, account: PrivateKeyAccount = payer) {
  const { payload } = await new ExactEvmScheme(account).createPaymentPayload(2, requirement)
  return { x402Version: 2, accepted: requirement, payload }
}

const snapshot = async () => ({
  tokens: await net.tokenBalance(PAYER),
  held: await net.tokenBalance(net.deployment.settlement),
  sin: await net.sinewBalance(PAYER),
})

/** The call paid with `payment` is refused 402 with `code`: no token moved, nothing charged. */
async function refused(payment: unknown, code: string) {
  const before = await snapshot()
  const r = await call({ 'payment-signature': b64(payment) })
  expect(r.status).toBe(402)
  expect(r.json.error.code).toBe(code)
  expect(unb64(r.headers.get('payment-required')).accepts.some((a: any) => a.scheme === 'exact')).toBe(true)
  expect(await snapshot()).toEqual(before)
  return r
}

beforeAll(async () => {
  net = await startSettledNet({ rpcProxy: true })
  backend = await startFakeOpenAI()
  for (const [name, upstream] of [
    [MODEL, 'fixed'],
    ['evm-fail', 'fail'],
  ])
    await sendTx(net.url, owner.privateKey, 'RegisterModel', {
      name,
      description: 'test',
      backend: `openai-compatible:${backend.url}#${upstream}`,
      datanets: [],
      pricePerMillion: PRICE.toString(),
      contributorShareBps: '0',
    })
  // The payers get tokens on anvil (from dev account 7), nothing else.
  for (const to of [payer.address, payer2.address]) {
    const hash = await evmWallet(net.evm, dev[7].privateKey).writeContract({
      address: net.deployment.token,
      abi: sinewDevTokenAbi,
      functionName: 'transfer',
      args: [to, 10n * SIN],
    })
    await net.evm.client.waitForTransactionReceipt({ hash })
  }
  network = `eip155:${net.evm.chainId}`
  // The node offers `exact` once it has read the token's EIP-712 domain.
  await waitFor(
    () => net.status(),
    (s) => s.settlement?.chainId !== null,
  )
}, 120_000)

afterAll(async () => {
  await net?.close()
  await backend?.close()
})

describe('x402 exact on the settlement token', () => {
  it('the 402 offers `exact` on eip155:<chainId>: the token, the contract as payTo, the price, the token EIP-712 domain', async () => {
    const { required, exact } = await exactRequirement()
    const sinew = required.accepts.find((a: any) => a.scheme === 'sinew')
    expect(exact).toMatchObject({
      network: `eip155:${net.evm.chainId}`,
      asset: net.deployment.token.toLowerCase(),
      payTo: net.deployment.settlement.toLowerCase(),
      amount: sinew.amount,
      maxTimeoutSeconds: 300,
      extra: { name: 'Sinew Dev Token', version: '1' },
    })
    // The domain is the token's own (EIP-5267), read from the chain.
    const [, name, version, chainId, verifyingContract] = await net.evm.client.readContract({
      address: net.deployment.token,
      abi: sinewDevTokenAbi,
      functionName: 'eip712Domain',
    })
    expect({ name, version, chainId, verifyingContract: verifyingContract.toLowerCase() }).toEqual({
      name: exact.extra.name,
      version: exact.extra.version,
      chainId: net.evm.chainId,
      verifyingContract: exact.asset,
    })
    // The agent card lists both schemes in its x402 extension.
    const card = (await http(`${net.url}/.well-known/agent-card.json`)).json
    const ext = card.capabilities.extensions.find((e: any) => e.uri === 'urn:sinew:a2a:x402-http:v1')
    expect(ext.params.schemes).toEqual([
      { scheme: 'sinew', network: 'sinew:31415', asset: 'SIN' },
      { scheme: 'exact', network, asset: exact.asset },
    ])
  })

  it('the unmodified @x402/fetch + @x402/evm client pays a chat completion: tokens move on anvil, a Deposit and a receipt on Sinew, the rest stays on the balance', async () => {
    const before = await snapshot()
    expect(before.sin).toBe(0n)
    const { exact } = await exactRequirement()
    const amount = BigInt(exact.amount)
    const res = await wrapFetchWithPayment(fetch, evmClient(new x402Client()))(`${net.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as any).choices[0].message.content).not.toBe('')
    const settled = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE')!)
    expect(settled).toMatchObject({ success: true, network, payer: PAYER, amount: amount.toString() })
    deposited += amount

    // On anvil: the transfer is mined, its Transfer log moves `amount` from the payer to the contract.
    const evmTx = settled.transaction as Hex
    const evmReceipt = await net.evm.client.getTransactionReceipt({ hash: evmTx })
    expect(evmReceipt.status).toBe('success')
    const [transfer] = parseEventLogs({ abi: sinewDevTokenAbi, eventName: 'Transfer', logs: evmReceipt.logs })
    expect(transfer.args).toEqual({ from: getAddress(payer.address), to: getAddress(net.deployment.settlement), value: amount })
    expect(await net.tokenBalance(PAYER)).toBe(before.tokens - amount)
    expect(await net.tokenBalance(net.deployment.settlement)).toBe(before.held + amount)

    // On Sinew: the log is credited to the payer, keyed like a watcher's deposit.
    const state = net.running.node.chain.state
    expect(readDeposit(state, net.evm.chainId, evmTx, BigInt(transfer.logIndex))).toMatchObject({ account: PAYER, amount: amount.toString() })
    const receipt = (await http(`${net.url}/v1/receipts/${settled.extra!.receipt}`)).json
    expect(receipt.id).toBe(res.headers.get('x-sinew-receipt'))
    expect(settled.extra).toMatchObject({ receiptTx: receipt.tx, charged: receipt.split.fee, credited: amount.toString() })
    const fee = BigInt(receipt.split.fee)
    expect(fee).toBeGreaterThan(0n)
    expect(fee).toBeLessThanOrEqual(amount)
    // Charged the actual fee; the rest of the transfer is the payer's, withdrawable.
    expect(await net.sinewBalance(PAYER)).toBe(amount - fee)
  })

  it('the watcher does not credit the payment transfer a second time, and the backing invariant holds', async () => {
    const totals = readTotals(net.running.node.chain.state)
    const sin = await net.sinewBalance(PAYER)
    const head = await net.evm.client.getBlockNumber({ cacheTime: 0 })
    await net.test.mine(5)
    await waitFor(
      () => net.status(),
      (s) => s.settlement.scannedTo !== null && BigInt(s.settlement.scannedTo) >= head,
    )
    expect(readTotals(net.running.node.chain.state)).toEqual(totals)
    expect(await net.sinewBalance(PAYER)).toBe(sin)
    await expectInvariant(net, { credited: deposited, paid: 0n, deposited })
  })

  it('a replayed payment is refused (payment_nonce_used) and charged once', async () => {
    const { exact } = await exactRequirement()
    const payment = await pay(exact)
    const before = await snapshot()
    const first = await call({ 'payment-signature': b64(payment) })
    expect(first.status).toBe(200)
    const amount = BigInt(exact.amount)
    deposited += amount
    const fee = BigInt(decodePaymentResponseHeader(first.headers.get('payment-response')!).extra!.charged as string)
    expect(await net.tokenBalance(PAYER)).toBe(before.tokens - amount)
    expect(await net.sinewBalance(PAYER)).toBe(before.sin + amount - fee)
    const replay = await refused(payment, 'payment_nonce_used')
    expect(replay.json.error.message).toMatch(/paid for a call already|used on the chain/)
    const nonce = (payment.payload as any).authorization.nonce as Hex
    expect(net.running.node.chain.state.get(evmPaymentKey(net.evm.chainId, net.deployment.token.toLowerCase() as Hex, PAYER, nonce))).toBeDefined()
  })

  it('the same payment sent twice at once is settled once; two payers at once are both settled (the node sends one EVM tx at a time)', async () => {
    const { exact } = await exactRequirement()
    const amount = BigInt(exact.amount)
    const payment = b64(await pay(exact))
    const before = await snapshot()
    const twice = await Promise.all([call({ 'payment-signature': payment }), call({ 'payment-signature': payment })])
    expect(twice.map((r) => r.status).sort()).toEqual([200, 402])
    expect(twice.find((r) => r.status === 402)!.json.error.code).toBe('payment_nonce_used')
    deposited += amount
    const fee = BigInt(decodePaymentResponseHeader(twice.find((r) => r.status === 200)!.headers.get('payment-response')!).extra!.charged as string)
    expect(await net.tokenBalance(PAYER)).toBe(before.tokens - amount)
    expect(await net.sinewBalance(PAYER)).toBe(before.sin + amount - fee)

    const both = await Promise.all([call({ 'payment-signature': b64(await pay(exact)) }), call({ 'payment-signature': b64(await pay(exact, payer2)) })])
    expect(both.map((r) => r.status)).toEqual([200, 200])
    deposited += 2n * amount
    expect(await net.tokenBalance(payer2.address)).toBe(10n * SIN - amount)
    const settled = both.map((r) => decodePaymentResponseHeader(r.headers.get('payment-response')!))
    expect(new Set(settled.map((x) => x.transaction)).size).toBe(2)
    expect(await net.sinewBalance(payer2.address)).toBe(amount - BigInt(settled[1].extra!.charged as string))
  })

  it('a payment to another payTo, for less or more than the amount, in another asset, is refused before any transfer', async () => {
    const { exact } = await exactRequirement()
    await refused(await pay({ ...exact, payTo: dev[5].address }), 'payment_wrong_payee')
    await refused(await pay({ ...exact, amount: (BigInt(exact.amount) - 1n).toString() }), 'payment_insufficient')
    await refused(await pay({ ...exact, amount: (BigInt(exact.amount) + 1n).toString() }), 'payment_wrong_amount')
    await refused(await pay({ ...exact, asset: dev[5].address }), 'payment_wrong_asset')
    await refused(await pay({ ...exact, network: 'eip155:1' }), 'payment_wrong_network')
  })

  it('an expired or not yet valid authorisation, a forged signature and a payer without tokens are refused', async () => {
    const { exact } = await exactRequirement()
    const now = BigInt(Math.floor(Date.now() / 1000))
    const signed = async (edit: Record<string, unknown>, signer: PrivateKeyAccount = payer) => {
      const p = await pay(exact)
      const authorization = { ...(p.payload as any).authorization, ...edit }
      const signature = await signer.signTypedData({
        domain: { name: exact.extra.name, version: exact.extra.version, chainId: Number(net.evm.chainId), verifyingContract: getAddress(exact.asset) },
        types: {
          TransferWithAuthorization: [
            { name: 'from', type: 'address' },
            { name: 'to', type: 'address' },
            { name: 'value', type: 'uint256' },
            { name: 'validAfter', type: 'uint256' },
            { name: 'validBefore', type: 'uint256' },
            { name: 'nonce', type: 'bytes32' },
          ],
        },
        primaryType: 'TransferWithAuthorization',
        message: {
          ...authorization,
          value: BigInt(authorization.value),
          validAfter: BigInt(authorization.validAfter),
          validBefore: BigInt(authorization.validBefore),
        },
      })
      return { ...p, payload: { authorization, signature } }
    }
    await refused(await signed({ validBefore: (now - 10n).toString() }), 'payment_expired')
    await refused(await signed({ validAfter: (now + 600n).toString() }), 'payment_not_yet_valid')
    // Signed by someone else for the payer's tokens.
    await refused(await signed({}, privateKeyToAccount(dev[5].privateKey)), 'payment_signature_invalid')
    // Edited after signing.
    const p = await pay(exact)
    await refused(
      { ...p, payload: { ...(p.payload as any), authorization: { ...(p.payload as any).authorization, validBefore: (now + 9999n).toString() } } },
      'payment_signature_invalid',
    )
    // A well-signed payment from an account with no tokens.
    const broke = privateKeyToAccount(generatePrivateKey())
    const before = await net.sinewBalance(broke.address)
    const r = await call({ 'payment-signature': b64(await pay(exact, broke)) })
    expect(r.status).toBe(402)
    expect(r.json.error.code).toBe('payment_insufficient_funds')
    expect(await net.sinewBalance(broke.address)).toBe(before)
  })

  it("a call that fails after the transfer is charged nothing: the tokens stay on the payer's Sinew balance, withdrawable", async () => {
    const { exact } = await exactRequirement('evm-fail')
    const before = await snapshot()
    const r = await call({ 'payment-signature': b64(await pay(exact)) }, 'evm-fail')
    expect(r.status).toBe(502)
    const amount = BigInt(exact.amount)
    deposited += amount
    const settled = unb64(r.headers.get('payment-response'))
    expect(settled).toMatchObject({ success: true, payer: PAYER, amount: amount.toString(), extra: { errorReason: 'call_not_served', charged: '0' } })
    expect(settled.extra.receipt).toBeUndefined()
    expect(await net.tokenBalance(PAYER)).toBe(before.tokens - amount)
    expect(await net.sinewBalance(PAYER)).toBe(before.sin + amount)
  })

  it('the MCP chat tool takes the same exact payload in _meta["x402/payment"]', async () => {
    const mcp = new Client({ name: 'x402-evm-test', version: '1' })
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${net.url}/mcp`)))
    try {
      const args = { model: MODEL, messages: [{ role: 'user', content: 'tell me a story' }], maxTokens: 8 }
      const unpaid = (await mcp.callTool({ name: 'chat', arguments: args })) as any
      expect(unpaid.isError).toBe(true)
      const payment = await evmClient(new CoreClient()).createPaymentPayload(unpaid.structuredContent)
      expect(payment.accepted.scheme).toBe('exact')
      const before = await snapshot()
      const paid = (await mcp.callTool({ name: 'chat', arguments: args, _meta: { 'x402/payment': payment } })) as any
      expect(paid.isError).toBeFalsy()
      const settled = paid._meta['x402/payment-response']
      const amount = BigInt(payment.accepted.amount)
      deposited += amount
      expect(settled).toMatchObject({ success: true, network, payer: PAYER, amount: amount.toString() })
      const receipt = (await http(`${net.url}/v1/receipts/${paid.structuredContent.sinew.receipt}`)).json
      expect(settled.extra.receipt).toBe(receipt.id)
      expect(settled.extra.charged).toBe(receipt.split.fee)
      expect(await net.tokenBalance(PAYER)).toBe(before.tokens - amount)
      expect(await net.sinewBalance(PAYER)).toBe(before.sin + amount - BigInt(receipt.split.fee))
    } finally {
      await mcp.close()
    }
  })

  it('with the settlement chain unreachable the payment is refused (payment_settlement_failed), nothing transferred or charged', async () => {
    const { exact } = await exactRequirement()
    const payment = await pay(exact)
    const sin = await net.sinewBalance(PAYER)
    net.proxy!.cut()
    try {
      const r = await call({ 'payment-signature': b64(payment) })
      expect(r.status).toBe(402)
      expect(r.json.error.code).toBe('payment_settlement_failed')
    } finally {
      net.proxy!.restore()
    }
    expect(await net.sinewBalance(PAYER)).toBe(sin)
    // The authorisation was never used: it still pays once the chain is back.
    const used = await net.evm.client.readContract({
      address: net.deployment.token,
      abi: sinewDevTokenAbi,
      functionName: 'authorizationState',
      args: [payer.address, (payment.payload as any).authorization.nonce],
    })
    expect(used).toBe(false)
    const again = await call({ 'payment-signature': b64(payment) })
    expect(again.status).toBe(200)
    deposited += BigInt(exact.amount)
    // The contract holds the genesis backing and every payment; Sinew credited each once.
    expect(await net.tokenBalance(net.deployment.settlement)).toBe(genesisMint(makeDevGenesis()) + deposited)
    expect(BigInt(readTotals(net.running.node.chain.state).deposited)).toBe(deposited)
  })

  it('sinew verify replays every DepositTransfer, AcceptEvmPayment and charge', async () => {
    const committed = await countTxs(net.running)
    await net.running.close()
    const r = await runCli(['verify', '--data-dir', net.dataDir, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, txs: committed })
  }, 120_000)
})
