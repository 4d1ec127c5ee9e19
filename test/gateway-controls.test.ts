/**
 * Per-key controls and full pricing, end to end with the official `openai` client against a
 * real node (SQLite, HTTP on port 0, signed txs) and a fake OpenAI-wire backend: a model
 * allow-list, requests per minute under 30 concurrent calls, a daily budget that resets on
 * the node's (test-controlled) clock, prompt and request prices charged alike streamed or
 * not, and every bad input of the controls refused with nothing charged. Fees are worked out
 * here from docs/gateway.md's rule, not with the node's code; `sinew verify` replays it all.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeClient, signEnvelope } from '../src/client/index.ts'
import type { Hex } from '../src/core/index.ts'
import { hashApiKey, newApiKey } from '../src/models/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { callOutcome, expectRequestLimit, registerFixtureInfinigram, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, runCli, sendTx, startDevNode, tempDir, testClock } from './helpers.ts'

const SIN = 10n ** 18n
const PRICE = 1000n * SIN + 7n
const PROMPT_PRICE = 300n * SIN + 11n
const REQUEST_PRICE = 5n * 10n ** 15n
const MAX_TOKENS = 5
const PROMPT = 'go on'
/** Canonical tokens of PROMPT (two words): docs/attribution.md. */
const PROMPT_TOKENS = 2n
/** docs/gateway.md: fee = requestPrice + ceil((price × output + promptPrice × prompt) / 10^6). */
const fee = (out: bigint, prompt: bigint, price = PRICE, promptPrice = 0n, request = 0n) =>
  request + (price * out + promptPrice * prompt + 999_999n) / 1_000_000n
const FEE = fee(BigInt(MAX_TOKENS), PROMPT_TOKENS)

let tmp: ReturnType<typeof tempDir>
let running: RunningNode
let backend: FakeBackend
const clock = testClock()
const owner = dev[3]
const caller = dev[4]
const stranger = dev[5]

const send = (key: Hex, type: string, message: Record<string, unknown>) => sendTx(running.url, key, type, message)
const openai = (apiKey: string) => new OpenAI({ baseURL: `${running.url}/v1`, apiKey, maxRetries: 0 })
const balance = async (address: string): Promise<bigint> => BigInt((await http(`${running.url}/v1/accounts/${address}`)).json.balance)
const keyRecord = async (secret: string) => (await http(`${running.url}/v1/apikeys/${hashApiKey(secret)}`)).json

type Controls = { models?: string[]; limits?: { name: string; value: string }[]; budgets?: { window: string; amount: string }[] }
/** A new key of `caller` with these controls (GrantApiKey, then UpdateApiKey by its owner). */
async function keyWith(c: Controls, o: { spendLimit?: bigint } = {}): Promise<string> {
  const secret = await grantApiKey(running.url, caller.privateKey, { label: 'controls', ...o })
  await send(caller.privateKey, 'UpdateApiKey', {
    keyHash: hashApiKey(secret),
    label: 'controls',
    spendLimit: (o.spendLimit ?? 0n).toString(),
    expiresAt: '0',
    models: c.models ?? [],
    limits: c.limits ?? [],
    budgets: c.budgets ?? [],
  })
  return secret
}

const chat = (apiKey: string, model = 'ctl-llm') =>
  openai(apiKey)
    .chat.completions.create({ model, messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS })
    .withResponse()

/** The status, code and headers of a refused call. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; type: string; message: string; headers: Headers }> {
  try {
    await p
  } catch (e) {
    if (e instanceof OpenAI.APIError)
      return { status: e.status!, code: String(e.code), type: String(e.type), message: e.message, headers: e.headers as Headers }
    throw e
  }
  throw new Error('the call was not refused')
}

beforeAll(async () => {
  tmp = tempDir('sinew-controls-')
  backend = await startFakeOpenAI()
  running = await startDevNode(tmp.dir, {}, { clock: clock.now })
  for (const name of ['ctl-llm', 'other-llm', 'resp-llm'])
    await send(owner.privateKey, 'RegisterModel', {
      name,
      description: 'test',
      backend: `openai-compatible:${backend.url}#fixed`,
      datanets: [],
      pricePerMillion: PRICE.toString(),
      contributorShareBps: '0',
    })
  await registerFixtureInfinigram(running.url, { owner: owner.privateKey, name: 'ctl-infinigram', datanet: 'Controls Tales', pricePerMillion: PRICE })
}, 60_000)

afterAll(async () => {
  await running?.close()
  await backend?.close()
  tmp?.cleanup()
})

describe('per-key controls', () => {
  it('a key limited to one model is refused another (403), nothing charged', async () => {
    const key = await keyWith({ models: ['ctl-llm'] })
    const ok = await chat(key)
    expect(ok.data.choices[0].message.content).not.toBe('')
    const before = await balance(caller.address)
    const r = await refusal(chat(key, 'other-llm'))
    expect(r).toMatchObject({ status: 403, code: 'model_not_allowed', type: 'permission_error' })
    expect(r.message).toContain('ctl-llm')
    expect(await balance(caller.address)).toBe(before)
    expect((await keyRecord(key)).calls).toBe('1')
  })

  it('30 concurrent calls on a 10-per-minute key: exactly 10 answers and 20 refusals, with the rate-limit headers', async () => {
    const key = await keyWith({ limits: [{ name: 'requestsPerMinute', value: '10' }] })
    const before = await balance(caller.address)
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => callOutcome(chat(key))))
    // 10 answers, each seeing one fewer remaining (9, 8, ..., 0); 20 refusals with the headers.
    expectRequestLimit(outcomes, 10)
    // Exactly ten fees moved.
    expect(before - (await balance(caller.address))).toBe(10n * FEE)
    // A minute later (node clock) the key may call again.
    clock.advance(61_000)
    expect((await chat(key)).data.usage!.completion_tokens).toBe(MAX_TOKENS)
  }, 60_000)

  it('tokens per minute: a call that cannot fit is refused with the token headers', async () => {
    const key = await keyWith({ limits: [{ name: 'tokensPerMinute', value: String(2 * (MAX_TOKENS + 2)) }] })
    const first = await chat(key)
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe(String(2 * (MAX_TOKENS + 2)))
    expect(first.response.headers.get('x-ratelimit-remaining-tokens')).toBe(String(MAX_TOKENS + 2))
    await chat(key)
    const r = await refusal(chat(key))
    expect(r).toMatchObject({ status: 429, code: 'rate_limit_exceeded' })
    expect(r.headers.get('x-ratelimit-remaining-tokens')).toBe('0')
    expect(r.headers.get('retry-after')).not.toBeNull()
  })

  it('a daily budget refuses at the limit (402 naming it and its reset) and allows again the next UTC day', async () => {
    const key = await keyWith({ budgets: [{ window: 'day', amount: (2n * FEE).toString() }] })
    await chat(key)
    await chat(key)
    const before = await balance(caller.address)
    const r = await refusal(chat(key))
    expect(r).toMatchObject({ status: 402, code: 'budget_exhausted', type: 'insufficient_quota' })
    const nextDay = new Date(Math.floor(Number(clock.now()) / 86_400_000 + 1) * 86_400_000).toISOString()
    expect(r.message).toContain('daily budget')
    expect(r.message).toContain(nextDay)
    expect(await balance(caller.address)).toBe(before)
    clock.advance(86_400_000)
    expect((await chat(key)).data.usage!.completion_tokens).toBe(MAX_TOKENS)
    const k = await keyRecord(key)
    expect(k.calls).toBe('3')
  })

  it('the key record shows its controls', async () => {
    const key = await keyWith({ models: ['ctl-llm'], limits: [{ name: 'concurrentCalls', value: '2' }], budgets: [{ window: 'month', amount: '5' }] })
    expect((await keyRecord(key)).controls).toEqual({ models: ['ctl-llm'], concurrentCalls: 2, budgets: { month: '5' } })
  })
})

describe('bad controls are refused, nothing changes', () => {
  const update = async (secret: string, c: Controls) => {
    const c2 = new NodeClient(running.url)
    const types = await c2.get('/v1/types')
    const { nonce } = await c2.get(`/v1/accounts/${caller.address.toLowerCase()}`)
    const message = { keyHash: hashApiKey(secret), label: 'x', spendLimit: '0', expiresAt: '0', models: [], limits: [], budgets: [], ...c, nonce }
    return {
      envelope: await signEnvelope(caller.privateKey, types, 'UpdateApiKey', message),
      post: (env: unknown) => http(`${running.url}/v1/tx`, { body: env }),
    }
  }
  const refusedWith = async (secret: string, c: Controls) => {
    const { envelope, post } = await update(secret, c)
    return (await post(envelope)).json.error
  }

  it('a zero rate limit, an unknown model, a budget window that is not day/week/month', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await keyRecord(key)
    expect(await refusedWith(key, { limits: [{ name: 'requestsPerMinute', value: '0' }] })).toMatchObject({
      code: 'invalid_field',
      details: { field: 'message.limits[0].value' },
    })
    expect(await refusedWith(key, { limits: [{ name: 'tokensPerHour', value: '5' }] })).toMatchObject({
      code: 'invalid_field',
      details: { field: 'message.limits[0].name' },
    })
    expect(await refusedWith(key, { models: ['ctl-llm', 'no-such-model'] })).toMatchObject({ code: 'model_not_found', details: { field: 'message.models[1]' } })
    expect(await refusedWith(key, { budgets: [{ window: 'year', amount: '5' }] })).toMatchObject({
      code: 'invalid_field',
      details: { field: 'message.budgets[0].window' },
    })
    expect(await keyRecord(key)).toEqual(before)
  })

  it('a negative rate limit is not a uint32', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const { envelope, post } = await update(key, { limits: [{ name: 'requestsPerMinute', value: '1' }] })
    const tampered = { ...envelope, message: { ...envelope.message, limits: [{ name: 'requestsPerMinute', value: '-1' }] } }
    const r = await post(tampered)
    expect(r.status).toBe(400)
    expect(r.json.error.details.field).toBe('tx.message.limits[0].value')
    expect((await keyRecord(key)).controls).toBeUndefined()
  })

  it('another account cannot update a key it does not own', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    await expect(
      send(stranger.privateKey, 'UpdateApiKey', {
        keyHash: hashApiKey(key),
        label: 'mine',
        spendLimit: '0',
        expiresAt: '0',
        models: [],
        limits: [],
        budgets: [],
      }),
    ).rejects.toMatchObject({ code: 'not_apikey_owner' })
  })

  it('stream_options on a call that does not stream: 400, nothing charged', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const r = await refusal(
      openai(key).chat.completions.create({
        model: 'ctl-llm',
        messages: [{ role: 'user', content: PROMPT }],
        max_tokens: MAX_TOKENS,
        stream_options: { include_usage: true },
      }),
    )
    expect(r).toMatchObject({ status: 400, code: 'invalid_value' })
    expect(r.message).toContain('stream_options')
    // The Responses API too.
    const resp = await http(`${running.url}/v1/responses`, {
      headers: { authorization: `Bearer ${key}` },
      body: { model: 'resp-llm', input: PROMPT, stream_options: { include_obfuscation: false } },
    })
    expect(resp.status).toBe(400)
    expect(resp.json.error).toMatchObject({ code: 'invalid_value', param: 'stream_options' })
    expect(await balance(caller.address)).toBe(before)
    expect((await keyRecord(key)).calls).toBe('0')
  })
})

describe('full pricing', () => {
  it('prompt and request prices: streamed and non-streamed cost the same, usage.cost and the receipt agree', async () => {
    await send(owner.privateKey, 'SetModelPrices', {
      name: 'ctl-llm',
      pricePerMillion: PRICE.toString(),
      promptPricePerMillion: PROMPT_PRICE.toString(),
      requestPrice: REQUEST_PRICE.toString(),
    })
    const expected = fee(BigInt(MAX_TOKENS), PROMPT_TOKENS, PRICE, PROMPT_PRICE, REQUEST_PRICE)
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const plain = await chat(key)
    const usage = plain.data.usage as unknown as { cost: string; receipt: string; prompt_tokens: number }
    expect(usage.prompt_tokens).toBe(Number(PROMPT_TOKENS))
    expect(usage.cost).toBe(expected.toString())
    expect(usage.receipt).toBe(plain.response.headers.get('x-sinew-receipt'))
    const stream = await openai(key).chat.completions.create({
      model: 'ctl-llm',
      messages: [{ role: 'user', content: PROMPT }],
      max_tokens: MAX_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let last: any
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? ''
      if (c.usage) last = c.usage
    }
    expect(text).toBe(plain.data.choices[0].message.content)
    expect(last.cost).toBe(expected.toString())
    const receipt = (await http(`${running.url}/v1/receipts/${last.receipt}`)).json
    expect(receipt.split.fee).toBe(last.cost)
    expect(receipt.promptTokens).toBe(Number(PROMPT_TOKENS))
    expect(before - (await balance(caller.address))).toBe(2n * expected)
    // The new terms are a new version; GET /v1/models shows the prices.
    const m = (await http(`${running.url}/v1/models/ctl-llm`)).json
    expect(m.sinew).toMatchObject({ pricePerMillion: PRICE.toString(), promptPricePerMillion: PROMPT_PRICE.toString(), requestPrice: REQUEST_PRICE.toString() })
  })
})

describe('the Responses API with the official client', () => {
  it('responses.create, not streamed and streamed: the same text and cost, a receipt in usage', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const plain = await openai(key).responses.create({ model: 'resp-llm', input: PROMPT, max_output_tokens: MAX_TOKENS })
    expect(plain.output_text.length).toBeGreaterThan(0)
    expect(plain.status).toBe('incomplete') // cut at max_output_tokens
    const usage = plain.usage as unknown as { cost: string; receipt: string; input_tokens: number; output_tokens: number }
    expect(usage.output_tokens).toBe(MAX_TOKENS)
    expect(usage.cost).toBe(FEE.toString())
    const receipt = (await http(`${running.url}/v1/receipts/${usage.receipt}`)).json
    expect(receipt.split.fee).toBe(FEE.toString())

    const stream = await openai(key).responses.create({
      model: 'resp-llm',
      input: [{ role: 'user', content: [{ type: 'input_text', text: PROMPT }] }],
      max_output_tokens: MAX_TOKENS,
      stream: true,
    })
    const types: string[] = []
    let text = ''
    let final: any
    for await (const e of stream) {
      types.push(e.type)
      if (e.type === 'response.output_text.delta') text += e.delta
      if (e.type === 'response.incomplete' || e.type === 'response.completed') final = e.response
    }
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'])
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete'])
    expect(text).toBe(plain.output_text)
    expect(final.usage.cost).toBe(FEE.toString())
    expect((await http(`${running.url}/v1/receipts/${final.usage.receipt}`)).json.split.fee).toBe(FEE.toString())
    expect(before - (await balance(caller.address))).toBe(2n * FEE)
  })

  it('an unknown input item type, tools on the built-in model, previous_response_id: 400, nothing charged', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const c = openai(key)
    const unknown = await refusal(c.responses.create({ model: 'resp-llm', input: [{ type: 'item_reference', id: 'msg_1' } as any] }))
    expect(unknown).toMatchObject({ status: 400, code: 'invalid_value' })
    expect(unknown.message).toContain('item_reference')
    const image = await refusal(
      c.responses.create({ model: 'resp-llm', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png', detail: 'auto' }] }] }),
    )
    expect(image).toMatchObject({ status: 400, code: 'invalid_value' })
    const tools = await refusal(
      c.responses.create({
        model: 'ctl-infinigram',
        input: PROMPT,
        tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} }, strict: false }],
      }),
    )
    expect(tools).toMatchObject({ status: 400, code: 'unsupported_tools' })
    expect(tools.message).toContain('text only')
    const prev = await refusal(c.responses.create({ model: 'resp-llm', input: PROMPT, previous_response_id: 'resp_1' }))
    expect(prev).toMatchObject({ status: 400, code: 'invalid_value' })
    expect(await balance(caller.address)).toBe(before)
    expect((await keyRecord(key)).calls).toBe('0')
  })
})

describe('GET /v1/usage for a team', () => {
  const team = dev[7]
  const usage = async (apiKey: string, query = '') => {
    const r = await fetch(`${running.url}/v1/usage${query}`, { headers: { authorization: `Bearer ${apiKey}` } })
    return { status: r.status, json: (await r.json()) as any }
  }

  it("per key, model and day, filtered by end user and tag; never another owner's key", async () => {
    const a = await grantApiKey(running.url, team.privateKey, { label: 'team-a' })
    const b = await grantApiKey(running.url, team.privateKey, { label: 'team-b' })
    const call = (key: string, user: string, tags: Record<string, string>) =>
      openai(key).chat.completions.create({ model: 'resp-llm', messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS, user, metadata: tags })
    await call(a, 'cust-1', { project: 'red' })
    await call(a, 'cust-2', { project: 'blue' })
    await call(b, 'cust-1', { project: 'blue' })
    const all = await usage(b)
    expect(all.status).toBe(200)
    expect(all.json).toMatchObject({ owner: team.address.toLowerCase(), calls: 3, outputTokens: 3 * MAX_TOKENS, spent: (3n * FEE).toString() })
    expect(all.json.byKey.map((k: any) => [k.label, k.calls]).sort()).toEqual([
      ['team-a', 2],
      ['team-b', 1],
    ])
    expect(all.json.byModel).toEqual([{ model: 'resp-llm', calls: 3, promptTokens: 6, outputTokens: 15, spent: (3n * FEE).toString() }])
    expect(all.json.byDay.length).toBe(1)
    expect((await usage(a, '?user=cust-1')).json.calls).toBe(2)
    expect((await usage(a, '?tag=project:blue')).json.calls).toBe(2)
    expect((await usage(a, `?user=cust-1&tag=project:blue&key=${hashApiKey(b)}`)).json.calls).toBe(1)
    // The caller's own key: refused by name, and never counted.
    const other = await grantApiKey(running.url, caller.privateKey)
    const refused = await usage(a, `?key=${hashApiKey(other)}`)
    expect(refused.status).toBe(403)
    expect(refused.json.error.code).toBe('apikey_not_yours')
    expect((await usage(other)).json.byKey.map((k: any) => k.keyHash)).not.toContain(hashApiKey(a))
    expect((await usage('sk-sinew-nope')).status).toBe(401)
  })
})

describe('controls set when the key is granted (GrantApiKeyWithControls)', () => {
  const grantWith = async (c: Controls & { label?: string }) => {
    const secret = newApiKey()
    await send(caller.privateKey, 'GrantApiKeyWithControls', {
      keyHash: hashApiKey(secret),
      label: c.label ?? 'granted',
      spendLimit: '0',
      expiresAt: '0',
      models: c.models ?? [],
      limits: c.limits ?? [],
      budgets: c.budgets ?? [],
    })
    return secret
  }

  it('the first call already obeys them: allow-list (403) and requests per minute (429)', async () => {
    const key = await grantWith({ models: ['ctl-llm'], limits: [{ name: 'requestsPerMinute', value: '2' }] })
    expect((await keyRecord(key)).controls).toEqual({ models: ['ctl-llm'], requestsPerMinute: 2, budgets: {} })
    expect(await refusal(chat(key, 'other-llm'))).toMatchObject({ status: 403, code: 'model_not_allowed' })
    await chat(key)
    const second = await chat(key)
    expect(second.response.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    const r = await refusal(chat(key))
    expect(r).toMatchObject({ status: 429, code: 'rate_limit_exceeded' })
    expect(r.headers.get('x-ratelimit-limit-requests')).toBe('2')
  })

  it('bad controls refuse the whole grant: no key is made', async () => {
    const cases: [Controls, object][] = [
      [{ limits: [{ name: 'requestsPerMinute', value: '0' }] }, { code: 'invalid_field', details: { field: 'message.limits[0].value' } }],
      [{ models: ['no-such-model'] }, { code: 'model_not_found', details: { field: 'message.models[0]' } }],
      [{ budgets: [{ window: 'fortnight', amount: '5' }] }, { code: 'invalid_field', details: { field: 'message.budgets[0].window' } }],
    ]
    for (const [c, error] of cases) {
      const secret = newApiKey()
      await expect(
        send(caller.privateKey, 'GrantApiKeyWithControls', {
          keyHash: hashApiKey(secret),
          label: 'bad',
          spendLimit: '0',
          expiresAt: '0',
          models: [],
          limits: [],
          budgets: [],
          ...c,
        }),
      ).rejects.toMatchObject(error)
      expect((await http(`${running.url}/v1/apikeys/${hashApiKey(secret)}`)).status).toBe(404)
    }
  })

  it('sinew apikey new --model --rpm --tpm --concurrency --budget signs one grant with the controls', async () => {
    const r = await runCli([
      'apikey',
      'new',
      '--dev-account',
      '4',
      '--node',
      running.url,
      '--label',
      'cli-controls',
      '--model',
      'ctl-llm',
      '--rpm',
      '7',
      '--tpm',
      '900',
      '--concurrency',
      '3',
      '--budget',
      'day=2.5',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const made = JSON.parse(r.stdout)
    const tx = (await http(`${running.url}/v1/tx/${made.tx}`)).json
    expect(tx.type ?? tx.tx?.type).toBe('GrantApiKeyWithControls')
    const k = (await http(`${running.url}/v1/apikeys/${made.keyHash}`)).json
    expect(k).toMatchObject({ owner: caller.address, label: 'cli-controls', spendLimit: '0', expiresAt: '0' })
    expect(k.controls).toEqual({
      models: ['ctl-llm'],
      requestsPerMinute: 7,
      tokensPerMinute: 900,
      concurrentCalls: 3,
      budgets: { day: (25n * 10n ** 17n).toString() },
    })
  })
})

describe('usage labels survive a restart', () => {
  it('GET /v1/usage filters by user and tag exactly, after the node restarts', async () => {
    const team = dev[8]
    const a = await grantApiKey(running.url, team.privateKey, { label: 'restart-a' })
    const call = (user: string | undefined, tags: Record<string, string> | undefined) =>
      openai(a).chat.completions.create({ model: 'resp-llm', messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS, user, metadata: tags })
    await call('cust-9', { project: 'green' })
    await call('cust-9', undefined)
    await call(undefined, { project: 'green' })
    await call('cust-8', { project: 'gold' })
    const usage = async (query: string) => {
      const r = await fetch(`${running.url}/v1/usage${query}`, { headers: { authorization: `Bearer ${a}` } })
      expect(r.status).toBe(200)
      return (await r.json()) as { calls: number; spent: string }
    }
    const expected = { all: 4, cust9: 2, green: 2, both: 1, gold: 1 }
    const counts = async () => ({
      all: (await usage('')).calls,
      cust9: (await usage('?user=cust-9')).calls,
      green: (await usage('?tag=project:green')).calls,
      both: (await usage('?user=cust-9&tag=project:green')).calls,
      gold: (await usage('?user=cust-8&tag=project:gold')).calls,
    })
    expect(await counts()).toEqual(expected)
    expect((await usage('?user=cust-9')).spent).toBe((2n * FEE).toString())
    await running.close()
    running = await startDevNode(tmp.dir, {}, { clock: clock.now })
    expect(await counts()).toEqual(expected)
    expect((await usage('?tag=project:green')).spent).toBe((2n * FEE).toString())
  }, 60_000)
})

describe('replay', () => {
  it('sinew verify replays every charge', async () => {
    const v = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(v.stderr, v.stdout).toBe('')
    expect(JSON.parse(v.stdout).ok).toBe(true)
  })
})
