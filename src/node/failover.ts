/**
 * Sequencer failover among the nodes that share one PostgreSQL database (docs/scaling.md,
 * "Failover"). Every such node with the sequencer key runs one of these:
 *
 * - **standby**: every `pollMs` it asks for the lease (src/store/sequencer-lease.ts) and
 *   tails the database, applying each block the sequencer committed to its own chain, so
 *   it serves reads; its HTTP layer forwards writes, model calls and MCP to the lease's URL.
 *   When the lease comes free (the holder died: PostgreSQL dropped its lock with its session;
 *   or its renewals ran out: its lock session is ended) it takes it: raises the term (which
 *   waits for a commit in flight), applies every block still missing, fences its store with
 *   the new term and becomes the sequencer.
 * - **sequencer**: renews the lease every `ttlMs / 4`. If its lock session breaks it takes
 *   the lease back under the same term if nobody else took it; otherwise, or when a commit
 *   is fenced (the term moved on) or fails, it steps down and stands by again.
 *
 * Safety does not rest on timing: a block is committed only in a transaction that finds
 * this node's term in the lease row, and a new holder raises the term before it loads the
 * head, so two nodes never both extend the chain.
 */
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { isSinewError, SinewError, type Logger } from '../core/index.ts'
import type { LedgerNode } from '../ledger/index.ts'
import { leaseHeldError, SequencerLeaseSession, type LeaseRow, type PostgresStore } from '../store/index.ts'

export type FailoverOptions = {
  node: LedgerNode
  store: PostgresStore
  /** Refuse to start (`sequencer_lease_held`) rather than stand by when another node holds the lease. */
  demand: boolean
  /** How long a lease lasts without renewal (database clock). */
  ttlMs: number
  /** How often a standby asks for the lease and tails the database. */
  pollMs: number
  log: Logger
}

export type FailoverStatus = {
  role: 'sequencer' | 'standby'
  /** This node's name in the lease. */
  name: string
  /** The lease as this node last saw it. */
  lease: { term: string; holder: string | null; url: string | null; since: string | null } | null
  /** While sequencer: the head it took over at, and when. */
  takeover: { height: string; at: string } | null
  takeovers: number
  lastError: string | null
}

export class Failover {
  readonly name = `${hostname()} pid ${process.pid} ${randomBytes(3).toString('hex')}`
  private session: SequencerLeaseSession | undefined
  /** The term this node holds while it is the sequencer. */
  private term: bigint | undefined
  private lease: LeaseRow | undefined
  private url: string | null = null
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private loop: Promise<void> | undefined
  private lastRenew = 0
  private lastError: SinewError | undefined
  private takeover: FailoverStatus['takeover'] = null
  private takeovers = 0
  private tailing: Promise<void> | undefined
  private tailAgain: Promise<void> | undefined

  constructor(private readonly o: FailoverOptions) {}

  get isSequencer(): boolean {
    return this.term !== undefined
  }

  /**
   * The first round, before the node serves: takes the lease if it is free, else stands by,
   * or (with `demand`) refuses with `sequencer_lease_held`, naming the holder.
   */
  async begin(): Promise<void> {
    this.session = await SequencerLeaseSession.open(this.o.store)
    const got = await this.session.tryAcquire({ holder: this.name, url: null, ttlMs: this.o.ttlMs })
    if (!got.acquired) {
      this.lease = got.lease
      if (this.o.demand) throw leaseHeldError(this.o.store.location, got.lease)
      this.o.log.info({ holder: got.lease.holder, url: got.lease.url, term: got.lease.term.toString() }, 'standing by: another node is the sequencer')
      return
    }
    await this.becomeSequencer(got.lease)
  }

  /**
   * Starts the rounds, the node now serving at `url` (written into the lease for the others to
   * forward to; null while not yet known: serving workers still starting, see `advertise`).
   */
  start(url: string | null): void {
    this.url = url
    this.lastRenew = 0
    this.schedule(0)
  }

  /** The URL to write into the lease from now on (at the next round: a held lease is renewed with it at once). */
  advertise(url: string): void {
    this.url = url
    this.lastRenew = 0
  }

  /** Where a standby sends what it does not serve: the sequencer's URL, or why there is none now. */
  target(): { url: string } | SinewError {
    if (this.lease?.url && this.lease.holder && this.lease.holder !== this.name) return { url: this.lease.url }
    if (this.lastError?.code === 'store_unreachable') return this.lastError
    return new SinewError({
      code: 'sequencer_unavailable',
      message: 'No node is the sequencer right now: a takeover is under way',
      details: { retryAfterS: 1 },
      hint: 'Retry shortly: a standby takes the lease within a second or two.',
    })
  }

  /** Resolves once this node's chain has every block committed before the call (a standby's read-your-writes). */
  catchUp(): Promise<void> {
    if (!this.tailing) {
      this.tailing = this.tail().finally(() => (this.tailing = undefined))
      return this.tailing
    }
    this.tailAgain ??= this.tailing
      .catch(() => {})
      .then(() => {
        this.tailAgain = undefined
        return this.catchUp()
      })
    return this.tailAgain
  }

  status(): FailoverStatus {
    const l = this.lease
    return {
      role: this.isSequencer ? 'sequencer' : 'standby',
      name: this.name,
      lease: l ? { term: l.term.toString(), holder: l.holder, url: l.url, since: l.acquiredAt } : null,
      takeover: this.takeover,
      takeovers: this.takeovers,
      lastError: this.lastError?.shortMessage ?? null,
    }
  }

  /** A commit failed while sequencer (fenced, or the store lost): steps down; the rounds decide what follows. */
  lost(error: unknown): void {
    if (!this.isSequencer) return
    const e = isSinewError(error) ? error : new SinewError({ code: 'commit_failed', message: String((error as Error)?.message ?? error), cause: error })
    void this.stepDown(e).then(() => this.session?.release(this.lease?.term ?? -1n).catch(() => {}))
  }

  /** Stops the rounds and gives the lease up if held (the next standby takes it at once). */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.loop
    const term = this.term
    if (term !== undefined) {
      await this.o.node.demote(new SinewError({ code: 'shutting_down', message: 'The node is shutting down', hint: 'Retry against a running node.' }))
      this.term = undefined
      await this.session?.release(term).catch(() => {})
    }
    await this.session?.close()
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.loop = this.round()
        .catch((e) => this.failed(e))
        .finally(() => this.schedule(this.o.pollMs))
    }, ms)
  }

  private failed(e: unknown): void {
    const error = isSinewError(e) ? e : new SinewError({ code: 'internal', message: String((e as Error)?.message ?? e), cause: e })
    if (this.lastError?.shortMessage !== error.shortMessage) this.o.log.warn({ err: error.shortMessage }, 'sequencer lease round failed')
    this.lastError = error
  }

  private async round(): Promise<void> {
    if (!this.session || this.session.broken) {
      await this.session?.close()
      this.session = undefined
      this.session = await SequencerLeaseSession.open(this.o.store)
    }
    const session = this.session
    if (this.term !== undefined) await this.holdOn(session, this.term)
    else await this.standBy(session)
    this.lastError = undefined
  }

  /** As sequencer: renew, or take the lease back under the same term after a broken session. */
  private async holdOn(session: SequencerLeaseSession, term: bigint): Promise<void> {
    if (!session.holdsLock) {
      const got = await session.tryAcquire({ holder: this.name, url: this.url, ttlMs: this.o.ttlMs, keepTerm: term })
      this.lease = got.lease
      if (got.acquired && got.lease.term === term) {
        this.lastRenew = Date.now()
        return
      }
      await this.stepDown(fencedError(term, got.lease))
      if (got.acquired) await this.becomeSequencer(got.lease)
      return
    }
    if (Date.now() - this.lastRenew < this.o.ttlMs / 4) return
    if (await session.renew(term, this.o.ttlMs, this.url)) {
      this.lastRenew = Date.now()
      this.lease = { ...this.lease!, url: this.url }
      return
    }
    await this.stepDown(fencedError(term, await session.read()))
  }

  /** As standby: follow the chain; take the lease when it is free (or end a holder whose lease ran out). */
  private async standBy(session: SequencerLeaseSession): Promise<void> {
    const got = await session.tryAcquire({ holder: this.name, url: this.url, ttlMs: this.o.ttlMs })
    if (got.acquired) return this.becomeSequencer(got.lease)
    this.lease = got.lease
    if (got.lease.expired && (await session.endExpiredHolder()))
      this.o.log.warn({ holder: got.lease.holder, term: got.lease.term.toString() }, 'the sequencer lease ran out: ended its holder session')
    await this.catchUp()
  }

  /** The lease is ours under `lease.term` (raised, so no block of an older term can still come): load the rest, then sequence. */
  private async becomeSequencer(lease: LeaseRow): Promise<void> {
    const started = performance.now()
    this.lease = lease
    this.o.store.fence(lease.term)
    await this.catchUp()
    this.term = lease.term
    this.lastRenew = Date.now()
    this.o.node.promote()
    const height = this.o.node.chain.head.height
    this.takeover = { height: height.toString(), at: new Date().toISOString() }
    this.takeovers++
    this.o.log.warn({ term: lease.term.toString(), height: height.toString(), ms: Math.round(performance.now() - started) }, 'this node is the sequencer now')
  }

  private async stepDown(error: SinewError): Promise<void> {
    if (this.term === undefined) return
    this.term = undefined
    this.takeover = null
    this.o.log.warn({ err: error.shortMessage }, 'stepping down as sequencer; standing by')
    await this.o.node.demote(error)
  }

  /** Applies the blocks the database has beyond this node's head (none while it is the sequencer: it makes them). */
  private async tail(): Promise<void> {
    const { node, store } = this.o
    for (;;) {
      if (node.sequencer) return
      const blocks = await store.listBlocks(node.chain.head.height + 1n, 200)
      if (blocks.length === 0) return
      for (const block of blocks) {
        if (node.sequencer || block.height !== node.chain.head.height + 1n) return
        await node.chain.applyStored(block, await store.getBlockTxs(block.height))
      }
    }
  }
}

const fencedError = (term: bigint, lease: LeaseRow): SinewError =>
  new SinewError({
    code: 'sequencer_fenced',
    message: `This node's sequencer lease (term ${term}) was taken over by ${lease.holder ?? 'another node'} (term ${lease.term})`,
    details: { term: term.toString(), currentTerm: lease.term.toString(), holder: lease.holder, retryAfterS: 1 },
    hint: 'Retry the tx: any node forwards it to the new sequencer.',
  })
