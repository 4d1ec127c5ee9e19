/**
 * The scale-out engine: PostgreSQL through node-postgres (`pg`). The same rows as the SQLite
 * engine, plus the content-addressed blobs (so every node on one database serves every
 * blob, and index builds are reproducible from the database alone). Each block is one
 * transaction under `synchronous_commit = on`: `commitBlock` resolves only once PostgreSQL
 * has flushed the commit to its WAL, so an acknowledged tx survives a crash of either side.
 *
 * Faults: a server that cannot be reached at start is `store_unavailable`, naming the URL
 * without its password; a connection lost during operation makes writes `store_unreachable`
 * (503, Retry-After) while the ledger's in-memory state keeps answering reads, and the
 * sequencer's probe (`checkWritable`) finds when it is back. A connection lost while COMMIT
 * was in flight is different: the block may or may not be in the database, so it is thrown
 * as is and the sequencer stops (as after a failed fsync); a restart reloads the truth.
 */
import pg from 'pg'
import { isSinewError, SinewError } from '../core/index.ts'
import { toBlock, toTx, type BlockDbRow, type TxDbRow } from './rows.ts'
import type { BlobRow, BlobTable, BlockCommit, BlockRow, Hex, StateRow, Store, TxPosition, TxRow } from './types.ts'

/** Numbered schema migrations; applied in order, each once, recorded in schema_migrations. */
const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE blocks (
     height BIGINT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, parent_hash TEXT NOT NULL, timestamp BIGINT NOT NULL,
     tx_root TEXT NOT NULL, state_root TEXT NOT NULL, receipts_root TEXT NOT NULL, tx_count INTEGER NOT NULL,
     proposer TEXT NOT NULL, signature TEXT NOT NULL);
   CREATE TABLE txs (
     height BIGINT NOT NULL, idx INTEGER NOT NULL, hash BYTEA NOT NULL, type TEXT NOT NULL, sender TEXT NOT NULL,
     nonce TEXT NOT NULL, message TEXT NOT NULL, signature TEXT NOT NULL, receipt TEXT NOT NULL,
     PRIMARY KEY (height, idx));
   CREATE UNIQUE INDEX txs_hash ON txs (hash);
   -- COLLATE "C": byte order, the order SQLite scans (and the state root is computed) in.
   CREATE TABLE state (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL, height BIGINT NOT NULL);
   -- Content-addressed blobs, shared by every node on this database.
   CREATE TABLE blobs (sha256 BYTEA PRIMARY KEY, size BIGINT NOT NULL, bytes BYTEA NOT NULL, stored_at TIMESTAMPTZ NOT NULL DEFAULT now());`,
  // 2: every state write by height (a NULL value deletes), for proofs at past heights, as the
  // SQLite engine's migration 2; history starts at the head a store had when it was added (an
  // empty store gets no meta row, so it stays empty for `sinew store copy`).
  `CREATE TABLE state_history (key TEXT COLLATE "C" NOT NULL, height BIGINT NOT NULL, value BYTEA, PRIMARY KEY (key, height));
   CREATE INDEX state_history_height ON state_history (height);
   INSERT INTO state_history (key, height, value) SELECT key, height, value FROM state;
   INSERT INTO meta (key, value) SELECT 'state_history_from', h::text FROM (SELECT MAX(height) AS h FROM blocks) AS m WHERE h IS NOT NULL;`,
  // 3: the sequencer lease of nodes sharing this database (src/store/sequencer-lease.ts): one
  // row, its term raised by each node that takes it; every block commit checks the term.
  `CREATE TABLE sequencer_lease (
     id INTEGER PRIMARY KEY CHECK (id = 1), term BIGINT NOT NULL, holder TEXT, url TEXT, backend_pid INTEGER,
     acquired_at TIMESTAMPTZ, expires_at TIMESTAMPTZ);
   INSERT INTO sequencer_lease (id, term) VALUES (1, 0);`,
  // 4: an account's history (GET /v1/accounts/:address/txs): the txs it signed, newest first.
  `CREATE INDEX txs_sender ON txs (sender, height, idx);`,
]

/** Key of the advisory lock that serialises migrations of nodes starting at once on one database. */
const MIGRATION_LOCK = 0x5e1e_0001
/** Key of the advisory lock held by the one node collecting the blob table's garbage (`lockCollection`). */
export const BLOB_GC_LOCK = 0x5e1e_0003

export type PostgresStoreOptions = {
  /** Opens without migrating and refuses writes (`sinew verify`). */
  readonly?: boolean
  /** Connections in the pool (default 4: one commits, the others read). */
  poolSize?: number
}

/** True for a `postgres://` or `postgresql://` store URL. */
export const isPostgresUrl = (store: string): boolean => /^postgres(ql)?:\/\//i.test(store)

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')
  }
}

/** SQLSTATE classes and errnos of a server that cannot be reached or went away. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'])
function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code
  if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || /^(08|57P)/.test(code))) return true
  const message = String((e as Error)?.message ?? '')
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|server closed the connection/i.test(message)
}

export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const location = redactUrl(url)
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: 5000,
    application_name: `sinew pid ${process.pid}`,
    // Every session commits durably, whatever the server's default: asserted below too.
    options: '-c synchronous_commit=on',
  })
  // An idle connection the server drops emits 'error' on the pool; without a listener it
  // would take the node down. The next query finds the fault and says it.
  pool.on('error', () => {})
  try {
    const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')
    if (rows[0]?.synchronous_commit !== 'on') {
      throw new SinewError({
        code: 'store_unavailable',
        message: `PostgreSQL at ${location} runs with synchronous_commit = ${rows[0]?.synchronous_commit}: a committed block could be lost`,
        details: { url: location, synchronous_commit: rows[0]?.synchronous_commit },
        hint: 'Allow synchronous_commit = on for this role and database (ALTER ROLE … SET synchronous_commit = on).',
      })
    }
    if (!options.readonly) await migrate(pool, location)
    else await assertSchema(pool, location)
  } catch (e) {
    await pool.end().catch(() => {})
    if (isSinewError(e)) throw e
    if ((e as { code?: string }).code === '42501') throw permissionDenied(location, e)
    throw new SinewError({
      code: 'store_unavailable',
      message: `Cannot open the PostgreSQL store at ${location}: ${(e as Error).message}`,
      details: { url: location, reason: String((e as { code?: string }).code ?? (e as Error).message) },
      hint: 'Check that the server runs and accepts connections at that address, and that the user, password and database in the URL are right.',
      cause: e,
    })
  }
  return new PostgresStore(pool, location, options.readonly ?? false, url)
}

function permissionDenied(location: string, e: unknown): SinewError {
  return new SinewError({
    code: 'store_permission_denied',
    message: `The user of ${location} may not create or write Sinew's tables: ${(e as Error).message}`,
    details: { url: location, reason: (e as Error).message },
    hint: 'Connect as a user that owns the database (or has CREATE on its public schema), e.g. GRANT CREATE ON SCHEMA public TO <user>.',
    cause: e,
  })
}

async function migrate(pool: pg.Pool, location: string): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
    const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version))
    if (applied.size > MIGRATIONS.length) throw newerSchema(applied.size, location)
    for (const [i, sql] of MIGRATIONS.entries()) {
      if (applied.has(i + 1)) continue
      await client.query(sql)
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [i + 1, new Date().toISOString()])
    }
    await client.query('COMMIT')
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {})
    throw e
  } finally {
    client.release()
  }
}

async function assertSchema(pool: pg.Pool, location: string): Promise<void> {
  const { rows } = await pool.query<{ n: string | null }>("SELECT to_regclass('schema_migrations')::text AS n")
  if (!rows[0]?.n) {
    throw new SinewError({
      code: 'not_found',
      message: `No Sinew chain in ${location}`,
      details: { url: location },
      hint: 'Start a node on it first, or copy one there with `sinew store copy`.',
    })
  }
  const { rows: v } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')
  if (v[0].n > MIGRATIONS.length) throw newerSchema(v[0].n, location)
}

const newerSchema = (version: number, location: string) =>
  new SinewError({
    code: 'integrity',
    message: `The store at ${location} has schema version ${version}, newer than this node knows (${MIGRATIONS.length})`,
    hint: 'Upgrade sinew.',
  })

export class PostgresStore implements Store, BlobTable {
  readonly engine = 'postgres'
  readonly blobs: BlobTable = this

  /** With a sequencer lease: the term every block commit must still find in the lease row (fencing). */
  private fencingTerm: bigint | undefined

  constructor(
    readonly pool: pg.Pool,
    readonly location: string,
    readonly readonly: boolean,
    /** The URL it was opened with (password included): the sequencer lease opens its own session with it. */
    readonly url: string,
  ) {}

  /**
   * From now on every `commitBlock` checks, inside its own transaction, that the lease row
   * still has `term` (a node that took the lease since raised it) and refuses the block with
   * `sequencer_fenced` otherwise. The check takes a share lock on the row, so a takeover's
   * term raise waits for a commit in flight, and the new holder sees that block.
   */
  fence(term: bigint | undefined): void {
    this.fencingTerm = term
  }

  async getMeta(key: string): Promise<string | undefined> {
    const { rows } = await this.read('SELECT value FROM meta WHERE key = $1', [key])
    return (rows[0] as { value: string } | undefined)?.value
  }

  async listMeta(): Promise<[string, string][]> {
    const { rows } = await this.read('SELECT key, value FROM meta ORDER BY key COLLATE "C"')
    return (rows as { key: string; value: string }[]).map((r) => [r.key, r.value])
  }

  async putMeta(key: string, value: string): Promise<void> {
    this.assertWritable()
    await this.write(`meta ${key} was not written`, () =>
      this.pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]),
    )
  }

  async checkWritable(): Promise<void> {
    await this.putMeta('write_probe', new Date().toISOString())
  }

  async commitBlock(commit: BlockCommit): Promise<void> {
    this.assertWritable()
    const b = commit.block
    const outcome = `block ${b.height} was not committed`
    const client = await this.write(outcome, () => this.pool.connect())
    let committing = false
    try {
      // Round trips, not rows, are what a block costs here: BEGIN and the setting in one
      // (simple protocol), the fencing check, the whole block in one statement, COMMIT.
      await client.query('BEGIN; SET LOCAL synchronous_commit = on')
      if (this.fencingTerm !== undefined) await checkTerm(client, this.fencingTerm, b.height)
      await insertBlock(client, commit)
      committing = true
      await client.query('COMMIT')
      client.release()
    } catch (e) {
      client.release(isConnectionError(e) ? (e as Error) : undefined)
      if (!committing) await client.query('ROLLBACK').catch(() => {})
      // COMMIT cut short: the block may be in the database or not. Only a restart knows.
      if (committing && isConnectionError(e)) throw e
      throw this.fault(e, outcome) ?? e
    }
  }

  async head(): Promise<BlockRow | undefined> {
    const { rows } = await this.read('SELECT * FROM blocks ORDER BY height DESC LIMIT 1')
    return rows[0] ? toBlock(rows[0] as BlockDbRow) : undefined
  }

  async getBlock(height: bigint): Promise<BlockRow | undefined> {
    if (height > 2n ** 63n - 1n || height < 0n) return undefined
    const { rows } = await this.read('SELECT * FROM blocks WHERE height = $1', [height.toString()])
    return rows[0] ? toBlock(rows[0] as BlockDbRow) : undefined
  }

  async listBlocks(fromHeight: bigint, limit: number): Promise<BlockRow[]> {
    const { rows } = await this.read('SELECT * FROM blocks WHERE height >= $1 ORDER BY height LIMIT $2', [fromHeight.toString(), limit])
    return (rows as BlockDbRow[]).map(toBlock)
  }

  async getBlockTxs(height: bigint): Promise<TxRow[]> {
    const { rows } = await this.read('SELECT * FROM txs WHERE height = $1 ORDER BY idx', [height.toString()])
    return (rows as TxDbRow[]).map(toTx)
  }

  async getTx(hash: Hex): Promise<TxRow | undefined> {
    const { rows } = await this.read('SELECT * FROM txs WHERE hash = $1', [Buffer.from(hash.slice(2), 'hex')])
    return rows[0] ? toTx(rows[0] as TxDbRow) : undefined
  }

  async listSenderTxs(sender: Hex, before: TxPosition | undefined, limit: number): Promise<TxRow[]> {
    const { rows } = before
      ? await this.read('SELECT * FROM txs WHERE sender = $1 AND (height, idx) < ($2, $3) ORDER BY height DESC, idx DESC LIMIT $4', [
          sender,
          before.height.toString(),
          before.index,
          limit,
        ])
      : await this.read('SELECT * FROM txs WHERE sender = $1 ORDER BY height DESC, idx DESC LIMIT $2', [sender, limit])
    return (rows as TxDbRow[]).map(toTx)
  }

  async countSenderTxs(sender: Hex): Promise<number> {
    const { rows } = await this.read('SELECT COUNT(*)::int AS n FROM txs WHERE sender = $1', [sender])
    return (rows[0] as { n: number }).n
  }

  async keysWrittenBetween(afterHeight: bigint, toHeight: bigint): Promise<string[]> {
    const { rows } = await this.read('SELECT DISTINCT key FROM state_history WHERE height > $1 AND height <= $2 ORDER BY key', [
      afterHeight.toString(),
      toHeight.toString(),
    ])
    return (rows as { key: string }[]).map((r) => r.key)
  }

  async getStateAt(key: string, height: bigint): Promise<Uint8Array | null> {
    const { rows } = await this.read('SELECT value FROM state_history WHERE key = $1 AND height <= $2 ORDER BY height DESC LIMIT 1', [key, height.toString()])
    const value = (rows[0] as { value: Buffer | null } | undefined)?.value
    return value ? new Uint8Array(value) : null
  }

  /** Pages through the table in key order (a page per query, so no transaction stays open). */
  async *scanState(): AsyncIterable<StateRow> {
    let after: string | null = null
    for (;;) {
      const { rows } = await this.read(
        after === null
          ? 'SELECT key, value, height FROM state ORDER BY key LIMIT 2000'
          : 'SELECT key, value, height FROM state WHERE key > $1 ORDER BY key LIMIT 2000',
        after === null ? [] : [after],
      )
      for (const r of rows as { key: string; value: Buffer; height: string }[]) yield { key: r.key, value: new Uint8Array(r.value), height: BigInt(r.height) }
      if (rows.length < 2000) return
      after = (rows[rows.length - 1] as { key: string }).key
    }
  }

  async getState(key: string): Promise<StateRow | undefined> {
    const { rows } = await this.read('SELECT key, value, height FROM state WHERE key = $1', [key])
    const r = rows[0] as { key: string; value: Buffer; height: string } | undefined
    return r ? { key: r.key, value: new Uint8Array(r.value), height: BigInt(r.height) } : undefined
  }

  // Blobs (BlobTable)

  async putBlob(sha256: string, bytes: Uint8Array): Promise<boolean> {
    this.assertWritable()
    // Stored again: its age for garbage collection starts again (xmax = 0 only on an insert).
    const { rows } = await this.write('the blob was not stored', () =>
      this.pool.query<{ inserted: boolean }>(
        'INSERT INTO blobs (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO UPDATE SET stored_at = now() RETURNING (xmax = 0) AS inserted',
        [Buffer.from(sha256, 'hex'), bytes.length, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)],
      ),
    )
    return rows[0]?.inserted === true
  }

  async statBlob(sha256: string): Promise<BlobRow | undefined> {
    const { rows } = await this.read(`SELECT ${BLOB_ROW} FROM blobs WHERE sha256 = $1`, [Buffer.from(sha256, 'hex')])
    return rows[0] ? toBlobRow(rows[0] as BlobDbRow) : undefined
  }

  async getBlob(sha256: string): Promise<Buffer | undefined> {
    const { rows } = await this.read('SELECT bytes FROM blobs WHERE sha256 = $1', [Buffer.from(sha256, 'hex')])
    return (rows[0] as { bytes: Buffer } | undefined)?.bytes
  }

  async hasBlob(sha256: string): Promise<boolean> {
    const { rows } = await this.read('SELECT 1 FROM blobs WHERE sha256 = $1', [Buffer.from(sha256, 'hex')])
    return rows.length > 0
  }

  async deleteBlob(sha256: string, o: { ifStoredAt?: string } = {}): Promise<boolean> {
    this.assertWritable()
    const params: unknown[] = [Buffer.from(sha256, 'hex')]
    let sql = 'DELETE FROM blobs WHERE sha256 = $1'
    if (o.ifStoredAt !== undefined) {
      params.push(o.ifStoredAt)
      sql += ` AND stored_at = $${params.length}::timestamptz`
    }
    // A node that lost the sequencer lease (its chain may lag the blocks that refer to this blob) removes nothing.
    if (this.fencingTerm !== undefined) {
      params.push(this.fencingTerm.toString())
      sql += ` AND EXISTS (SELECT 1 FROM sequencer_lease WHERE id = 1 AND term = $${params.length})`
    }
    const { rowCount } = await this.write('the blob was not removed', () => this.pool.query(sql, params))
    return rowCount === 1
  }

  async listBlobs(after: string | null, limit: number): Promise<BlobRow[]> {
    const { rows } = await this.read(
      after === null ? `SELECT ${BLOB_ROW} FROM blobs ORDER BY sha256 LIMIT $1` : `SELECT ${BLOB_ROW} FROM blobs WHERE sha256 > $2 ORDER BY sha256 LIMIT $1`,
      after === null ? [limit] : [limit, Buffer.from(after, 'hex')],
    )
    return (rows as BlobDbRow[]).map(toBlobRow)
  }

  /**
   * A session advisory lock on a connection of the pool, held until the returned function
   * runs (or the connection ends: a node that dies mid-pass lets it go with its session).
   */
  async lockCollection(): Promise<(() => Promise<void>) | undefined> {
    this.assertWritable()
    const client = await this.write('the blob collection lock was not taken', () => this.pool.connect())
    try {
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [BLOB_GC_LOCK])
      if (rows[0]?.got !== true) {
        client.release()
        return undefined
      }
    } catch (e) {
      client.release(e as Error)
      throw this.fault(e, 'the blob collection lock was not taken') ?? e
    }
    return async () => {
      try {
        await client.query('SELECT pg_advisory_unlock($1)', [BLOB_GC_LOCK])
        client.release()
      } catch (e) {
        // Dropping the connection ends its session, and the lock with it.
        client.release(e as Error)
      }
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end()
  }

  private assertWritable(): void {
    if (this.readonly) throw new SinewError({ code: 'store_read_only', message: 'The store is open read-only', details: { url: this.location } })
  }

  /** A read; a server that went away is said as `store_unreachable` (the caller serves what it has in memory). */
  private async read(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(sql, params)
    } catch (e) {
      throw this.fault(e, 'the read was not answered') ?? e
    }
  }

  private async write<T>(outcome: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (e) {
      throw this.fault(e, outcome) ?? e
    }
  }

  /** The store fault `e` is: a lost server (`store_unreachable`), a permission refused, or undefined for anything else. */
  private fault(e: unknown, outcome: string): SinewError | undefined {
    if (isSinewError(e)) return e
    if ((e as { code?: string }).code === '42501') return permissionDenied(this.location, e)
    if (!isConnectionError(e)) return undefined
    return new SinewError({
      code: 'store_unreachable',
      message: `PostgreSQL at ${this.location} does not answer: ${outcome}`,
      details: { url: this.location, reason: String((e as { code?: string }).code ?? (e as Error).message), retryAfterS: 2 },
      hint: 'Reads of what the node holds in memory still work. Writes resume by themselves once the database answers again: retry after Retry-After.',
      cause: e,
    })
  }
}

/** A blob's row without its bytes; stored_at also as text, to the microsecond, for `deleteBlob`'s `ifStoredAt`. */
const BLOB_ROW = 'sha256, size, floor(extract(epoch FROM stored_at) * 1000)::bigint AS stored_ms, stored_at::text AS stored_at'
type BlobDbRow = { sha256: Buffer; size: string; stored_ms: string; stored_at: string }
const toBlobRow = (r: BlobDbRow): BlobRow => ({
  sha256: r.sha256.toString('hex'),
  size: Number(r.size),
  storedAtMs: Number(r.stored_ms),
  storedAt: r.stored_at,
})

/** Fencing: the block goes in only while the lease row still has this node's term. */
async function checkTerm(client: pg.PoolClient, term: bigint, height: bigint): Promise<void> {
  const { rows } = await client.query<{ term: string; holder: string | null }>('SELECT term, holder FROM sequencer_lease WHERE id = 1 FOR SHARE')
  const current = rows[0] ? BigInt(rows[0].term) : undefined
  if (current === term) return
  throw new SinewError({
    code: 'sequencer_fenced',
    message: `Block ${height} was not committed: this node's sequencer lease (term ${term}) was taken over (term ${current})`,
    details: { height: height.toString(), term: term.toString(), currentTerm: current?.toString() ?? null, holder: rows[0]?.holder ?? null, retryAfterS: 1 },
    hint: 'Another node is the sequencer now: retry the tx; any node forwards it there.',
  })
}

/**
 * The block, its txs and its state writes (history rows, upserts, deletes) as ONE statement:
 * data-modifying CTEs, each run once and to completion, on arrays unnested server-side. A
 * key is either set or deleted in a block (the writes are a map), so the CTEs touch
 * disjoint rows of `state`.
 */
const INSERT_BLOCK_SQL = `WITH
  blk AS (
    INSERT INTO blocks (height, hash, parent_hash, timestamp, tx_root, state_root, receipts_root, tx_count, proposer, signature)
    VALUES ($1::bigint, $2, $3, $4::bigint, $5, $6, $7, $8::int, $9, $10)),
  tx AS (
    INSERT INTO txs (height, idx, hash, type, sender, nonce, message, signature, receipt)
    SELECT $1::bigint, * FROM unnest($11::int[], $12::bytea[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])),
  hist AS (
    INSERT INTO state_history (key, height, value) SELECT k, $1::bigint, v FROM unnest($19::text[], $20::bytea[]) AS u(k, v)),
  put AS (
    INSERT INTO state (key, value, height) SELECT k, v, $1::bigint FROM unnest($19::text[], $20::bytea[]) AS u(k, v) WHERE v IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, height = excluded.height),
  del AS (
    DELETE FROM state WHERE key = ANY($21::text[]))
SELECT 1`

async function insertBlock(client: pg.PoolClient, commit: BlockCommit): Promise<void> {
  const b = commit.block
  const txs = commit.txs
  const keys: string[] = []
  const values: (Buffer | null)[] = []
  const deleted: string[] = []
  for (const [key, value] of commit.writes) {
    keys.push(key)
    values.push(value === null ? null : Buffer.from(value.buffer, value.byteOffset, value.length))
    if (value === null) deleted.push(key)
  }
  await client.query(INSERT_BLOCK_SQL, [
    b.height.toString(),
    b.hash,
    b.parentHash,
    b.timestamp.toString(),
    b.txRoot,
    b.stateRoot,
    b.receiptsRoot,
    b.txCount,
    b.proposer,
    b.signature,
    txs.map((t) => t.index),
    txs.map((t) => Buffer.from(t.hash.slice(2), 'hex')),
    txs.map((t) => t.type),
    txs.map((t) => t.sender),
    txs.map((t) => t.nonce.toString()),
    txs.map((t) => t.message),
    txs.map((t) => t.signature),
    txs.map((t) => t.receipt),
    keys,
    values,
    deleted,
  ])
}
