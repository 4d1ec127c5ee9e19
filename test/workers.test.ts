/**
 * A node served by several processes (`--workers 2`, docs/scaling.md): the writer in this
 * process, two serving workers forked from it sharing the public port. Proven here:
 * requests land on different workers (each answer names its process), a write seen through
 * one worker is seen at once through the other (read-your-writes), the writer's internal
 * port refuses strangers, and the gateway's limits stay exact when calls arrive through
 * both workers at once. The kill -9 of a worker is test/workers-kill.test.ts.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeClient } from '../src/client/index.ts'
import type { Hex } from '../src/core/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import { WORKER_HEADER, type RunningNode } from '../src/server/index.ts'
import { startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, sendTx, signTransfer, startDevNode, tempDir, waitFor } from './helpers.ts'

let tmp: ReturnType<typeof tempDir>
let running: RunningNode
let backend: FakeBackend
let client: NodeClient

/** One request on a connection of its own (no keep-alive), so the cluster hands it to the next worker. */
function fresh(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; worker: string; json: any }>((resolve, reject) => {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body)
    const req = request(
      url,
      { method: init.method ?? 'GET', agent: false, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...init.headers } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (text += d))
        res.on('end', () => {
          const json = String(res.headers['content-type']).startsWith('application/json') ? JSON.parse(text) : text
          resolve({ status: res.statusCode!, worker: String(res.headers[WORKER_HEADER]), json })
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Calls one key may have in flight (the node's maxConcurrentCallsPerKey). */
const IN_FLIGHT = 12

const workerPids = () => running.workers!.status().map((w) => String(w.pid))

beforeAll(async () => {
  tmp = tempDir('sinew-workers-')
  backend = await startFakeOpenAI({ delayMs: 2 })
  running = await startDevNode(tmp.dir, { workers: 2, maxConcurrentCallsPerKey: IN_FLIGHT })
  client = new NodeClient(running.url)
})

afterAll(async () => {
  await running?.close()
  await backend?.close()
  tmp?.cleanup()
})

describe('two serving workers', () => {
  it('answers come from both workers, never from the writer, and each names its process', async () => {
    expect(running.workers!.status()).toHaveLength(2)
    const pids = workerPids()
    expect(pids).not.toContain(String(process.pid))
    const seen = new Set<string>()
    // Round-robin hands connection n to worker n mod 2: a handful of connections reach both.
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const r = await fresh(`${running.url}/v1/blocks/latest`)
      expect(r.status).toBe(200)
      seen.add(r.worker)
    }
    expect([...seen].sort()).toEqual([...pids].sort())
    // A forwarded request (status is the writer's) also names the worker that passed it on.
    const status = await fresh(`${running.url}/v1/status`)
    expect(status.json.role).toBe('sequencer')
    expect(pids).toContain(status.worker)
  })

  it('read-your-writes: a tx acknowledged through one worker is seen at once through any worker', async () => {
    const sender = dev[5]
    const to = '0x00000000000000000000000000000000000000a1' as Hex
    const start = BigInt((await client.get(`/v1/accounts/${sender.address}`)).nonce)
    const workersOfReads = new Set<string>()
    for (let i = 0n; i < 12n; i++) {
      const tx = await signTransfer(sender.privateKey, { to, amount: 1000n + i, nonce: start + i })
      const ack = await fresh(`${running.url}/v1/tx`, { method: 'POST', body: tx })
      expect(ack.status).toBe(200)
      // The next request, on a new connection, lands on the other worker: it must see the block.
      const [account, recipient, byHash] = await Promise.all([
        fresh(`${running.url}/v1/accounts/${sender.address}`),
        fresh(`${running.url}/v1/accounts/${to}`),
        fresh(`${running.url}/v1/tx/${ack.json.hash}`),
      ])
      workersOfReads.add(account.worker).add(recipient.worker).add(byHash.worker)
      expect(account.json.nonce).toBe((start + i + 1n).toString())
      // Oracle: the sum of the amounts sent so far, 1000 + 1001 + … + (1000 + i).
      expect(BigInt(recipient.json.balance)).toBe((i + 1n) * 1000n + (i * (i + 1n)) / 2n)
      expect(byHash.status).toBe(200)
      expect(byHash.json.height).toBe(ack.json.height)
    }
    expect(workersOfReads.size).toBe(2)
  })

  it("the writer's internal port refuses requests without the node's secret", async () => {
    const internal = running.app.server.address() as { port: number }
    const url = `http://127.0.0.1:${internal.port}`
    const none = await fresh(`${url}/v1/status`)
    expect(none.status).toBe(403)
    expect(none.json.error.code).toBe('internal_only')
    const forged = await fresh(`${url}/v1/tx`, { method: 'POST', body: {}, headers: { 'x-sinew-internal': 'f'.repeat(64) } })
    expect(forged.status).toBe(403)
    expect(forged.json.error.code).toBe('internal_only')
  })
})

describe('gateway limits stay exact across workers', () => {
  const SIN = 10n ** 18n
  const PRICE = 1000n * SIN + 7n
  const MAX_TOKENS = 5
  /** docs/gateway.md: fee = ceil(pricePerMillion × outputTokens / 10^6). */
  const FEE = (PRICE * BigInt(MAX_TOKENS) + 999_999n) / 1_000_000n

  const call = (apiKey: string, model: string, stream: boolean, maxTokens = MAX_TOKENS) =>
    fresh(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
      body: { model, messages: [{ role: 'user', content: 'go' }], max_tokens: maxTokens, stream },
    }).catch((e) => ({ status: 0, worker: '', json: String(e) }))

  beforeAll(async () => {
    for (const [name, upstream] of [
      ['limit-llm', 'fixed'],
      ['gated-llm', 'gate'],
    ])
      await sendTx(running.url, dev[3].privateKey, 'RegisterModel', {
        name,
        description: 'test',
        backend: `openai-compatible:${backend.url}#${upstream}`,
        datanets: [],
        pricePerMillion: PRICE.toString(),
        contributorShareBps: '0',
      })
  })

  it('a spend limit that allows exactly 3 calls: 10 at once through both workers, exactly 3 are charged', async () => {
    const payer = dev[6]
    const limit = 4n * FEE - 1n
    const apiKey = await grantApiKey(running.url, payer.privateKey, { spendLimit: limit })
    const before = BigInt((await client.get(`/v1/accounts/${payer.address}`)).balance)
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => call(apiKey, 'limit-llm', false).then((r) => ({ ...r, i }))))
    expect(new Set(outcomes.map((o) => o.worker)).size).toBe(2)
    const ok = outcomes.filter((o) => o.status === 200)
    const refused = outcomes.filter((o) => o.status !== 200)
    expect(ok).toHaveLength(3)
    for (const r of refused) expect([r.status, r.json.error.code]).toEqual([402, 'spend_limit_reached'])
    const key = await client.get(`/v1/apikeys/${hashApiKey(apiKey)}`)
    expect(BigInt(key.spent)).toBe(3n * FEE)
    expect(before - BigInt((await client.get(`/v1/accounts/${payer.address}`)).balance)).toBe(3n * FEE)
  })

  it(`calls in flight per key (limit ${IN_FLIGHT}): ${IN_FLIGHT + 3} held streams through both workers, exactly ${IN_FLIGHT} get through, 3 get 429`, async () => {
    const apiKey = await grantApiKey(running.url, dev[7].privateKey)
    let settled = 0
    const calls = Array.from({ length: IN_FLIGHT + 3 }, () => call(apiKey, 'gated-llm', true, 50).finally(() => settled++))
    // The admitted streams (asking more tokens than the gate lets through) wait at the
    // backend's gate until every other call is answered.
    await waitFor(
      async () => [backend.gated, settled],
      ([gated, done]) => gated === IN_FLIGHT && done === 3,
    )
    backend.release()
    const outcomes = await Promise.all(calls)
    expect(new Set(outcomes.map((o) => o.worker)).size).toBe(2)
    expect(outcomes.filter((o) => o.status === 200)).toHaveLength(IN_FLIGHT)
    const refused = outcomes.filter((o) => o.status !== 200)
    expect(refused).toHaveLength(3)
    for (const r of refused) expect([r.status, r.json.error.code]).toEqual([429, 'too_many_concurrent_calls'])
  })
})
