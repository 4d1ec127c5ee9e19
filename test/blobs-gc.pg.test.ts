/**
 * Blob garbage collection on PostgreSQL (docs/datanets.md#uploads, docs/scaling.md): the
 * blobs live in the database, shared by every node on it, and are collected there by one
 * node at a time, the sequencer, under an advisory lock. Proven on a real server, with the
 * table itself (read by a separate client) as the oracle and the node clock moved instead
 * of sleeping: an unreferenced blob older than the grace period is deleted from the table
 * (also one stored through the standby, which the sequencer never cached), a young one and
 * one a committed task refers to are kept; a standby removes no row, only cached files; while
 * another session holds the lock, nothing is deleted; a node that lost the lease and a
 * blob stored again since it was judged are never deleted.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { BLOB_GC_LOCK, openPostgresStore } from '../src/store/postgres.ts'
import { datanetsClient, type DatanetsClient } from './datanets-fixtures.ts'
import { dev, http, startDevNode, tempDir, waitFor } from './helpers.ts'
import { freshPgDatabase } from './pg.ts'

const GRACE = 3_600_000
const hex = (b: string | Buffer) => createHash('sha256').update(b).digest('hex')

const tmp = tempDir('sinew-blob-gc-pg-')
let store: string
let seq: RunningNode
let standby: RunningNode
let db: pg.Client
let client: DatanetsClient

/** The oracle: the rows of the blob table. */
const inTable = async (content: string | Buffer) => (await db.query('SELECT 1 FROM blobs WHERE sha256 = $1', [Buffer.from(hex(content), 'hex')])).rowCount === 1
const cached = (node: RunningNode, content: string | Buffer) => existsSync(node.datanets.blobs.path(hex(content)))

beforeAll(async () => {
  store = await freshPgDatabase()
  const settings = { store, leasePollMs: 50, blobGcGraceMs: GRACE, blobGcIntervalMs: 0 }
  seq = await startDevNode(join(tmp.dir, 'a'), settings)
  standby = await startDevNode(join(tmp.dir, 'b'), { ...settings, failover: true })
  db = new pg.Client({ connectionString: store })
  await db.connect()
  client = await datanetsClient(seq.url)
})

afterAll(async () => {
  await db?.end()
  await standby?.close()
  await seq?.close()
  tmp.cleanup()
})

describe('blob garbage collection on a shared PostgreSQL store', () => {
  it('the sequencer deletes old unreferenced rows, wherever they were stored; keeps young and referenced ones; a standby deletes no row', async () => {
    expect((await http(`${standby.url}/v1/status`)).json.failover.role).toBe('standby')
    const orphan = 'stored through the sequencer, never referred to'
    const elsewhere = 'stored through the standby, never referred to'
    const spec = 'Summarise the harbour log in one line (a task refers to me).'
    await seq.datanets.blobs.put(Buffer.from(orphan))
    await standby.datanets.blobs.put(Buffer.from(elsewhere))
    const post = await client.sign(dev[7].privateKey, 'PostTask', {
      title: 'summary',
      specHash: `0x${hex(spec)}`,
      reward: '1000',
      deadline: String(Date.now() + 3_600_000),
      leaseMs: '60000',
      claimStake: '0',
      verifiers: [],
      threshold: '1',
    })
    expect((await http(`${seq.url}/v1/tx`, { body: post })).status).toBe(200)
    expect((await client.upload(spec, '', post)).json).toMatchObject({ created: true })
    for (const b of [orphan, elsewhere, spec]) expect(await inTable(b)).toBe(true)
    expect(cached(seq, elsewhere)).toBe(false)
    // The standby has applied the task's block (its references follow its chain).
    await waitFor(
      async () => standby.node.chain.head.height,
      (h) => h >= seq.node.chain.head.height,
    )

    // A standby never touches the table, however old the rows look to it.
    const byStandby = await standby.datanets.collectGarbage(Date.now() + GRACE + 60_000)
    expect(byStandby.tableRows).toBeNull()
    for (const b of [orphan, elsewhere, spec]) expect(await inTable(b)).toBe(true)
    // Only its cache: its copy of the old orphan it stored is dropped, the row stays.
    expect(byStandby.removed).toBe(1)
    expect(cached(standby, elsewhere)).toBe(false)

    const young = await seq.datanets.collectGarbage(Date.now() + GRACE / 2)
    expect(young).toMatchObject({ removed: 0, young: 2, tableRows: 3 })
    for (const b of [orphan, elsewhere, spec]) expect(await inTable(b)).toBe(true)

    const old = await seq.datanets.collectGarbage(Date.now() + GRACE + 60_000)
    expect(old).toMatchObject({ removed: 2, removedBytes: Buffer.byteLength(orphan) + Buffer.byteLength(elsewhere), tableRows: 3 })
    expect(await inTable(orphan)).toBe(false)
    expect(await inTable(elsewhere)).toBe(false)
    expect(await inTable(spec)).toBe(true)
    expect(cached(seq, orphan)).toBe(false)
    for (const node of [seq, standby]) expect((await fetch(`${node.url}/v1/blobs/${hex(orphan)}`)).status).toBe(404)
    expect(await (await fetch(`${standby.url}/v1/blobs/${hex(spec)}`)).text()).toBe(spec)
  })

  it('while another session holds the collection lock, the sequencer deletes nothing; once it is free, it does', async () => {
    const orphan = 'an orphan while someone else collects'
    await seq.datanets.blobs.put(Buffer.from(orphan))
    const other = new pg.Client({ connectionString: store })
    await other.connect()
    try {
      expect((await other.query('SELECT pg_try_advisory_lock($1) AS got', [BLOB_GC_LOCK])).rows[0].got).toBe(true)
      const skipped = await seq.datanets.collectGarbage(Date.now() + GRACE + 60_000)
      expect(skipped.tableRows).toBeNull()
      expect(await inTable(orphan)).toBe(true)
    } finally {
      await other.end() // its session ends: the lock goes with it
    }
    const done = await seq.datanets.collectGarbage(Date.now() + GRACE + 60_000)
    expect(done.removed).toBe(1)
    expect(await inTable(orphan)).toBe(false)
  })

  it('a node that lost the lease deletes no row, nor a row stored again since it was judged', async () => {
    const content = Buffer.from('a row the delete must not take')
    await seq.datanets.blobs.put(content)
    const row = await seq.datanets.blobs.shared!.statBlob(hex(content))
    expect(row).toBeDefined()
    const fenced = await openPostgresStore(store, { poolSize: 1 })
    try {
      const { rows } = await db.query<{ term: string }>('SELECT term FROM sequencer_lease WHERE id = 1')
      fenced.fence(BigInt(rows[0].term) - 1n)
      expect(await fenced.deleteBlob(hex(content))).toBe(false)
      expect(await inTable(content)).toBe(true)
      fenced.fence(undefined)
      // Stored again (a paid re-upload) after it was judged: its stored_at moved on.
      expect(await fenced.putBlob(hex(content), content)).toBe(false)
      expect(await fenced.deleteBlob(hex(content), { ifStoredAt: row!.storedAt })).toBe(false)
      expect(await inTable(content)).toBe(true)
      const now = await fenced.statBlob(hex(content))
      expect(now!.storedAt).not.toBe(row!.storedAt)
      expect(await fenced.deleteBlob(hex(content), { ifStoredAt: now!.storedAt })).toBe(true)
      expect(await inTable(content)).toBe(false)
    } finally {
      await fenced.close()
    }
  })
})
