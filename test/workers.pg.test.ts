/**
 * Serving workers on PostgreSQL (`--workers 2` with a `postgres://` store, docs/scaling.md):
 * each worker opens the node's PostgreSQL database through a pool of its own (no SQLite
 * file anywhere in the data dir), loads its view from it and grows it with the blocks the
 * writer sends. Reads, writes (read-your-writes across workers) and model calls all go
 * through the workers; the node holds the sequencer lease and puts the workers' public URL
 * into it.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { WORKER_HEADER, type RunningNode } from '../src/server/index.ts'
import { startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, sendTx, signTransfer, startDevNode, tempDir, waitFor } from './helpers.ts'
import { freshPgDatabase } from './pg.ts'

let tmp: ReturnType<typeof tempDir>
let running: RunningNode
let backend: FakeBackend
let store: string

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

beforeAll(async () => {
  tmp = tempDir('sinew-workers-pg-')
  backend = await startFakeOpenAI({ delayMs: 1 })
  store = await freshPgDatabase()
  running = await startDevNode(tmp.dir, { workers: 2, store })
})

afterAll(async () => {
  await running?.close()
  await backend?.close()
  tmp?.cleanup()
})

describe('serving workers on a PostgreSQL store', () => {
  it('both workers serve, each with its own connections to the database, and no SQLite file exists', async () => {
    expect(running.node.store.engine).toBe('postgres')
    const pids = running.workers!.status().map((w) => String(w.pid))
    expect(pids).toHaveLength(2)
    const seen = new Set<string>()
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const r = await fresh(`${running.url}/v1/blocks/latest`)
      expect(r.status).toBe(200)
      seen.add(r.worker)
    }
    expect([...seen].sort()).toEqual([...pids].sort())
    // The oracle: the database's own list of sessions (application_name names the process).
    const admin = new pg.Client({ connectionString: store })
    await admin.connect()
    try {
      const { rows } = await admin.query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE datname = current_database()')
      const names = new Set(rows.map((r) => r.application_name))
      for (const pid of pids) expect(names).toContain(`sinew pid ${pid}`)
    } finally {
      await admin.end()
    }
    const files = readdirSync(tmp.dir, { recursive: true }).map(String)
    expect(files.filter((f) => /sinew\.db/.test(f))).toEqual([])
    expect(existsSync(join(tmp.dir, 'sinew.db'))).toBe(false)
  })

  it('holds the sequencer lease and advertises the workers’ public URL in it', async () => {
    const status = await fresh(`${running.url}/v1/status`)
    expect(status.json.role).toBe('sequencer')
    expect(status.json.failover.role).toBe('sequencer')
    const admin = new pg.Client({ connectionString: store })
    await admin.connect()
    try {
      const url = await waitFor(
        async () => (await admin.query<{ url: string | null }>('SELECT url FROM sequencer_lease WHERE id = 1')).rows[0].url,
        (u) => u !== null,
      )
      expect(new URL(url!).port).toBe(new URL(running.url).port)
    } finally {
      await admin.end()
    }
  })

  it('writes through one worker are seen at once through the other (read-your-writes)', async () => {
    const sender = dev[5]
    const to = '0x00000000000000000000000000000000000000b2' as Hex
    const start = BigInt((await fresh(`${running.url}/v1/accounts/${sender.address}`)).json.nonce)
    const workers = new Set<string>()
    for (let i = 0n; i < 8n; i++) {
      const ack = await fresh(`${running.url}/v1/tx`, {
        method: 'POST',
        body: await signTransfer(sender.privateKey, { to, amount: 500n + i, nonce: start + i }),
      })
      expect(ack.status).toBe(200)
      const [account, recipient, byHash] = await Promise.all([
        fresh(`${running.url}/v1/accounts/${sender.address}`),
        fresh(`${running.url}/v1/accounts/${to}`),
        fresh(`${running.url}/v1/tx/${ack.json.hash}`),
      ])
      workers.add(account.worker).add(recipient.worker).add(byHash.worker)
      expect(account.json.nonce).toBe((start + i + 1n).toString())
      // Oracle: 500 + 501 + … + (500 + i).
      expect(BigInt(recipient.json.balance)).toBe((i + 1n) * 500n + (i * (i + 1n)) / 2n)
      expect(byHash.status).toBe(200)
      expect(byHash.json.height).toBe(ack.json.height)
    }
    expect(workers.size).toBe(2)
  })

  it('a model call through a worker is answered and charged', async () => {
    await sendTx(running.url, dev[3].privateKey, 'RegisterModel', {
      name: 'pg-worker-llm',
      description: 'test',
      backend: `openai-compatible:${backend.url}#fixed`,
      datanets: [],
      pricePerMillion: (10n ** 18n).toString(),
      contributorShareBps: '0',
    })
    const payer = dev[6]
    const apiKey = await grantApiKey(running.url, payer.privateKey)
    const before = BigInt((await fresh(`${running.url}/v1/accounts/${payer.address}`)).json.balance)
    const r = await fresh(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
      body: { model: 'pg-worker-llm', messages: [{ role: 'user', content: 'go' }], max_tokens: 4, stream: false },
    })
    expect(r.status, JSON.stringify(r.json)).toBe(200)
    expect(running.workers!.status().map((w) => String(w.pid))).toContain(r.worker)
    const after = BigInt((await fresh(`${running.url}/v1/accounts/${payer.address}`)).json.balance)
    expect(after).toBeLessThan(before)
  })
})
