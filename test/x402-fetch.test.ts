/**
 * x402 end to end with the official client packages, unmodified: `@x402/fetch`'s
 * wrapFetchWithPayment with the Sinew scheme exported by this package (`sinew/x402`) pays
 * for a chat completion over HTTP; the official MCP SDK client calls the paid `chat` tool,
 * gets the PaymentRequired result, builds the payment with `@x402/core`'s x402Client and
 * sends it in `_meta["x402/payment"]`. In both, the payment response names the receipt, its
 * amount is the receipt's fee, and the payer's balance on the ledger dropped by exactly that;
 * `sinew verify` then replays every acceptance and charge.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { x402Client as CoreClient } from '@x402/core/client'
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch'
import { SINEW_ASSET, sinewScheme } from 'sinew/x402'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { startFakeModelNode } from './gateway-fixtures.ts'
import { countTxs, dev, http, runCli } from './helpers.ts'

const SIN = 10n ** 18n
const PRICE = 1000n * SIN
const NETWORK = 'sinew:31415'
let net: Awaited<ReturnType<typeof startFakeModelNode>>
let running: RunningNode
const owner = dev[3]
const payer = dev[6]

const balance = async (a: string): Promise<bigint> => BigInt((await http(`${running.url}/v1/accounts/${a}`)).json.balance)
const receipt = async (id: string) => (await http(`${running.url}/v1/receipts/${id}`)).json

/** An x402 client paying with the payer's key on this chain, SIN allowed up to 1 SIN a payment. */
function payerClient<C extends CoreClient>(client: C): C {
  client.register(NETWORK, sinewScheme(payer.privateKey))
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: SINEW_ASSET, maxAmountPerPayment: SIN.toString() }] })
  return client
}

beforeAll(async () => {
  net = await startFakeModelNode({ prefix: 'sinew-x402-fetch-', owner: owner.privateKey, pricePerMillion: PRICE, models: { 'paid-llm': 'fixed' } })
  running = net.running
}, 60_000)

afterAll(() => net?.close())

describe('x402 with the official clients', () => {
  it('@x402/fetch with the exported Sinew scheme pays for a chat completion: the receipt fee is the payment charged', async () => {
    const pay = wrapFetchWithPayment(fetch, payerClient(new x402Client()))
    const before = await balance(payer.address)
    const res = await pay(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'paid-llm', messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: 8 }),
    })
    expect(res.status).toBe(200)
    const answer = (await res.json()) as any
    expect(answer.choices[0].message.content).not.toBe('')
    const settled = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE')!)
    expect(settled).toMatchObject({ success: true, network: NETWORK, payer: payer.address })
    const r = await receipt(settled.extra!.receipt as string)
    expect(r.id).toBe(res.headers.get('x-sinew-receipt'))
    expect(settled.amount).toBe(r.split.fee)
    expect(settled.transaction).toBe(r.tx)
    expect(BigInt(r.split.fee)).toBeGreaterThan(0n)
    expect(before - (await balance(payer.address))).toBe(BigInt(r.split.fee))
  })

  it('the MCP chat tool: PaymentRequired as an isError result, then paid in _meta["x402/payment"], the payment response in the result _meta', async () => {
    const mcp = new Client({ name: 'x402-test', version: '1' })
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${running.url}/mcp`)))
    try {
      const args = { model: 'paid-llm', messages: [{ role: 'user', content: 'tell me a story' }], maxTokens: 8 }
      const unpaid = (await mcp.callTool({ name: 'chat', arguments: args })) as any
      expect(unpaid.isError).toBe(true)
      const required = unpaid.structuredContent
      expect(required).toMatchObject({ x402Version: 2, accepts: [{ scheme: 'sinew', network: NETWORK, asset: 'SIN', payTo: owner.address }] })
      expect(JSON.parse(unpaid.content[0].text)['x402/error']).toMatchObject({ code: 402, data: required })

      const payment = await payerClient(new CoreClient()).createPaymentPayload(required)
      const before = await balance(payer.address)
      const paid = (await mcp.callTool({ name: 'chat', arguments: args, _meta: { 'x402/payment': payment } })) as any
      expect(paid.isError).toBeFalsy()
      expect(paid.structuredContent.content).not.toBe('')
      const settled = paid._meta['x402/payment-response']
      expect(settled).toMatchObject({ success: true, network: NETWORK, payer: payer.address })
      const r = await receipt(paid.structuredContent.sinew.receipt)
      expect(settled.extra.receipt).toBe(r.id)
      expect(settled.amount).toBe(r.split.fee)
      expect(before - (await balance(payer.address))).toBe(BigInt(r.split.fee))

      // The same payment again is a replay: refused with the requirements, nothing charged.
      const replay = (await mcp.callTool({ name: 'chat', arguments: args, _meta: { 'x402/payment': payment } })) as any
      expect(replay.isError).toBe(true)
      expect(replay.structuredContent.error).toMatch(/settled already/)
      expect(await balance(payer.address)).toBe(before - BigInt(r.split.fee))
    } finally {
      await mcp.close()
    }
  })

  it('sinew verify replays every payment acceptance and charge', async () => {
    const committed = await countTxs(running)
    await running.close()
    const r = await runCli(['verify', '--data-dir', net.dataDir, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, txs: committed })
  }, 60_000)
})
