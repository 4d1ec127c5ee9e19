/**
 * The PostgreSQL store on a real server (test/pg-server.ts):
 * - it stores what the SQLite engine stores, row for row (the SQLite engine is the oracle);
 * - every session commits with synchronous_commit = on, read back from the server;
 * - a server that cannot be reached at start: `store_unavailable`, naming the URL without its password;
 * - a user that may not create tables: `store_permission_denied`;
 * - the server going away under a running node: writes 503 `store_unreachable` with
 *   Retry-After, reads go on, and everything resumes when it returns; nothing acknowledged is lost;
 * - blobs are in the database: a node on a fresh data dir over the same database serves
 *   every blob and rebuilds the indexes from the database alone.
 */
import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { openPostgresStore, openSqliteStore, type BlockCommit, type Store } from '../src/store/index.ts'
import { datanetsClient, publishDatanetVersion } from './datanets-fixtures.ts'
import { dev, http, signTransfer, startDevNode, tempDir, waitFor } from './helpers.ts'
import { freshPgDatabase, pgAdminUrl } from './pg.ts'
import { startTestPgServer, type TestPgServer } from './pg-server.ts'

const tmp = tempDir('sinew-pg-store-')
const servers: TestPgServer[] = []
afterAll(() => {
  for (const s of servers) s.stop()
  tmp.cleanup()
})

const hex = (n: number, byte: string): Hex => `0x${byte.repeat(16)}${n.toString(16).padStart(32, '0')}` as Hex

function commitAt(height: bigint, keys: [string, Uint8Array | null][]): BlockCommit {
  return {
    block: {
      height,
      hash: hex(Number(height), 'ab'),
      parentHash: hex(Number(height) - 1, 'ab'),
      timestamp: 1_700_000_000_000n + height,
      txRoot: hex(1, 'cd'),
      stateRoot: hex(2, 'cd'),
      receiptsRoot: hex(3, 'cd'),
      txCount: 2,
      proposer: dev[0].address,
      signature: `0x${'11'.repeat(65)}`,
    },
    txs: [0, 1].map((index) => ({
      hash: hex(Number(height) * 10 + index, 'ef'),
      height,
      index,
      type: 'Transfer',
      sender: dev[index].address,
      nonce: height,
      message: JSON.stringify({ to: dev[2].address, amount: '1' }),
      signature: `0x${'22'.repeat(65)}` as Hex,
      receipt: '{"status":"ok"}',
    })),
    writes: new Map(keys),
  }
}

async function dump(store: Store) {
  const state = []
  for await (const row of store.scanState()) state.push(row)
  const blocks = await store.listBlocks(0n, 100)
  const txs = await Promise.all(blocks.map((b) => store.getBlockTxs(b.height)))
  return { head: await store.head(), blocks, txs, state, tx: await store.getTx(hex(21, 'ef')), meta: await store.getMeta('k') }
}

describe('the PostgreSQL store', () => {
  it('stores blocks, txs, state and meta as the SQLite engine does, in the same key order', async () => {
    const stores = [await openPostgresStore(await freshPgDatabase()), openSqliteStore(join(tmp.dir, 'oracle.db'))]
    // Keys whose byte order differs from a locale's order ('B' < 'a', '_' between them).
    const enc = (s: string) => new TextEncoder().encode(s)
    for (const store of stores) {
      await store.commitBlock(
        commitAt(0n, [
          ['a/1', enc('x')],
          ['B/2', enc('y')],
        ]),
      )
      await store.commitBlock(
        commitAt(1n, [
          ['a/1', null],
          ['a_b', enc('z')],
          ['a/0', enc('w')],
        ]),
      )
      await store.commitBlock(commitAt(2n, [['B/2', enc('yy')]]))
      await store.putMeta('k', 'v1')
      await store.putMeta('k', 'v2')
    }
    const [got, want] = await Promise.all(stores.map(dump))
    expect(got).toEqual(want)
    expect(got.state.map((r) => r.key)).toEqual(['B/2', 'a/0', 'a_b'])
    // A block at a height already taken is refused whole: nothing of it is kept.
    await expect(stores[0].commitBlock(commitAt(2n, [['zzz', enc('no')]]))).rejects.toThrow()
    expect(await stores[0].getState('zzz')).toBeUndefined()
    for (const store of stores) await store.close()
  })

  it('commits with synchronous_commit = on, whatever the database default', async () => {
    const url = await freshPgDatabase()
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = off`)
    await admin.end()
    const store = await openPostgresStore(url)
    const { rows } = await store.pool.query('SHOW synchronous_commit')
    expect(rows[0].synchronous_commit).toBe('on')
    await store.close()
  })

  it('names the URL, without its password, when the server cannot be reached at start', async () => {
    const port = new URL(pgAdminUrl()).port
    // A port nothing listens on: the test server's port + 1 is not guaranteed free, so take a closed one from the OS.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer()
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    expect(closed).not.toBe(Number(port))
    const url = `postgres://alice:s3cret-pw@127.0.0.1:${closed}/sinew`
    const error = await openPostgresStore(url).catch((e) => e)
    expect(error.code).toBe('store_unavailable')
    expect(error.status).toBe(503)
    expect(error.message).toContain(`postgres://alice:***@127.0.0.1:${closed}/sinew`)
    expect(JSON.stringify(error.toJSON())).not.toContain('s3cret')
  })

  it('refuses a user that may not create tables, saying so', async () => {
    const url = await freshPgDatabase()
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query("DO $$ BEGIN CREATE ROLE sinew_reader LOGIN PASSWORD 'pw'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    await admin.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC')
    await admin.end()
    const reader = new URL(url)
    reader.username = 'sinew_reader'
    reader.password = 'pw'
    const error = await openPostgresStore(reader.toString()).catch((e) => e)
    expect(error.code).toBe('store_permission_denied')
    expect(error.message).toContain('sinew_reader:***@')
    expect(error.message).not.toContain(':pw@')
  })
})

describe('a node on PostgreSQL', () => {
  it('refuses writes with 503 and Retry-After while the server is down, serves reads, and resumes when it returns', async () => {
    const server = await startTestPgServer()
    servers.push(server)
    const dir = join(tmp.dir, 'outage')
    const node = await startDevNode(dir, { store: await freshPgDatabase(server.adminUrl) })
    try {
      const acked: Hex[] = []
      const send = async (nonce: bigint) =>
        http(`${node.url}/v1/tx`, { body: await signTransfer(dev[0].privateKey, { to: dev[5].address, amount: 7n, nonce }) })
      const first = await send(0n)
      expect(first.status).toBe(200)
      acked.push(first.json.hash)
      server.pause()
      const refused = await fetch(`${node.url}/v1/tx`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(await signTransfer(dev[0].privateKey, { to: dev[5].address, amount: 7n, nonce: 1n })),
      })
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('2')
      const body = (await refused.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('store_unreachable')
      expect(body.error.message).toContain('postgres://sinew@127.0.0.1')
      // Reads from what the node holds go on.
      const account = await http(`${node.url}/v1/accounts/${dev[5].address}`)
      expect(account.status).toBe(200)
      const status = await http(`${node.url}/v1/status`)
      expect(status.json.storage).toMatchObject({ writable: false, fault: { code: 'store_unreachable' } })
      server.resume()
      await waitFor(
        async () => (await http(`${node.url}/v1/status`)).json.storage.writable,
        (w) => w === true,
      )
      const again = await send(1n)
      expect(again.status, JSON.stringify(again.json)).toBe(200)
      acked.push(again.json.hash)
      for (const hash of acked) expect((await http(`${node.url}/v1/tx/${hash}`)).status).toBe(200)
      expect(BigInt((await http(`${node.url}/v1/accounts/${dev[5].address}`)).json.balance) - BigInt(account.json.balance)).toBe(7n)
    } finally {
      await node.close()
    }
  })

  it('keeps blobs in the database: a node on a fresh data dir serves every blob and rebuilds the index from it', async () => {
    const store = await freshPgDatabase()
    const first = join(tmp.dir, 'first')
    const node = await startDevNode(first, { store })
    const texts = ['the first shared tale', 'a second tale, shared']
    const { datanet } = await publishDatanetVersion(node.url, {
      owner: dev[3].privateKey,
      name: 'Shared Tales',
      docs: texts.map((text, i) => ({ key: `tale-${i}`, text, author: dev[4].privateKey })),
    })
    const shas = texts.map((t) => createHash('sha256').update(t).digest('hex'))
    const search = async (url: string) => (await http(`${url}/v1/datanets/${datanet}/versions/1/search?q=${encodeURIComponent('tale')}`)).json
    const before = await search(node.url)
    expect(before.count).toBe(2)
    await node.close()
    rmSync(first, { recursive: true, force: true })

    const second = await startDevNode(join(tmp.dir, 'second'), { store })
    try {
      for (const [i, sha] of shas.entries()) {
        const blob = await fetch(`${second.url}/v1/blobs/${sha}`)
        expect(blob.status).toBe(200)
        const bytes = Buffer.from(await blob.arrayBuffer())
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha)
        expect(bytes.toString()).toBe(texts[i])
      }
      await datanetsClient(second.url).then((c) => c.waitReady(datanet, 1))
      expect(await search(second.url)).toEqual(before)
    } finally {
      await second.close()
    }
  })
})
