/**
 * The store's durability settings, read back from SQLite itself, and what the node does in
 * their place: WAL with synchronous=NORMAL and auto-checkpoint off on the node's connection;
 * each write resolves only after the store's own fdatasync of the WAL
 * (test/durability-fsync.test.ts watches that order in the system calls), and the
 * checkpointer thread, not the node's thread, copies the WAL into the database file.
 */
import { rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers.ts'
import { openSqliteStore } from './sqlite.ts'
import type { BlockCommit } from './types.ts'

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA']
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const

/** Block `height` with `n` state writes of 2 KB each (enough pages for the WAL to grow). */
function block(height: number, n: number): BlockCommit {
  const writes = new Map<string, Uint8Array | null>()
  for (let i = 0; i < n; i++) writes.set(`k/${height}/${i}`, new Uint8Array(2048).fill(height % 251))
  return {
    block: {
      height: BigInt(height),
      hash: hex32(height + 1),
      parentHash: hex32(height),
      timestamp: BigInt(height),
      txRoot: hex32(0),
      stateRoot: hex32(0),
      receiptsRoot: hex32(0),
      txCount: 0,
      proposer: `0x${'11'.repeat(20)}`,
      signature: '0x',
    },
    txs: [],
    writes,
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setImmediate(r))
  for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
  expect(check(), what).toBe(true)
}

describe('the SQLite store', () => {
  it('runs in WAL mode, synchronous=NORMAL with its own WAL sync, auto-checkpoint off, on a new file and when reopened', async () => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    const file = join(tmp.dir, 'sinew.db')
    for (let open = 0; open < 2; open++) {
      const store = openSqliteStore(file)
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(SYNCHRONOUS[store.db.pragma('synchronous', { simple: true }) as number]).toBe('NORMAL')
      expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
      await store.close()
    }
  })

  it('the checkpointer thread copies committed blocks into the database file; all of them are there after a reopen', async () => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    const file = join(tmp.dir, 'sinew.db')
    const store = openSqliteStore(file)
    const errors: string[] = []
    store.onCheckpointError = (m) => errors.push(m)
    const sizeBefore = statSync(file).size
    for (let h = 0; h < 20; h++) await store.commitBlock(block(h, 50))
    // 20 blocks of ~100 KB: only a checkpoint puts them in the database file itself.
    await until(() => statSync(file).size > sizeBefore + 1_000_000, 'the database file grew by the checkpointed pages')
    await store.close()
    expect(errors).toEqual([])
    const reopened = openSqliteStore(file)
    expect((await reopened.head())?.height).toBe(19n)
    expect((await reopened.getState('k/19/49'))?.value[0]).toBe(19)
    await reopened.close()
  })

  it('a write whose WAL sync fails is refused with commit_failed (never resolved as durable)', async () => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    const file = join(tmp.dir, 'sinew.db')
    const store = openSqliteStore(file)
    await store.commitBlock(block(0, 1))
    // The WAL's path gone: SQLite still writes through its open descriptor, the sync cannot open it.
    rmSync(`${file}-wal`)
    await expect(store.commitBlock(block(1, 1))).rejects.toMatchObject({ code: 'commit_failed', details: { file: `${file}-wal` } })
    await store.close()
  })
})
