/**
 * Per-key controls hold across the serving processes (issue #16): a node with two serving
 * workers (`--workers 2`) sharing the public port, and a key's calls spread over both. The
 * workers forward every model call to the writer, which alone judges the limits on its one
 * `CallLimits` and on the node's clock (docs/gateway.md, docs/scaling.md): so a test clock
 * given to the writer moves the limits' time for calls through any worker. Proven with the
 * official `openai` client (30 concurrent calls open 30 connections, which the cluster hands
 * out round-robin) and with one connection per call: requests per minute, tokens per minute,
 * and a daily budget that resets on the next UTC day. Each answer names the worker that
 * served it (x-sinew-worker: its pid), so the test checks both workers took part. Fees are
 * worked out here from docs/gateway.md's rule, not with the node's code.
 */
import { request } from 'node:http'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashApiKey } from '../src/models/index.ts'
import { WORKER_HEADER, type RunningNode } from '../src/server/index.ts'
import { answered, callOutcome, expectRequestLimit, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, runCli, sendTx, startDevNode, tempDir, testClock } from './helpers.ts'

const SIN = 10n ** 18n
const PRICE = 1000n * SIN + 7n
const MAX_TOKENS = 5
const PROMPT = 'go on'
/** Canonical tokens of PROMPT (two words): docs/attribution.md. */
const PROMPT_TOKENS = 2
/** docs/gateway.md: fee = ceil(pricePerMillion × outputTokens / 10^6) (no prompt or request price here). */
const FEE = (PRICE * BigInt(MAX_TOKENS) + 999_999n) / 1_000_000n

let tmp: ReturnType<typeof tempDir>
let running: RunningNode
let backend: FakeBackend
const clock = testClock()
const owner = dev[3]
const caller = dev[4]

const balance = async (address: string): Promise<bigint> => BigInt((await http(`${running.url}/v1/accounts/${address}`)).json.balance)
const workerPids = () => running.workers!.status().map((w) => String(w.pid))

type Controls = { limits?: { name: string; value: string }[]; budgets?: { window: string; amount: string }[] }
/** A new key of `caller` with these controls (GrantApiKey, then UpdateApiKey by its owner). */
async function keyWith(c: Controls): Promise<string> {
  const secret = await grantApiKey(running.url, caller.privateKey, { label: 'workers' })
  await sendTx(running.url, caller.privateKey, 'UpdateApiKey', {
    keyHash: hashApiKey(secret),
    label: 'workers',
    spendLimit: '0',
    expiresAt: '0',
    models: [],
    limits: c.limits ?? [],
    budgets: c.budgets ?? [],
  })
  return secret
}

type Outcome = { status: number; worker: string; headers: Record<string, string>; json: any }

/** One chat call on a connection of its own (no keep-alive), so the cluster hands it to the next worker. */
function fresh(apiKey: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: 'wk-llm', messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS })
    const req = request(
      `${running.url}/v1/chat/completions`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (text += d))
        res.on('end', () => {
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v
          resolve({ status: res.statusCode!, worker: headers[WORKER_HEADER], headers, json: JSON.parse(text) })
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const many = (n: number, apiKey: string) => Promise.all(Array.from({ length: n }, () => fresh(apiKey)))

beforeAll(async () => {
  tmp = tempDir('sinew-controls-workers-')
  backend = await startFakeOpenAI({ delayMs: 2 })
  running = await startDevNode(tmp.dir, { workers: 2 }, { clock: clock.now })
  await sendTx(running.url, owner.privateKey, 'RegisterModel', {
    name: 'wk-llm',
    description: 'test',
    backend: `openai-compatible:${backend.url}#fixed`,
    datanets: [],
    pricePerMillion: PRICE.toString(),
    contributorShareBps: '0',
  })
}, 60_000)

afterAll(async () => {
  await running?.close()
  await backend?.close()
  tmp?.cleanup()
})

describe('per-key controls across two serving workers', () => {
  it('the node serves from two worker processes, neither of them this one', () => {
    const pids = workerPids()
    expect(pids).toHaveLength(2)
    expect(pids).not.toContain(String(process.pid))
  })

  it('30 concurrent calls (official client) on a 10-per-minute key through both workers: exactly 10 answers, 20 refusals with the headers', async () => {
    const key = await keyWith({ limits: [{ name: 'requestsPerMinute', value: '10' }] })
    const before = await balance(caller.address)
    const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: key, maxRetries: 0 })
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () =>
        callOutcome(client.chat.completions.create({ model: 'wk-llm', messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS }).withResponse()),
      ),
    )
    // Both workers took part, in the answers and in the refusals.
    const pids = workerPids().sort()
    expect([...new Set(outcomes.map((o) => o.headers.get(WORKER_HEADER)))].sort()).toEqual(pids)
    // One count for the key, whichever worker passed the call on: 10 answers seeing 9, 8, ..., 0 remaining; 20 refusals.
    expectRequestLimit(outcomes, 10)
    for (const o of answered(outcomes)) expect(o.tokens).toBe(MAX_TOKENS)
    expect(before - (await balance(caller.address))).toBe(10n * FEE)
    const record = (await http(`${running.url}/v1/apikeys/${hashApiKey(key)}`)).json
    expect(record.calls).toBe('10')

    // A minute later on the node's clock, calls through either worker pass again (and the tenth after that is refused).
    clock.advance(61_000)
    const again = await many(12, key)
    expect(new Set(again.map((o) => o.worker)).size).toBe(2)
    expect(again.filter((o) => o.status === 200)).toHaveLength(10)
    for (const r of again.filter((o) => o.status !== 200)) expect([r.status, r.json.error.code]).toEqual([429, 'rate_limit_exceeded'])
  }, 60_000)

  it('tokens per minute: room for exactly 3 calls, 10 at once through both workers, exactly 3 answered', async () => {
    const perCall = MAX_TOKENS + PROMPT_TOKENS
    const tpm = 3 * perCall + perCall - 1
    const key = await keyWith({ limits: [{ name: 'tokensPerMinute', value: String(tpm) }] })
    const before = await balance(caller.address)
    const outcomes = await many(10, key)
    expect(new Set(outcomes.map((o) => o.worker)).size).toBe(2)
    const ok = outcomes.filter((o) => o.status === 200)
    const refused = outcomes.filter((o) => o.status !== 200)
    expect(ok).toHaveLength(3)
    // Each admitted call took its prompt and max_tokens from what was left: tpm − 7, − 14, − 21.
    expect(ok.map((o) => Number(o.headers['x-ratelimit-remaining-tokens'])).sort((a, b) => b - a)).toEqual([1, 2, 3].map((n) => tpm - n * perCall))
    for (const r of refused) {
      expect([r.status, r.json.error.code]).toEqual([429, 'rate_limit_exceeded'])
      expect(r.headers['x-ratelimit-limit-tokens']).toBe(String(tpm))
      expect(r.headers['x-ratelimit-remaining-tokens']).toBe(String(tpm - 3 * perCall))
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
    expect(before - (await balance(caller.address))).toBe(3n * FEE)
    // The window moves on the writer's clock: a minute later there is room again.
    clock.advance(61_000)
    const later = await fresh(key)
    expect(later.status).toBe(200)
  }, 60_000)

  it('a daily budget of 3 calls: 10 at once through both workers, exactly 3 charged, 402 naming it and its reset; the next UTC day allows 3 more', async () => {
    const key = await keyWith({ budgets: [{ window: 'day', amount: (3n * FEE).toString() }] })
    const before = await balance(caller.address)
    const day = (at: bigint) => at / 86_400_000n
    const checkRound = async () => {
      const today = day(clock.now())
      const nextDay = new Date(Number((today + 1n) * 86_400_000n)).toISOString()
      const outcomes = await many(10, key)
      // The round must not have straddled a UTC midnight, or the oracle below would be wrong.
      expect(day(clock.now())).toBe(today)
      expect(new Set(outcomes.map((o) => o.worker)).size).toBe(2)
      expect(outcomes.filter((o) => o.status === 200)).toHaveLength(3)
      const refused = outcomes.filter((o) => o.status !== 200)
      expect(refused).toHaveLength(7)
      for (const r of refused) {
        expect(r.status).toBe(402)
        expect(r.json.error).toMatchObject({ code: 'budget_exhausted', type: 'insufficient_quota' })
        expect(r.json.error.message).toContain('daily budget')
        expect(r.json.error.message).toContain(nextDay)
      }
    }
    await checkRound()
    expect(before - (await balance(caller.address))).toBe(3n * FEE)
    clock.advance(86_400_000)
    await checkRound()
    expect(before - (await balance(caller.address))).toBe(6n * FEE)
    expect((await http(`${running.url}/v1/apikeys/${hashApiKey(key)}`)).json.calls).toBe('6')
  }, 60_000)

  it('sinew verify replays every charge', async () => {
    const v = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(v.stderr, v.stdout).toBe('')
    expect(JSON.parse(v.stdout).ok).toBe(true)
  }, 60_000)
})
