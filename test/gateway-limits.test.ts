/**
 * Spend within limits under concurrency: many paid calls at once on a key whose spend limit
 * allows exactly k calls, and on a payer whose balance covers exactly k calls. Exactly k
 * succeed, the others are refused with a typed 402, and the money that moved is exactly k
 * fees, never more than the limit. The fee is worked out here from docs/gateway.md's rule
 * (ceil(price × tokens / 10^6)), not with the node's code.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeClient } from '../src/client/index.ts'
import type { Hex } from '../src/core/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { FAKE_TEXT, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, sendTx, startDevNode, tempDir } from './helpers.ts'

const SIN = 10n ** 18n
/** Per million output tokens; not a multiple of 10^6, so the fee is rounded up. */
const PRICE = 1000n * SIN + 7n
/** Every call asks for this many tokens and gets them (FAKE_TEXT is longer): finish_reason length. */
const MAX_TOKENS = 5
/** docs/gateway.md: fee = ceil(pricePerMillion × outputTokens / 10^6). */
const FEE = (PRICE * BigInt(MAX_TOKENS) + 999_999n) / 1_000_000n
const ALLOWED = 3
const CALLS = 12 // within the gateway's per-key limit of calls in flight (16)

let tmp: ReturnType<typeof tempDir>
let running: RunningNode
let backend: FakeBackend
let client: NodeClient
const owner = dev[3]

const send = (key: Hex, type: string, message: Record<string, unknown>) => sendTx(running.url, key, type, message)
const grantKey = (key: Hex, spendLimit: bigint) => grantApiKey(running.url, key, { spendLimit, label: 'limits' })

const balance = async (address: string): Promise<bigint> => BigInt((await client.get(`/v1/accounts/${address}`)).balance)

/** One call, streamed or not; resolves with the status and, for a refusal, the OpenAI error code. */
async function call(apiKey: string, stream: boolean): Promise<{ status: number; code?: string; type?: string; tokens?: number }> {
  const res = await fetch(`${running.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({
      model: 'limit-llm',
      messages: [{ role: 'user', content: 'go' }],
      max_tokens: MAX_TOKENS,
      stream,
      // The final chunk carries usage only when asked for (as OpenAI's does).
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    }),
  })
  const text = await res.text()
  if (res.status !== 200) {
    const error = JSON.parse(text).error
    return { status: res.status, code: error.code, type: error.type }
  }
  if (!stream) return { status: 200, tokens: JSON.parse(text).usage.completion_tokens }
  const last = text
    .split('\n\n')
    .filter((f) => f.startsWith('data: {'))
    .map((f) => JSON.parse(f.slice(6)))
    .find((c) => c.usage)
  // A stream whose receipt was refused at commit ends with an error event instead of usage.
  if (!last) return { status: 200, code: 'stream_error' }
  return { status: 200, tokens: last.usage.completion_tokens }
}

/** Fires CALLS calls at once (half streamed), and sorts the outcomes. */
async function burst(apiKey: string) {
  const outcomes = await Promise.all(Array.from({ length: CALLS }, (_, i) => call(apiKey, i % 2 === 1)))
  return {
    ok: outcomes.filter((o) => o.status === 200 && o.tokens !== undefined),
    refused: outcomes.filter((o) => !(o.status === 200 && o.tokens !== undefined)),
  }
}

beforeAll(async () => {
  tmp = tempDir('sinew-limits-')
  backend = await startFakeOpenAI({ delayMs: 5 })
  running = await startDevNode(tmp.dir)
  client = new NodeClient(running.url)
  await send(owner.privateKey, 'RegisterModel', {
    name: 'limit-llm',
    description: 'test',
    backend: `openai-compatible:${backend.url}#fixed`,
    datanets: [],
    pricePerMillion: PRICE.toString(),
    contributorShareBps: '0',
  })
  expect(FAKE_TEXT.split(/\s+/).length).toBeGreaterThan(MAX_TOKENS)
})

afterAll(async () => {
  await running?.close()
  await backend?.close()
  tmp?.cleanup()
})

describe('concurrent calls never spend past a limit', () => {
  it(`a key whose spend limit allows exactly ${ALLOWED} calls: ${CALLS} at once, ${ALLOWED} succeed, the rest 402 spend_limit_reached`, async () => {
    const payer = dev[1]
    const limit = BigInt(ALLOWED) * FEE + FEE - 1n // one base unit short of a fourth call
    const apiKey = await grantKey(payer.privateKey, limit)
    const before = await balance(payer.address)
    const { ok, refused } = await burst(apiKey)
    expect(ok.length).toBe(ALLOWED)
    expect(ok.every((o) => o.tokens === MAX_TOKENS)).toBe(true)
    expect(refused.length).toBe(CALLS - ALLOWED)
    for (const r of refused) expect(r).toEqual({ status: 402, code: 'spend_limit_reached', type: 'insufficient_quota' })
    const key = await client.get(`/v1/apikeys/${hashApiKey(apiKey)}`)
    expect(BigInt(key.spent)).toBe(BigInt(ALLOWED) * FEE)
    expect(BigInt(key.spent)).toBeLessThanOrEqual(limit)
    expect(key.calls).toBe(String(ALLOWED))
    expect(before - (await balance(payer.address))).toBe(BigInt(ALLOWED) * FEE)
    expect(running.gateway!.reserved).toBe(0)
  })

  it(`a payer funded for exactly ${ALLOWED} calls, over two keys without limits: ${ALLOWED} succeed, the rest 402 insufficient_balance`, async () => {
    const poor = generatePrivateKey()
    const address = privateKeyToAccount(poor).address.toLowerCase()
    // Gas-free ledger: the grants cost nothing, so the balance is exactly what calls may spend.
    const funds = BigInt(ALLOWED) * FEE + FEE - 1n
    await send(dev[2].privateKey, 'Transfer', { to: address, amount: funds.toString() })
    const keys = [await grantKey(poor, 0n), await grantKey(poor, 0n)]
    expect(await balance(address)).toBe(funds)
    const outcomes = await Promise.all(Array.from({ length: CALLS }, (_, i) => call(keys[i % 2], i % 4 >= 2)))
    const ok = outcomes.filter((o) => o.status === 200 && o.tokens !== undefined)
    const refused = outcomes.filter((o) => !(o.status === 200 && o.tokens !== undefined))
    expect(ok.length).toBe(ALLOWED)
    for (const r of refused) expect(r).toEqual({ status: 402, code: 'insufficient_balance', type: 'insufficient_quota' })
    expect(await balance(address)).toBe(FEE - 1n)
    const spent = await Promise.all(keys.map(async (k) => BigInt((await client.get(`/v1/apikeys/${hashApiKey(k)}`)).spent)))
    expect(spent[0] + spent[1]).toBe(BigInt(ALLOWED) * FEE)
    expect(running.gateway!.reserved).toBe(0)
  })
})
