/**
 * The store's durability settings, read back from SQLite itself: WAL with synchronous=FULL
 * (the WAL is fsynced at every commit, so a block that committed survives a power cut; with
 * NORMAL it would survive a crash of the process only). test/durability-fsync.test.ts
 * watches the fsync happen before each acknowledgment.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers.ts'
import { openSqliteStore } from './sqlite.ts'
import type { BlockCommit } from './types.ts'

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA']
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

describe('the SQLite store', () => {
  it('runs in WAL mode with synchronous=FULL, on a new file and when reopened', async () => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    const file = join(tmp.dir, 'sinew.db')
    for (let open = 0; open < 2; open++) {
      const store = openSqliteStore(file)
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(SYNCHRONOUS[store.db.pragma('synchronous', { simple: true }) as number]).toBe('FULL')
      await store.close()
    }
  })

  it('commits on its commit thread what the inline commit writes, and reports a refused commit with its SQLite code', async () => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    const commitOf = (height: bigint, key: string): BlockCommit => ({
      block: {
        height,
        hash: `0x${height.toString(16).padStart(64, '0')}`,
        parentHash: `0x${'0'.repeat(64)}`,
        timestamp: 1000n + height,
        txRoot: `0x${'1'.repeat(64)}`,
        stateRoot: `0x${'2'.repeat(64)}`,
        receiptsRoot: `0x${'3'.repeat(64)}`,
        txCount: 1,
        proposer: `0x${'4'.repeat(40)}`,
        signature: '0x55',
      },
      txs: [
        {
          hash: `0x${'a'.repeat(63)}${height}`,
          height,
          index: 0,
          type: 'Transfer',
          sender: `0x${'6'.repeat(40)}`,
          nonce: height,
          message: '{"m":1}',
          signature: '0x77',
          receipt: `{"r":${height}}`,
        },
      ],
      writes: new Map([
        [key, new Uint8Array([1, 2, Number(height)])],
        ['gone', null],
      ]),
    })
    const inline = openSqliteStore(join(tmp.dir, 'inline.db'))
    const threaded = openSqliteStore(join(tmp.dir, 'threaded.db'), { commitThread: true })
    for (const store of [inline, threaded]) {
      await store.commitBlock(commitOf(0n, 'k0'))
      await store.commitBlock(commitOf(1n, 'k1'))
    }
    const dump = (s: typeof inline) => ({
      blocks: s.db.prepare('SELECT * FROM blocks ORDER BY height').all(),
      txs: s.db.prepare('SELECT * FROM txs ORDER BY seq').all(),
      state: s.db.prepare('SELECT * FROM state ORDER BY key').all(),
      history: s.db.prepare('SELECT * FROM state_history ORDER BY key, height').all(),
    })
    // The threaded store's own (main) connection reads what its thread committed.
    expect(dump(threaded)).toEqual(dump(inline))
    expect(dump(threaded).txs).toHaveLength(2)
    // Block 1 again: the primary key refuses it, nothing of it is kept, the thread goes on.
    await expect(threaded.commitBlock(commitOf(1n, 'k9'))).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })
    expect(threaded.db.prepare("SELECT COUNT(*) AS n FROM state WHERE key = 'k9'").get()).toEqual({ n: 0 })
    await threaded.commitBlock(commitOf(2n, 'k2'))
    expect(threaded.db.prepare('SELECT MAX(height) AS h FROM blocks').get()).toEqual({ h: 2 })
    await inline.close()
    await threaded.close()
  })
})
