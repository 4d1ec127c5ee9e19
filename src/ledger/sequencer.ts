/**
 * The sequencer: queues verified txs and cuts blocks every `blockIntervalMs`, or at once
 * when `maxBlockTxs` are waiting (group commit: one durable write for the whole block).
 * A submission resolves only after its block is on disk, with its height, or with the
 * reason it was refused; nothing is acknowledged earlier.
 *
 * A block the store refuses because its disk is full or unwritable (a storage fault) is
 * not a reason to stop: its txs are refused with that error, nothing of it is kept (the
 * chain rolls its state back), and the node goes on serving reads. Every later block is
 * tried as it comes, and while the fault lasts a small probe write runs every
 * `storageProbeMs`, so `storageFault` clears (and the gateway takes paid calls again) as
 * soon as the disk takes writes. Any other commit failure stops the node (`onFatal`).
 */
import { SinewError, type Clock, type Hex, type Logger } from '../core/index.ts'
import { isStorageFault, type StorageFaultCode } from '../store/index.ts'
import { isFenced, type Chain, type ProducedBlock } from './chain.ts'
import type { Receipt, SignedTx } from './tx.ts'

export type TxAck = { hash: Hex; height: bigint; index: number; receipt: Receipt }
export type TxOutcome = { ok: true; ack: TxAck } | { ok: false; error: SinewError }

type Pending = { tx: SignedTx; resolve: (o: TxOutcome) => void }

export type SequencerOptions = {
  sequencerKey: Hex
  blockIntervalMs: number
  maxBlockTxs: number
  log: Logger
  /** A block's timestamp is this clock's time (or its parent's, if later). */
  clock: Clock
  /** Called after each committed block (for subscribers, metrics). */
  onBlock?: (block: ProducedBlock) => void
  /** Called when a block cannot be committed for a reason other than a storage fault: the node must stop. */
  onFatal?: (error: unknown) => void
  /** While a storage fault lasts, how often to probe whether the store takes writes again (default 1000 ms). */
  storageProbeMs?: number
}

/** Why this node refuses writes now: its disk is full or unwritable (see the file comment). */
export type StorageFaultStatus = { code: StorageFaultCode; message: string; since: string; refusedTxs: number }

export class Sequencer {
  private queue: Pending[] = []
  /** The batch being executed and committed (out of `queue`, not yet in a block). */
  private batch: Pending[] = []
  private readonly queuedHashes = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private producing = false
  private stopped = false
  private idleWaiters: (() => void)[] = []
  private fault: { error: SinewError & { code: StorageFaultCode }; since: Date; refused: number; probe?: NodeJS.Timeout } | undefined

  constructor(
    private readonly chain: Chain,
    private readonly options: SequencerOptions,
  ) {}

  get pending(): number {
    return this.queue.length
  }

  /** Every tx waiting for a block or in the block being committed, in order. */
  pendingTxs(): SignedTx[] {
    return [...this.batch, ...this.queue].map((p) => p.tx)
  }

  /** The storage fault that makes the store refuse blocks now, if any. */
  get storageFault(): StorageFaultStatus | undefined {
    const f = this.fault
    return f && { code: f.error.code, message: f.error.shortMessage, since: f.since.toISOString(), refusedTxs: f.refused }
  }

  /** Queues txs (already decoded and signature-checked); each promise settles at commit or refusal. */
  submit(txs: readonly SignedTx[]): Promise<TxOutcome>[] {
    return txs.map((tx) => {
      if (this.stopped)
        return Promise.resolve({
          ok: false as const,
          error: new SinewError({ code: 'shutting_down', message: 'The node is shutting down', hint: 'Retry against a running node.' }),
        })
      if (this.queuedHashes.has(tx.hash)) {
        return Promise.resolve({
          ok: false as const,
          error: new SinewError({ code: 'tx_pending', message: `Tx ${tx.hash} is already waiting for a block`, details: { txHash: tx.hash } }),
        })
      }
      this.queuedHashes.add(tx.hash)
      return new Promise<TxOutcome>((resolve) => {
        this.queue.push({ tx, resolve })
        this.schedule()
      })
    })
  }

  /** Stops accepting txs and waits until every queued tx is in a block. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.fault?.probe) clearTimeout(this.fault.probe)
    if (this.queue.length === 0 && !this.producing) return
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve)
      this.schedule(true)
    })
  }

  /**
   * Stops sequencing at once: every queued tx is refused with `error` (a block being
   * committed settles as it does). This node stepping down from the sequencer lease.
   */
  halt(error: SinewError): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.fault?.probe) clearTimeout(this.fault.probe)
    const queued = this.queue.splice(0)
    for (const p of queued) {
      this.queuedHashes.delete(p.tx.hash)
      p.resolve({ ok: false, error })
    }
    if (!this.producing) this.notifyIdle()
  }

  private schedule(now = false): void {
    if (this.producing) return
    if (now || this.queue.length >= this.options.maxBlockTxs) {
      if (this.timer) clearTimeout(this.timer)
      this.timer = undefined
      setImmediate(() => void this.cut())
      return
    }
    if (!this.timer && this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        void this.cut()
      }, this.options.blockIntervalMs)
    }
  }

  private async cut(): Promise<void> {
    if (this.producing) return
    if (this.queue.length === 0) {
      this.notifyIdle()
      return
    }
    this.producing = true
    const batch = this.queue.splice(0, this.options.maxBlockTxs)
    this.batch = batch
    try {
      const produced = await this.chain.produceBlock(
        batch.map((p) => p.tx),
        this.options.sequencerKey,
        this.options.clock(),
      )
      const { execution, header } = produced
      const byHash = new Map(batch.map((p) => [p.tx.hash, p]))
      for (const { tx, receipt } of execution.included) {
        byHash.get(tx.hash)!.resolve({ ok: true, ack: { hash: tx.hash, height: header.height, index: receipt.index, receipt } })
      }
      for (const { tx, error } of execution.rejected) byHash.get(tx.hash)!.resolve({ ok: false, error })
      if (execution.included.length > 0) {
        this.options.log.debug({ height: header.height.toString(), txs: header.txCount, rejected: execution.rejected.length }, 'block committed')
        this.writesResumed(`block ${header.height}`)
        this.options.onBlock?.(produced)
      }
    } catch (e) {
      if (isStorageFault(e)) {
        // Nothing of the block was kept: refuse its txs with the reason and carry on.
        for (const p of batch) p.resolve({ ok: false, error: e })
        this.writesRefused(e, batch.length)
        return
      }
      // The block could not be made durable (or this node lost the sequencer lease: fenced):
      // nothing in it is acknowledged, and the in-memory state was rolled back by the chain.
      // Refuse the batch and whatever waits, and stop.
      const error = isFenced(e)
        ? (e as SinewError)
        : new SinewError({ code: 'commit_failed', message: 'The block could not be committed', cause: e, hint: 'The node is stopping; retry later.' })
      for (const p of batch) p.resolve({ ok: false, error })
      this.halt(error)
      if (isFenced(e)) this.options.log.warn({ err: e }, 'sequencer fenced: another node holds the lease')
      else this.options.log.fatal({ err: e }, 'block commit failed')
      this.options.onFatal?.(e)
    } finally {
      for (const p of batch) this.queuedHashes.delete(p.tx.hash)
      this.batch = []
      this.producing = false
      if (this.queue.length > 0) this.schedule(this.stopped)
      else this.notifyIdle()
    }
  }

  private writesRefused(error: SinewError & { code: StorageFaultCode }, txs: number): void {
    if (this.fault) {
      this.fault.error = error
      this.fault.refused += txs
      return
    }
    this.fault = { error, since: new Date(), refused: txs }
    this.options.log.error({ err: error, code: error.code }, 'the store refuses writes: txs are refused, reads go on')
    this.probeLater()
  }

  private writesResumed(by: string): void {
    const f = this.fault
    if (!f) return
    if (f.probe) clearTimeout(f.probe)
    this.fault = undefined
    this.options.log.warn({ by, refusedTxs: f.refused, ms: Date.now() - f.since.getTime() }, 'the store takes writes again')
  }

  /** While the fault lasts and no block comes to try, a probe write every storageProbeMs finds when it ends. */
  private probeLater(): void {
    const f = this.fault
    if (!f || this.stopped || !this.chain.store) return
    const store = this.chain.store
    f.probe = setTimeout(() => {
      f.probe = undefined
      if (this.fault !== f) return
      store.checkWritable().then(
        () => this.writesResumed('probe'),
        () => this.probeLater(),
      )
    }, this.options.storageProbeMs ?? 1000)
    f.probe.unref()
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}
