/**
 * A replica passes model calls to its leader: the official `openai` client pointed at a
 * replica gets the same models and answers (streamed and not) as from the leader, the
 * receipt is the leader's, and it reaches the replica with the blocks it follows, along
 * with the balances it moved. Errors pass through; a leader that is down is a clear 502.
 */
import { createServer } from 'node:net'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newApiKey } from '../src/models/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { publishDatanetVersion } from './datanets-fixtures.ts'
import { DOCS, FAKE_TEXT, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, sendTx, startDevNode, startReplica, tempDir, waitFor } from './helpers.ts'

const SIN = 10n ** 18n
let leader: RunningNode
let replica: RunningNode
let backend: FakeBackend
let apiKey: string
const dirs: ReturnType<typeof tempDir>[] = []

async function synced(height: string | number): Promise<void> {
  await waitFor(
    async () => String((await http(`${replica.url}/v1/status`)).json.height),
    (h) => BigInt(h) >= BigInt(height),
  )
}

beforeAll(async () => {
  const d1 = tempDir('sinew-gwr-leader-')
  const d2 = tempDir('sinew-gwr-replica-')
  dirs.push(d1, d2)
  backend = await startFakeOpenAI()
  leader = await startDevNode(d1.dir)
  const authors = [dev[5].privateKey, dev[6].privateKey, dev[7].privateKey]
  const { ref } = await publishDatanetVersion(leader.url, {
    owner: dev[2].privateKey,
    name: 'Replica Tales',
    docs: DOCS.map((d, i) => ({ key: d.key, text: d.text, author: authors[i] })),
  })
  await sendTx(leader.url, dev[3].privateKey, 'RegisterModel', {
    name: 'fake-llm',
    description: 'test',
    backend: `openai-compatible:${backend.url}#fixed`,
    datanets: [ref],
    pricePerMillion: (1000n * SIN).toString(),
    contributorShareBps: '5000',
  })
  apiKey = await grantApiKey(leader.url, dev[0].privateKey)
  replica = await startReplica(d2.dir, leader.url)
}, 60_000)

afterAll(async () => {
  await replica?.close()
  await leader?.close()
  await backend?.close()
  for (const d of dirs) d.cleanup()
})

const openai = (url: string, key = apiKey) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 })

describe('a replica passes model calls to its leader', () => {
  it('lists the same models', async () => {
    const viaReplica = await fetch(`${replica.url}/v1/models`)
    expect(viaReplica.headers.get('x-sinew-served-by')).toBe('leader')
    expect(await viaReplica.json()).toEqual((await http(`${leader.url}/v1/models`)).json)
    expect((await openai(replica.url).models.list()).data.map((m) => m.id)).toEqual(['fake-llm'])
  })

  it('a chat completion (not streamed): the leader answers and records the receipt, which the replica then follows', async () => {
    const { data, response } = await openai(replica.url)
      .chat.completions.create({ model: 'fake-llm', messages: [{ role: 'user', content: 'tell me' }] })
      .withResponse()
    expect(data.choices[0].message.content).toBe(FAKE_TEXT)
    const sinew = (data as any).sinew
    expect(response.headers.get('x-sinew-receipt')).toBe(sinew.receipt)
    expect(sinew.contributors.length).toBeGreaterThan(0)
    await synced(sinew.height)
    const onReplica = await http(`${replica.url}/v1/receipts/${sinew.receipt}`)
    expect(onReplica.status).toBe(200)
    expect(onReplica.json).toEqual((await http(`${leader.url}/v1/receipts/${sinew.receipt}`)).json)
    for (const a of [dev[0].address, dev[3].address, dev[5].address, dev[6].address]) {
      expect((await http(`${replica.url}/v1/accounts/${a}`)).json).toEqual((await http(`${leader.url}/v1/accounts/${a}`)).json)
    }
  })

  it('a streamed chat completion arrives delta by delta, with the receipt in the last chunk', async () => {
    const stream = await openai(replica.url).chat.completions.create({ model: 'fake-llm', messages: [{ role: 'user', content: 'tell me' }], stream: true })
    let text = ''
    let deltas = 0
    let sinew: any
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta?.content
      if (d) {
        text += d
        deltas++
      }
      if ((chunk as any).sinew) sinew = (chunk as any).sinew
    }
    expect(text).toBe(FAKE_TEXT)
    expect(deltas).toBeGreaterThan(10)
    expect(sinew.receipt).toMatch(/^0x[0-9a-f]{64}$/)
    await synced(sinew.height)
    expect((await http(`${replica.url}/v1/receipts/${sinew.receipt}`)).json.id).toBe(sinew.receipt)
  })

  it("the leader's errors pass through unchanged", async () => {
    const err = await openai(replica.url, newApiKey())
      .chat.completions.create({ model: 'fake-llm', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.APIError)
    expect(err.status).toBe(401)
    expect(err.code).toBe('invalid_api_key')
    const bad = await fetch(`${replica.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: '{"model": ',
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as any).error.type).toBe('invalid_request_error')
  })

  it('a leader that is down: 502 leader_unavailable, and the replica keeps serving reads', async () => {
    // A port nothing listens on.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const d = tempDir('sinew-gwr-orphan-')
    dirs.push(d)
    const orphan = await startDevNode(d.dir, { follow: `http://127.0.0.1:${port}`, followPollMs: 50 })
    try {
      const err = await openai(orphan.url)
        .chat.completions.create({ model: 'fake-llm', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e) => e)
      expect(err).toBeInstanceOf(OpenAI.APIError)
      expect(err.status).toBe(502)
      expect(err.code).toBe('leader_unavailable')
      expect(err.message).toContain(`127.0.0.1:${port}`)
      expect((await http(`${orphan.url}/v1/status`)).status).toBe(200)
    } finally {
      await orphan.close()
    }
  })
})
