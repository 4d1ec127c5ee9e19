/**
 * The gateway end to end on a running node over real HTTP: a Datanet version is created,
 * contributed to, accepted, published and indexed through signed txs; the official `openai`
 * client calls models over it (an OpenAI-compatible backend on 127.0.0.1 and the built-in
 * ∞-gram model), streaming and not; every balance moves by exactly the receipt's split, the
 * authors coming from Datanets state; `sinew receipt verify` and `sinew verify` agree; and
 * every bad input gets an OpenAI error and no charge.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_SEQUENCER_KEY, DEV_TREASURY_KEY, makeDevGenesis } from '../src/cli/data-dir.ts'
import { formatUnits, type Hex } from '../src/core/index.ts'
import { addressOf } from '../src/ledger/index.ts'
import { computeFee, hashApiKey, newApiKey } from '../src/models/index.ts'
import { countTokens } from '../src/gateway/index.ts'
import { startNode, type RunningNode } from '../src/server/index.ts'
import { datanetsClient, publishDatanetVersion } from './datanets-fixtures.ts'
import { DOCS, FAKE_TEXT, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, runCli, sendTx, tempDir, testClock, testNodeConfig, waitFor } from './helpers.ts'
import { largestRemainderOracle } from './oracles.ts'

const SIN = 10n ** 18n
const PRICE = 1000n * SIN // per million output tokens: 10^15 base units a token
const SHARE_BPS = 5000
let running: RunningNode
let url: string
let tmp: ReturnType<typeof tempDir>
let backend: FakeBackend
let slowBackend: FakeBackend
const caller = dev[0]
const owner = dev[3]
const datanetOwner = dev[2]
/** Who contributes each fixture doc. */
const authors = { alpha: dev[5].address, beta: dev[6].address, gamma: dev[7].address } as Record<string, Hex>
const authorKeys = { alpha: dev[5].privateKey, beta: dev[6].privateKey, gamma: dev[7].privateKey } as Record<string, Hex>
/** The fixture Datanet's version ref (`<id>@1`) and each doc's contribution id. */
let ref: string
let ids: Record<string, Hex>
const treasury = addressOf(DEV_TREASURY_KEY)
let apiKey: string
/** The node's clock: the expiry test moves it forward instead of sleeping. */
const clock = testClock()

const send = (key: Hex, type: string, message: Record<string, unknown>) => sendTx(url, key, type, message)
const grantKey = (key: Hex, o: { spendLimit?: bigint; expiresAt?: bigint } = {}) => grantApiKey(url, key, o)

async function balance(address: string): Promise<bigint> {
  return BigInt((await http(`${url}/v1/accounts/${address}`)).json.balance)
}

async function balances(): Promise<Record<string, bigint>> {
  const out: Record<string, bigint> = {}
  for (const a of [caller.address, owner.address, treasury, ...Object.values(authors)]) out[a] = await balance(a)
  return out
}

const openai = (key: string | undefined = apiKey) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key ?? 'none', maxRetries: 0 })

/** Checks that every balance moved by exactly the receipt's split, and returns the receipt. */
async function expectSplit(before: Record<string, bigint>, receiptId: string, text: string) {
  const r = (await http(`${url}/v1/receipts/${receiptId}`)).json
  expect(r.id).toBe(receiptId)
  const tokens = countTokens(text)
  expect(r.outputTokens).toBe(tokens)
  const fee = computeFee(PRICE, BigInt(tokens))
  expect(r.split.fee).toBe(fee.toString())
  const expected: Record<string, bigint> = { ...before }
  expected[caller.address] -= fee
  expected[treasury] += BigInt(r.split.protocolFee)
  expected[owner.address] += BigInt(r.split.ownerAmount)
  for (const c of r.split.contributors) expected[c.author] += BigInt(c.amount)
  expect(BigInt(r.split.protocolFee)).toBe((fee * 500n) / 10_000n)
  const rest = fee - BigInt(r.split.protocolFee)
  expect(BigInt(r.split.contributorPool)).toBe((rest * BigInt(SHARE_BPS) * BigInt(r.coverageBps)) / 100_000_000n)
  expect(r.split.contributors.reduce((a: bigint, c: any) => a + BigInt(c.amount), 0n)).toBe(BigInt(r.split.contributorPool))
  // Each contributor row, not just their sum: largest remainder over the receipt's weights, by an independent oracle.
  const rows = largestRemainderOracle(
    BigInt(r.split.contributorPool),
    r.weights.map((w: any) => ({ id: w.contribution, weight: BigInt(w.bps) })),
  )
  expect(r.split.contributors.map((c: any) => [c.contribution, BigInt(c.amount)])).toEqual(r.weights.map((w: any, i: number) => [w.contribution, rows[i]]))
  expect(BigInt(r.split.protocolFee) + BigInt(r.split.contributorPool) + BigInt(r.split.ownerAmount)).toBe(fee)
  expect(await balances()).toEqual(expected)
  return r
}

beforeAll(async () => {
  tmp = tempDir('sinew-gw-')
  backend = await startFakeOpenAI()
  slowBackend = await startFakeOpenAI({ delayMs: 40 })
  // x402 off (it is on by default on a dev network): a call without a key is then 401, as OpenAI answers it.
  const config = await testNodeConfig(tmp.dir, { x402: false })
  running = await startNode({ config, genesis: makeDevGenesis(), sequencerKey: DEV_SEQUENCER_KEY, backendTimeoutMs: 700, clock: clock.now })
  url = running.url
  ;({ ref, ids } = await publishDatanetVersion(url, {
    owner: datanetOwner.privateKey,
    name: 'Fixture Tales',
    stake: SIN,
    docs: DOCS.map((d) => ({ key: d.key, text: d.text, author: authorKeys[d.key] })),
  }))
  const model = (name: string, backendSpec: string) => ({
    name,
    description: 'test',
    backend: backendSpec,
    datanets: [ref],
    pricePerMillion: PRICE.toString(),
    contributorShareBps: String(SHARE_BPS),
  })
  await send(owner.privateKey, 'RegisterModel', model('fake-llm', `openai-compatible:${backend.url}#fixed`))
  await send(owner.privateKey, 'RegisterModel', model('fixture-infinigram', 'builtin:infinigram'))
  await send(owner.privateKey, 'RegisterModel', model('down-llm', 'openai-compatible:http://127.0.0.1:9/v1'))
  await send(owner.privateKey, 'RegisterModel', model('hang-llm', `openai-compatible:${backend.url}#hang`))
  await send(owner.privateKey, 'RegisterModel', model('slow-llm', `openai-compatible:${slowBackend.url}#fixed`))
  apiKey = await grantKey(caller.privateKey)
}, 60_000)

afterAll(async () => {
  await running?.close()
  await backend?.close()
  await slowBackend?.close()
  tmp?.cleanup()
})

describe('paid, attributed calls with the official openai client', () => {
  it('lists the models', async () => {
    const list = await openai().models.list()
    expect(list.data.map((m) => m.id).sort()).toEqual(['down-llm', 'fake-llm', 'fixture-infinigram', 'hang-llm', 'slow-llm'])
    const m = await openai().models.retrieve('fake-llm')
    expect(m.owned_by).toBe(owner.address)
  })

  it('a chat completion (not streamed) pays treasury, contributors and owner exactly the receipt split', async () => {
    const before = await balances()
    const { data, response } = await openai()
      .chat.completions.create({ model: 'fake-llm', messages: [{ role: 'user', content: 'Tell me a story' }] })
      .withResponse()
    expect(data.choices[0].message.content).toBe(FAKE_TEXT)
    const receiptId = response.headers.get('x-sinew-receipt')!
    expect(receiptId).toMatch(/^0x[0-9a-f]{64}$/)
    expect((data as any).sinew.receipt).toBe(receiptId)
    expect(data.usage!.completion_tokens).toBe(countTokens(FAKE_TEXT))
    const r = await expectSplit(before, receiptId, FAKE_TEXT)
    // The output reproduces passages of alpha and beta; gamma earns nothing.
    expect(r.weights.map((w: any) => w.contribution).sort()).toEqual([ids.alpha, ids.beta].sort())
    expect(r.weights.every((w: any) => w.datanet === ref)).toBe(true)
    expect(r.coverageBps).toBeGreaterThan(5000)
    expect(r.spans.length).toBe(2)
    expect(FAKE_TEXT.slice(r.spans[0].start, r.spans[0].end)).toContain('lighthouse keeper')
    expect(r.weights.find((w: any) => w.contribution === ids.alpha).author).toBe(dev[5].address)
    expect(r.weights.find((w: any) => w.contribution === ids.beta).author).toBe(dev[6].address)
    expect(running.gateway!.reserved).toBe(0)

    // sinew receipt verify recomputes trace, authors and split from the output text, the
    // version's index under <data-dir>/indexes/<id>/1/index and the Datanets state.
    const out = join(tmp.dir, 'out.txt')
    writeFileSync(out, data.choices[0].message.content!)
    const v = await runCli(['receipt', 'verify', receiptId, '--output', out, '--data-dir', tmp.dir, '--node', url, '--json'])
    expect(v.stderr).toBe('')
    expect(JSON.parse(v.stdout).checks.filter((c: any) => !c.ok)).toEqual([])
    expect(JSON.parse(v.stdout).ok).toBe(true)
    expect(JSON.parse(v.stdout).checks.map((c: any) => c.name)).toContain('authors')
    writeFileSync(out, data.choices[0].message.content! + ' tampered')
    const bad = await runCli(['receipt', 'verify', receiptId, '--output', out, '--index-root', join(tmp.dir, 'indexes'), '--node', url, '--json'])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout).ok).toBe(false)
  })

  it('a streamed chat completion: deltas, then the receipt in the last chunk (with usage, as asked)', async () => {
    const before = await balances()
    const stream = await openai().chat.completions.create({
      model: 'fake-llm',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let sinew: any
    let usage: any
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if ((chunk as any).sinew) sinew = (chunk as any).sinew
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe(FAKE_TEXT)
    expect(usage.completion_tokens).toBe(countTokens(FAKE_TEXT))
    await expectSplit(before, sinew.receipt, text)
  })

  it('completions, streamed and not, on the built-in ∞-gram model', async () => {
    let before = await balances()
    const { data, response } = await openai()
      .completions.create({ model: 'fixture-infinigram', prompt: 'The lighthouse keeper counted', max_tokens: 12, seed: 7, temperature: 0 })
      .withResponse()
    const text = data.choices[0].text
    expect(text.length).toBeGreaterThan(0)
    const r = await expectSplit(before, response.headers.get('x-sinew-receipt')!, text)
    expect(r.outputTokens).toBeLessThanOrEqual(12)
    expect(r.weights[0]?.contribution).toBe(ids.alpha)

    before = await balances()
    const stream = await openai().completions.create({ model: 'fixture-infinigram', prompt: 'Copper kettles hummed', max_tokens: 10, stream: true, seed: 3 })
    let streamed = ''
    let sinew: any
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.text ?? ''
      if ((chunk as any).sinew) sinew = (chunk as any).sinew
    }
    await expectSplit(before, sinew.receipt, streamed)
  })

  it('max_tokens cuts the output and bounds the charge', async () => {
    const before = await balances()
    const { data, response } = await openai()
      .chat.completions.create({ model: 'fake-llm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })
      .withResponse()
    expect(data.choices[0].finish_reason).toBe('length')
    expect(countTokens(data.choices[0].message.content!)).toBe(5)
    await expectSplit(before, response.headers.get('x-sinew-receipt')!, data.choices[0].message.content!)
  })

  it('earnings by model, Datanet, contribution and day: what these calls paid, from their receipts', async () => {
    // A payer of its own, so the figures are this test's calls whatever else ran before.
    const payerKey = generatePrivateKey()
    const payer = privateKeyToAccount(payerKey).address.toLowerCase()
    await send(dev[1].privateKey, 'Transfer', { to: payer, amount: (10n * SIN).toString() })
    const key = await grantKey(payerKey)
    const earnings = async (a: string) => (await http(`${url}/v1/accounts/${a}/earnings`)).json
    const alpha = authors.alpha
    const before = await earnings(alpha)
    const chat = await openai(key)
      .chat.completions.create({ model: 'fake-llm', messages: [{ role: 'user', content: 'Tell me a story' }] })
      .withResponse()
    const completion = await openai(key)
      .completions.create({ model: 'fixture-infinigram', prompt: 'The lighthouse keeper counted', max_tokens: 12, seed: 7, temperature: 0 })
      .withResponse()
    const receipts = await Promise.all(
      [chat.response, completion.response].map(async (r) => (await http(`${url}/v1/receipts/${r.headers.get('x-sinew-receipt')}`)).json),
    )
    const after = await earnings(alpha)
    // The oracle: alpha's author's rows of each receipt, by model and by UTC day of the block.
    const toAlpha = (r: any) => r.split.contributors.filter((c: any) => c.author === alpha).reduce((a: bigint, c: any) => a + BigInt(c.amount), 0n)
    const diff = (a: Record<string, string>, b: Record<string, string>, k: string) => BigInt(a[k] ?? '0') - BigInt(b[k] ?? '0')
    const days = (e: any) => Object.fromEntries(e.overTime.map((d: any) => [d.day, d.amount]))
    expect(receipts.every((r) => toAlpha(r) > 0n)).toBe(true)
    expect(BigInt(after.total) - BigInt(before.total)).toBe(toAlpha(receipts[0]) + toAlpha(receipts[1]))
    expect(diff(after.byModel, before.byModel, 'fake-llm')).toBe(toAlpha(receipts[0]))
    expect(diff(after.byModel, before.byModel, 'fixture-infinigram')).toBe(toAlpha(receipts[1]))
    expect(after.byDatanet[ref]).toBe(after.total) // alpha's only contribution is in this Datanet
    expect(after.byContribution.map((c: any) => c.contribution)).toEqual([ids.alpha])
    const day = (r: any) => new Date(Number(r.timestamp)).toISOString().slice(0, 10)
    const perDay = new Map<string, bigint>()
    for (const r of receipts) perDay.set(day(r), (perDay.get(day(r)) ?? 0n) + toAlpha(r))
    for (const [d, amount] of perDay) expect(diff(days(after), days(before), d)).toBe(amount)
    expect(after.overTime.reduce((a: bigint, d: any) => a + BigInt(d.amount), 0n)).toBe(BigInt(after.total))
    const paid = await earnings(payer)
    expect(paid.calls).toBe(2)
    expect(BigInt(paid.spent)).toBe(BigInt(receipts[0].split.fee) + BigInt(receipts[1].split.fee))
  })

  it('sinew chat streams the answer, then names the contributions paid by their titles; balances move by the split', async () => {
    const before = await balances()
    const r = await runCli(['chat', 'fake-llm', 'Tell me a story', '--api-key', apiKey, '--node', url])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.startsWith(FAKE_TEXT + '\n\nreceipt 0x')).toBe(true)
    const receiptId = r.stdout.match(/receipt (0x[0-9a-f]{64})/)![1]
    const receipt = await expectSplit(before, receiptId, FAKE_TEXT)
    for (const key of ['alpha', 'beta']) {
      const w = receipt.weights.find((x: any) => x.contribution === ids[key])
      const paid = receipt.split.contributors.find((c: any) => c.contribution === ids[key])
      expect(r.stdout).toContain(`${(w.bps / 100).toFixed(2).padStart(6)} %  "${key}"  ${formatUnits(BigInt(paid.amount))} SIN to ${authors[key]}`)
      expect(r.stdout).toContain(`contribution ${ids[key]} (datanet ${ref})`)
    }
    expect(r.stdout).not.toContain('"gamma"')
    expect(r.stdout).toContain(`sinew receipt verify ${receiptId} --output`)
  })
})

describe('bad input: an OpenAI error object and no charge', () => {
  async function expectError(fn: () => Promise<unknown>, status: number, code: string, type?: string) {
    const before = await balances()
    const err = await fn().then(
      () => undefined,
      (e) => e,
    )
    expect(err).toBeInstanceOf(OpenAI.APIError)
    expect(err.status).toBe(status)
    expect(err.code).toBe(code)
    if (type) expect(err.type).toBe(type)
    expect(await balances()).toEqual(before)
    expect(running.gateway!.reserved).toBe(0)
    return err
  }
  const chat =
    (key?: string, model = 'fake-llm', extra: Record<string, unknown> = {}) =>
    () =>
      openai(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra } as any)

  it('missing key', async () => {
    const r = await http(`${url}/v1/chat/completions`, { body: { model: 'fake-llm', messages: [{ role: 'user', content: 'hi' }] } })
    expect(r.status).toBe(401)
    expect(r.json.error).toEqual({ message: expect.any(String), type: 'authentication_error', param: null, code: 'missing_api_key' })
  })
  it('unknown key', () => expectError(chat(newApiKey()), 401, 'invalid_api_key', 'authentication_error'))
  it('revoked key', async () => {
    const secret = await grantKey(caller.privateKey)
    await send(caller.privateKey, 'RevokeApiKey', { keyHash: hashApiKey(secret) })
    await expectError(chat(secret), 401, 'revoked_api_key')
  })
  it('expired key: valid until its expiry by the node clock, refused from then on', async () => {
    const expiresAt = clock.now() + 60_000n
    const secret = await grantKey(caller.privateKey, { expiresAt })
    // Authenticated (the key check comes before the model's): refused only for the model.
    await expectError(chat(secret, 'no-such-model'), 404, 'model_not_found')
    clock.advance(60_000) // the node's time is now at or past expiresAt
    expect(clock.now()).toBeGreaterThanOrEqual(expiresAt)
    await expectError(chat(secret), 401, 'expired_api_key')
  })
  it('spend limit reached', async () => {
    const secret = await grantKey(caller.privateKey, { spendLimit: 10n })
    await expectError(chat(secret), 402, 'spend_limit_reached', 'insufficient_quota')
  })
  it('insufficient balance', async () => {
    const poor = generatePrivateKey()
    const secret = await grantKey(poor)
    await expectError(chat(secret), 402, 'insufficient_balance', 'insufficient_quota')
  })
  it('unknown model', () => expectError(chat(undefined, 'no-such-model'), 404, 'model_not_found', 'invalid_request_error'))
  it('malformed messages', async () => {
    await expectError(
      () => openai().chat.completions.create({ model: 'fake-llm', messages: [{ role: 'wizard', content: 'hi' }] } as any),
      400,
      'invalid_value',
      'invalid_request_error',
    )
    await expectError(() => openai().chat.completions.create({ model: 'fake-llm', messages: [] } as any), 400, 'invalid_value')
    const r = await http(`${url}/v1/chat/completions`, { raw: '{"model": ', headers: { authorization: `Bearer ${apiKey}` } })
    expect(r.status).toBe(400)
    expect(r.json.error.type).toBe('invalid_request_error')
  })
  it('a backend that is down', async () => {
    await expectError(chat(undefined, 'down-llm'), 502, 'backend_unavailable', 'api_error')
    await expectError(chat(undefined, 'down-llm', { stream: true }), 502, 'backend_unavailable')
  })
  it('a model whose Datanet version is still being indexed: 503 model_not_ready with Retry-After, then it answers', async () => {
    const c = await datanetsClient(url)
    const ok = (r: { status: number; json: any }) => {
      expect(r.status, JSON.stringify(r.json)).toBe(200)
      return r.json
    }
    const datanet = ok(
      await c.submit(datanetOwner.privateKey, 'CreateDatanet', {
        name: 'Slow Tales',
        description: 'indexing',
        license: 'CC0-1.0',
        mediaTypes: ['text/plain'],
        maxSize: '100000',
        stake: '0',
      }),
    ).receipt.result.datanet
    const contribution = ok(await c.contribute(authorKeys.alpha, datanet, DOCS[0].text, 'slow', 'text/plain')).contribution
    ok(await c.submit(datanetOwner.privateKey, 'Review', { contribution, accept: true, reason: '' }))
    process.env.SINEW_TEST_BUILD_DELAY_MS = '2500' // the builder sleeps after each document
    try {
      ok(await c.submit(datanetOwner.privateKey, 'PublishVersion', { datanet }))
      await send(owner.privateKey, 'RegisterModel', {
        name: 'slow-infinigram',
        description: 'test',
        backend: 'builtin:infinigram',
        datanets: [`${datanet}@1`],
        pricePerMillion: PRICE.toString(),
        contributorShareBps: String(SHARE_BPS),
      })
      const err = await expectError(chat(undefined, 'slow-infinigram'), 503, 'model_not_ready', 'api_error')
      expect(err.headers.get('retry-after')).toBe('2')
      expect(err.message).toContain('slow-infinigram')
      const streamed = await expectError(chat(undefined, 'slow-infinigram', { stream: true }), 503, 'model_not_ready')
      expect(streamed.headers.get('retry-after')).toBe('2')
      expect((await c.waitReady(datanet, 1)).build.state).toBe('ready')
    } finally {
      delete process.env.SINEW_TEST_BUILD_DELAY_MS
    }
    // A prompt from the document and a fixed seed: an unseeded ∞-gram may sample the end of a document first and answer nothing.
    const r = await openai().chat.completions.create({
      model: 'slow-infinigram',
      messages: [{ role: 'user', content: 'The lighthouse keeper counted' }],
      max_tokens: 8,
      seed: 7,
      temperature: 0,
    })
    expect(r.usage!.completion_tokens).toBeGreaterThan(0)
    expect((r as any).sinew.receipt).toMatch(/^0x[0-9a-f]{64}$/)
  })
  it('a backend that times out', async () => {
    await expectError(chat(undefined, 'hang-llm'), 504, 'backend_timeout', 'api_error')
  })
  it('a client that disconnects mid-stream is charged for what was delivered, with a receipt', async () => {
    const before = await balances()
    const abort = new AbortController()
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: 'slow-llm', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      signal: abort.signal,
    })
    const receiptId = res.headers.get('x-sinew-receipt')!
    const reader = res.body!.getReader()
    let got = ''
    while ((got.match(/data: /g) ?? []).length < 5) got += new TextDecoder().decode((await reader.read()).value)
    abort.abort()
    const r = await waitFor(
      () => http(`${url}/v1/receipts/${receiptId}`),
      (x) => x.status === 200,
    )
    expect(r.json.finishReason).toBe('disconnected')
    expect(r.json.outputTokens).toBeGreaterThan(0)
    expect(r.json.outputTokens).toBeLessThan(countTokens(FAKE_TEXT))
    const fee = computeFee(PRICE, BigInt(r.json.outputTokens))
    expect(await balance(caller.address)).toBe(before[caller.address] - fee)
    expect(running.gateway!.reserved).toBe(0)
  })
})

describe("receipts are the node's alone", () => {
  it('a RecordReceipt signed by anyone but the sequencer is refused', async () => {
    const before = await balances()
    const zero = ('0x' + '00'.repeat(32)) as Hex
    const err = await send(dev[4].privateKey, 'RecordReceipt', {
      id: ('0x' + '11'.repeat(32)) as Hex,
      model: 'fake-llm',
      modelVersion: '1',
      apiKeyHash: hashApiKey(apiKey),
      authorizedHeight: '1',
      authorizedAt: '1',
      requestHash: zero,
      outputHash: zero,
      promptTokens: '1',
      outputTokens: '1000',
      finishReason: 'stop',
      method: 'x',
      coverageBps: '0',
      spans: [],
      weights: [],
    }).then(
      () => undefined,
      (e) => e,
    )
    expect(err.code).toBe('not_sequencer')
    expect(await balances()).toEqual(before)
  })
})

describe('models name Datanet versions on the ledger', () => {
  it('RegisterModel over a version that is not published is refused', async () => {
    const datanet = ref.slice(0, ref.lastIndexOf('@'))
    for (const bad of [`${datanet}@2`, 'Fixture Tales@9', 'no-such-datanet@1', 'fixture@1']) {
      const err = await send(owner.privateKey, 'RegisterModel', {
        name: 'ghost-llm',
        description: '',
        backend: 'builtin:infinigram',
        datanets: [bad],
        pricePerMillion: '1',
        contributorShareBps: '0',
      }).then(
        () => undefined,
        (e) => e,
      )
      expect(err?.code, bad).toBe('datanet_version_not_found')
    }
    // By name works as well as by id.
    await send(owner.privateKey, 'RegisterModel', {
      name: 'by-name',
      description: '',
      backend: 'builtin:infinigram',
      datanets: ['Fixture Tales@1'],
      pricePerMillion: '1',
      contributorShareBps: '0',
    })
    expect((await http(`${url}/v1/registry/models`)).json.models.find((m: any) => m.name === 'by-name').datanets).toEqual(['Fixture Tales@1'])
  })
})

describe('replay', () => {
  it('sinew verify replays every receipt and balance', async () => {
    const v = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(v.stderr, v.stdout).toBe('')
    const report = JSON.parse(v.stdout)
    expect(report.ok).toBe(true)
  })
})
