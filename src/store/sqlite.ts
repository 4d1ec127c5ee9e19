/**
 * The embedded engine: one SQLite file (better-sqlite3, WAL). Each block is one
 * transaction, so a block and everything in it are on disk together or not at all, and a
 * write that resolved survives `kill -9` and power loss.
 *
 * Durability is what synchronous=FULL gives (the WAL fsynced after each commit, before the
 * commit is acknowledged), but the fsync runs off the event loop: SQLite commits with
 * synchronous=NORMAL (WAL frames written, not synced; checkpoints still sync the WAL before
 * and the database after), then the write's promise waits for an fdatasync of the WAL file
 * on libuv's thread pool. With FULL, better-sqlite3 held the node's only JavaScript thread
 * for each fsync (~25 ms per block on a VM disk): no HTTP parsing, decoding or signature
 * work ran meanwhile. NORMAL keeps the WAL consistent across a crash (SQLite's checksums
 * and salts); the sync is what makes the last commits durable, and nothing is acknowledged
 * before it returns. test/durability-fsync.test.ts watches the system calls for that order.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { dirname } from 'node:path'
import { SinewError } from '../core/index.ts'
import { storageFault } from './storage-fault.ts'
import { toBlock, toTx, type BlockDbRow, type TxDbRow } from './rows.ts'
import type { BlockCommit, BlockRow, Hex, StateRow, Store, TxPosition, TxRow } from './types.ts'

/** Numbered schema migrations; applied in order, each once, recorded in schema_migrations. */
const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE blocks (
     height INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, parent_hash TEXT NOT NULL, timestamp INTEGER NOT NULL,
     tx_root TEXT NOT NULL, state_root TEXT NOT NULL, receipts_root TEXT NOT NULL, tx_count INTEGER NOT NULL,
     proposer TEXT NOT NULL, signature TEXT NOT NULL);
   -- seq = height * 2^20 + idx: txs are appended in key order, which keeps inserts cheap;
   -- lookups by hash go through a 32-byte index.
   CREATE TABLE txs (
     seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL, type TEXT NOT NULL,
     sender TEXT NOT NULL, nonce TEXT NOT NULL, message TEXT NOT NULL, signature TEXT NOT NULL, receipt TEXT NOT NULL);
   CREATE UNIQUE INDEX txs_hash ON txs (hash);
   CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL, height INTEGER NOT NULL) WITHOUT ROWID;`,
  // 2: state history (every write of every block; value NULL = deleted), for proofs at past
  // heights. A store made before it starts its history at its head then, seeded with the
  // current rows as of their last write.
  `CREATE TABLE state_history (key TEXT NOT NULL, height INTEGER NOT NULL, value BLOB, PRIMARY KEY (key, height)) WITHOUT ROWID;
   CREATE INDEX state_history_height ON state_history (height);
   INSERT INTO state_history (key, height, value) SELECT key, height, value FROM state;
   INSERT INTO meta (key, value) SELECT 'state_history_from', CAST(h AS TEXT) FROM (SELECT MAX(height) AS h FROM blocks) WHERE h IS NOT NULL;`,
  // 3: an account's history (GET /v1/accounts/:address/txs): the txs it signed, newest first.
  `CREATE INDEX txs_sender ON txs (sender, seq);`,
]

export type SqliteStoreOptions = { readonly?: boolean }

export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(file, options)
}

export class SqliteStore implements Store {
  readonly engine = 'sqlite'
  readonly db: Database.Database
  private readonly stmts
  /** The write-ahead log, fsynced after each write (`syncWal`). */
  private readonly walFile: string
  private checkpointer: Worker | undefined
  /** Told when a checkpoint fails (the next block tries again); the WAL grows meanwhile. */
  onCheckpointError: ((message: string) => void) | undefined

  constructor(
    readonly location: string,
    options: SqliteStoreOptions = {},
  ) {
    if (!options.readonly) mkdirSync(dirname(location), { recursive: true })
    this.walFile = `${location}-wal`
    try {
      this.db = new Database(location, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false })
    } catch (e) {
      throw new SinewError({
        code: 'store_unavailable',
        message: `Cannot open the SQLite store at ${location}`,
        details: { file: location, reason: String((e as Error).message) },
        cause: e,
      })
    }
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL')
      this.db.pragma('synchronous = NORMAL')
      // Checkpoints run on the checkpointer's thread, not inside this thread's commits.
      this.db.pragma('wal_autocheckpoint = 0')
      migrate(this.db)
    }
    this.db.defaultSafeIntegers(false)
    this.stmts = {
      getMeta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      putMeta: options.readonly
        ? undefined
        : this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      insertBlock: options.readonly
        ? undefined
        : this.db.prepare(
            'INSERT INTO blocks (height, hash, parent_hash, timestamp, tx_root, state_root, receipts_root, tx_count, proposer, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          ),
      insertTx: options.readonly
        ? undefined
        : this.db.prepare('INSERT INTO txs (seq, hash, height, idx, type, sender, nonce, message, signature, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      putState: options.readonly
        ? undefined
        : this.db.prepare(
            'INSERT INTO state (key, value, height) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, height = excluded.height',
          ),
      deleteState: options.readonly ? undefined : this.db.prepare('DELETE FROM state WHERE key = ?'),
      putHistory: options.readonly ? undefined : this.db.prepare('INSERT INTO state_history (key, height, value) VALUES (?, ?, ?)'),
      keysWrittenBetween: this.db.prepare<[number, number], { key: string }>(
        'SELECT DISTINCT key FROM state_history WHERE height > ? AND height <= ? ORDER BY key',
      ),
      getStateAt: this.db.prepare<[string, number], { value: Buffer | null }>(
        'SELECT value FROM state_history WHERE key = ? AND height <= ? ORDER BY height DESC LIMIT 1',
      ),
      head: this.db.prepare<[], BlockDbRow>('SELECT * FROM blocks ORDER BY height DESC LIMIT 1'),
      getBlock: this.db.prepare<[number], BlockDbRow>('SELECT * FROM blocks WHERE height = ?'),
      listBlocks: this.db.prepare<[number, number], BlockDbRow>('SELECT * FROM blocks WHERE height >= ? ORDER BY height LIMIT ?'),
      blockTxs: this.db.prepare<[number, number], TxDbRow>('SELECT * FROM txs WHERE seq >= ? AND seq < ? ORDER BY seq'),
      getTx: this.db.prepare<[Buffer], TxDbRow>('SELECT * FROM txs WHERE hash = ?'),
      senderTxs: this.db.prepare<[string, number, number], TxDbRow>('SELECT * FROM txs WHERE sender = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
      countSenderTxs: this.db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM txs WHERE sender = ?'),
      scanState: this.db.prepare<[], { key: string; value: Buffer; height: number }>('SELECT key, value, height FROM state ORDER BY key'),
      getState: this.db.prepare<[string], { key: string; value: Buffer; height: number }>('SELECT key, value, height FROM state WHERE key = ?'),
    }
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.stmts.getMeta.get(key)?.value
  }

  async listMeta(): Promise<[string, string][]> {
    return this.db
      .prepare<[], { key: string; value: string }>('SELECT key, value FROM meta ORDER BY key')
      .all()
      .map((r) => [r.key, r.value])
  }

  async putMeta(key: string, value: string): Promise<void> {
    const putMeta = this.writable(this.stmts.putMeta)
    this.write(`meta ${key} was not written`, () => putMeta.run(key, value))
    await this.syncWal(`meta ${key}`)
  }

  async checkWritable(): Promise<void> {
    await this.putMeta('write_probe', new Date().toISOString())
  }

  async commitBlock(commit: BlockCommit): Promise<void> {
    const insertBlock = this.writable(this.stmts.insertBlock)
    const insertTx = this.writable(this.stmts.insertTx)
    const putState = this.writable(this.stmts.putState)
    const deleteState = this.writable(this.stmts.deleteState)
    const putHistory = this.writable(this.stmts.putHistory)
    const b = commit.block
    const height = Number(b.height)
    this.write(`block ${height} was not committed`, () =>
      this.db.transaction(() => {
        insertBlock.run(height, b.hash, b.parentHash, Number(b.timestamp), b.txRoot, b.stateRoot, b.receiptsRoot, b.txCount, b.proposer, b.signature)
        for (const t of commit.txs) {
          insertTx.run(
            txSeq(height, t.index),
            Buffer.from(t.hash.slice(2), 'hex'),
            height,
            t.index,
            t.type,
            t.sender,
            t.nonce.toString(),
            t.message,
            t.signature,
            t.receipt,
          )
        }
        for (const [key, value] of commit.writes) {
          if (value === null) deleteState.run(key)
          else putState.run(key, value, height)
          putHistory.run(key, height, value)
        }
      })(),
    )
    await this.syncWal(`block ${height}`)
    this.checkpointSoon()
  }

  async head(): Promise<BlockRow | undefined> {
    const row = this.stmts.head.get()
    return row ? toBlock(row) : undefined
  }

  async getBlock(height: bigint): Promise<BlockRow | undefined> {
    if (height > BigInt(Number.MAX_SAFE_INTEGER)) return undefined
    const row = this.stmts.getBlock.get(Number(height))
    return row ? toBlock(row) : undefined
  }

  async listBlocks(fromHeight: bigint, limit: number): Promise<BlockRow[]> {
    return this.stmts.listBlocks.all(Number(fromHeight), limit).map(toBlock)
  }

  async getBlockTxs(height: bigint): Promise<TxRow[]> {
    return this.stmts.blockTxs.all(txSeq(Number(height), 0), txSeq(Number(height) + 1, 0)).map(toTx)
  }

  async getTx(hash: Hex): Promise<TxRow | undefined> {
    const row = this.stmts.getTx.get(Buffer.from(hash.slice(2), 'hex'))
    return row ? toTx(row) : undefined
  }

  async listSenderTxs(sender: Hex, before: TxPosition | undefined, limit: number): Promise<TxRow[]> {
    const upTo = before ? Math.min(txSeq(Number(before.height), before.index), Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER
    return this.stmts.senderTxs.all(sender, upTo, limit).map(toTx)
  }

  async countSenderTxs(sender: Hex): Promise<number> {
    return this.stmts.countSenderTxs.get(sender)?.n ?? 0
  }

  async *scanState(): AsyncIterable<StateRow> {
    for (const row of this.stmts.scanState.iterate()) {
      yield { key: row.key, value: new Uint8Array(row.value), height: BigInt(row.height) }
    }
  }

  async getState(key: string): Promise<StateRow | undefined> {
    const row = this.stmts.getState.get(key)
    return row ? { key: row.key, value: new Uint8Array(row.value), height: BigInt(row.height) } : undefined
  }

  async keysWrittenBetween(afterHeight: bigint, toHeight: bigint): Promise<string[]> {
    return this.stmts.keysWrittenBetween.all(Number(afterHeight), Number(toHeight)).map((r) => r.key)
  }

  async getStateAt(key: string, height: bigint): Promise<Uint8Array | null> {
    const row = this.stmts.getStateAt.get(key, Number(height))
    return row?.value ? new Uint8Array(row.value) : null
  }

  async close(): Promise<void> {
    const checkpointer = this.checkpointer
    this.checkpointer = undefined
    if (checkpointer) {
      const exited = new Promise((resolve) => checkpointer.once('exit', resolve))
      // Held while it ends: an unref'd thread is no reason to keep the process, and a caller
      // awaiting close() at the top level would see Node exit with that await unsettled (13).
      checkpointer.ref()
      checkpointer.postMessage('close')
      await exited
    }
    if (this.db.open) this.db.close()
  }

  /**
   * Tells the checkpointer thread (started on the first block) that the WAL grew. Without
   * it the WAL would grow for ever (auto-checkpoint is off on this connection: a checkpoint
   * in a commit held this thread ~5 ms for every ~4 MB of WAL, with two fsyncs).
   */
  private checkpointSoon(): void {
    if (!this.checkpointer) {
      const worker = new Worker(new URL('./sqlite-checkpoint-worker.mjs', import.meta.url), { execArgv: [], workerData: { file: this.location } })
      worker.unref()
      worker.on('message', (msg: { error?: string }) => {
        if (msg.error) this.onCheckpointError?.(msg.error)
      })
      worker.on('error', (e) => this.onCheckpointError?.(String(e.message)))
      worker.on('exit', () => {
        if (this.checkpointer === worker) this.checkpointer = undefined
      })
      this.checkpointer = worker
    }
    this.checkpointer.postMessage('commit')
  }

  /**
   * Runs a write; a full or unwritable disk becomes its storage fault (SQLite has rolled the
   * transaction back: nothing of it is kept, and the connection takes the next write).
   */
  private write(outcome: string, run: () => unknown): void {
    try {
      run()
    } catch (e) {
      throw storageFault(e, dirname(this.location), outcome) ?? e
    }
  }

  /**
   * Makes every commit so far durable: fdatasync of the WAL file, on the thread pool. A
   * failed sync leaves unknown what reached the disk (the kernel may have dropped the dirty
   * pages), so it is `commit_failed`: never acknowledged, and the sequencer stops.
   */
  private async syncWal(what: string): Promise<void> {
    let wal
    try {
      wal = await open(this.walFile, 'r')
      await wal.datasync()
    } catch (e) {
      throw new SinewError({
        code: 'commit_failed',
        message: `The store's write-ahead log could not be synced: ${what} may not be durable`,
        details: { file: this.walFile, reason: String((e as Error).message) },
        hint: 'Check the disk; the node stops and recovers what is durable when it starts again.',
        cause: e,
      })
    } finally {
      await wal?.close()
    }
  }

  private writable<T>(stmt: T | undefined): T {
    if (stmt === undefined) throw new SinewError({ code: 'store_read_only', message: 'The store is open read-only', details: { file: this.location } })
    return stmt
  }
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
  const applied = new Set(
    db
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
      .all()
      .map((r) => r.version),
  )
  if (applied.size > MIGRATIONS.length) {
    throw new SinewError({
      code: 'integrity',
      message: `The store has schema version ${applied.size}, newer than this node knows (${MIGRATIONS.length})`,
      hint: 'Upgrade sinew.',
    })
  }
  MIGRATIONS.forEach((sql, i) => {
    const version = i + 1
    if (applied.has(version)) return
    db.transaction(() => {
      db.exec(sql)
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, new Date().toISOString())
    })()
  })
}

/** Txs per block stay below 2^20 (maxBlockTxs is at most 100 000). */
const txSeq = (height: number, index: number): number => height * 1_048_576 + index
