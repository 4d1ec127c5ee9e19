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
})
