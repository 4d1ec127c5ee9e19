/**
 * The sequencer lease of the nodes that share one PostgreSQL database (docs/scaling.md,
 * "Failover"). Two parts, each for what it does best:
 *
 * - a **session advisory lock**, held on a connection of its own: only one session holds it,
 *   and PostgreSQL lets go of it the moment that session ends (the holder killed, its
 *   connection cut), so a standby polling for it takes over within one poll;
 * - the **lease row** (`sequencer_lease`, one row): the holder's name, the URL the others
 *   forward writes to, an expiry the holder renews (database clock), and the **term**, raised
 *   by each node that takes the lease. Every block commit checks the term inside its own
 *   transaction (PostgresStore.fence), so a node that lost the lease, even one that does not
 *   know it yet, can never commit a block.
 *
 * This module only speaks SQL; when to poll, take over or step down is src/node/failover.ts.
 */
import pg from 'pg'
import { SinewError } from '../core/index.ts'
import type { PostgresStore } from './postgres.ts'

/** Key of the session advisory lock the sequencer holds (per database). */
export const SEQUENCER_LOCK = 0x5e1e_0002

export type LeaseRow = {
  term: bigint
  holder: string | null
  url: string | null
  /** The backend pid of the holder's lock session, as it recorded it. */
  backendPid: number | null
  acquiredAt: string | null
  /** The holder's last renewal has run out (database clock). */
  expired: boolean
}

export type AcquireResult = { acquired: true; lease: LeaseRow } | { acquired: false; lease: LeaseRow }

type LeaseDbRow = { term: string; holder: string | null; url: string | null; backend_pid: number | null; acquired_at: Date | null; expired: boolean | null }

const toLease = (r: LeaseDbRow): LeaseRow => ({
  term: BigInt(r.term),
  holder: r.holder,
  url: r.url,
  backendPid: r.backend_pid,
  acquiredAt: r.acquired_at?.toISOString() ?? null,
  expired: r.expired === true,
})

const LEASE_COLUMNS = 'term, holder, url, backend_pid, acquired_at, expires_at < now() AS expired'

/** One node's session for the lease: a connection of its own (the advisory lock lives and dies with it). */
export class SequencerLeaseSession {
  private holding = false
  private lost: Error | undefined

  private constructor(
    private readonly client: pg.Client,
    readonly location: string,
  ) {
    client.on('error', (e) => {
      this.lost = e
      this.holding = false
    })
    client.on('end', () => {
      this.lost ??= new Error('the lease session ended')
      this.holding = false
    })
  }

  /** Opens a session on the store's database; throws `store_unreachable` if it cannot. */
  static async open(store: PostgresStore): Promise<SequencerLeaseSession> {
    const client = new pg.Client({
      connectionString: store.url,
      connectionTimeoutMillis: 3000,
      query_timeout: 5000,
      application_name: `sinew lease pid ${process.pid}`,
      keepAlive: true,
      // The server notices a silent peer within seconds, and lets go of the lock then.
      options: '-c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=3 -c statement_timeout=5000',
    })
    client.on('error', () => {})
    try {
      await client.connect()
    } catch (e) {
      await client.end().catch(() => {})
      throw unreachable(store.location, e)
    }
    return new SequencerLeaseSession(client, store.location)
  }

  /** The session is gone (a fault or a cut connection): its lock, if it held it, is released. */
  get broken(): boolean {
    return this.lost !== undefined
  }

  /** This session holds the advisory lock (as far as it knows). */
  get holdsLock(): boolean {
    return this.holding && !this.broken
  }

  /**
   * Takes the lease if no session holds the lock: raises the term (unless `keepTerm` is
   * still the row's term: the same holder taking back its own lease after its session was
   * cut) and records `holder` and `url`. Otherwise says who holds it.
   */
  async tryAcquire(o: { holder: string; url: string | null; ttlMs: number; keepTerm?: bigint }): Promise<AcquireResult> {
    if (!this.holding) {
      const { rows } = await this.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [SEQUENCER_LOCK])
      this.holding = rows[0]?.got === true
    }
    if (!this.holding) return { acquired: false, lease: await this.read() }
    if (o.keepTerm !== undefined) {
      const kept = await this.query<LeaseDbRow>(
        `UPDATE sequencer_lease SET holder = $2, url = $3, backend_pid = pg_backend_pid(), expires_at = now() + make_interval(secs => $4)
         WHERE id = 1 AND term = $1 RETURNING ${LEASE_COLUMNS}`,
        [o.keepTerm.toString(), o.holder, o.url, o.ttlMs / 1000],
      )
      if (kept.rows[0]) return { acquired: true, lease: toLease(kept.rows[0]) }
    }
    // The share lock every block commit takes on this row makes this wait for a commit in
    // flight: once it returns, every block of the terms before is in the database.
    const { rows } = await this.query<LeaseDbRow>(
      `UPDATE sequencer_lease SET term = term + 1, holder = $1, url = $2, backend_pid = pg_backend_pid(), acquired_at = now(),
         expires_at = now() + make_interval(secs => $3)
       WHERE id = 1 RETURNING ${LEASE_COLUMNS}`,
      [o.holder, o.url, o.ttlMs / 1000],
    )
    return { acquired: true, lease: toLease(rows[0]) }
  }

  /** Extends the lease (and sets its URL); false if the term moved on: the lease is someone else's now. */
  async renew(term: bigint, ttlMs: number, url: string | null): Promise<boolean> {
    const { rowCount } = await this.query('UPDATE sequencer_lease SET expires_at = now() + make_interval(secs => $2), url = $3 WHERE id = 1 AND term = $1', [
      term.toString(),
      ttlMs / 1000,
      url,
    ])
    return rowCount === 1
  }

  async read(): Promise<LeaseRow> {
    const { rows } = await this.query<LeaseDbRow>(`SELECT ${LEASE_COLUMNS} FROM sequencer_lease WHERE id = 1`)
    if (!rows[0]) throw new SinewError({ code: 'integrity', message: `The store at ${this.location} has no sequencer lease row` })
    return toLease(rows[0])
  }

  /**
   * Ends the session that holds the lock when its lease has run out (a holder that hangs but
   * whose connection lives): its lock goes, and the term raise of the next holder fences it.
   * True if one was ended.
   */
  async endExpiredHolder(): Promise<boolean> {
    const { rows } = await this.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(l.pid) AS ended FROM pg_locks l, sequencer_lease s
       WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND s.id = 1 AND s.expires_at < now() AND l.pid <> pg_backend_pid()`,
      [SEQUENCER_LOCK],
    )
    return rows.some((r) => r.ended)
  }

  /** Gives the lease up (a clean stop): the next standby takes it without waiting for the expiry. */
  async release(term: bigint): Promise<void> {
    if (this.broken) return
    await this.query('UPDATE sequencer_lease SET holder = NULL, url = NULL, backend_pid = NULL, expires_at = now() WHERE id = 1 AND term = $1', [
      term.toString(),
    ])
    if (this.holding) await this.query('SELECT pg_advisory_unlock($1)', [SEQUENCER_LOCK])
    this.holding = false
  }

  async close(): Promise<void> {
    this.holding = false
    await this.client.end().catch(() => {})
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.lost) throw unreachable(this.location, this.lost)
    try {
      return await this.client.query<R>(sql, params)
    } catch (e) {
      if ((e as { code?: string }).code === undefined || /^(08|57P)/.test(String((e as { code?: string }).code))) {
        this.lost ??= e as Error
        this.holding = false
      }
      throw unreachable(this.location, e)
    }
  }
}

/** The message of a lease someone else holds, for refusals and status. */
export function leaseHeldError(location: string, lease: LeaseRow): SinewError {
  return new SinewError({
    code: 'sequencer_lease_held',
    message: `Another node is the sequencer of ${location}: ${lease.holder ?? 'a node'}${lease.url ? ` at ${lease.url}` : ''} (term ${lease.term}${lease.acquiredAt ? `, since ${lease.acquiredAt}` : ''})`,
    details: { holder: lease.holder, url: lease.url, term: lease.term.toString(), since: lease.acquiredAt, store: location },
    hint: 'Run one sequencer per database: start this node with --failover to stand by (it serves, forwards writes, and takes over if the sequencer goes), or stop the other one first.',
  })
}

function unreachable(location: string, e: unknown): SinewError {
  return new SinewError({
    code: 'store_unreachable',
    message: `PostgreSQL at ${location} does not answer the sequencer lease: ${(e as Error)?.message ?? e}`,
    details: { url: location, reason: String((e as { code?: string })?.code ?? (e as Error)?.message), retryAfterS: 2 },
    hint: 'Writes resume by themselves once the database answers again: retry after Retry-After.',
    cause: e,
  })
}
