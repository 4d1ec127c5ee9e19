/**
 * The sequencer: queues verified txs and cuts blocks every `blockIntervalMs`, or at once
 * when `maxBlockTxs` are waiting (group commit: one durable write for the whole block).
 * A submission resolves only after its block is on disk, with its height, or with the
 * reason it was refused; nothing is acknowledged earlier.
 */
import { SinewError, type Clock, type Hex, type Logger } from '../core/index.ts'
import type { Chain, ProducedBlock } from './chain.ts'
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
  /** Called when a block cannot be committed: the node must stop. */
  onFatal?: (error: unknown) => void
}

export class Sequencer {
  private queue: Pending[] = []
  /** The batch being executed and committed (out of `queue`, not yet in a block). */
  private batch: Pending[] = []
  private readonly queuedHashes = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private producing = false
  private stopped = false
  private idleWaiters: (() => void)[] = []

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
    if (this.queue.length === 0 && !this.producing) return
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve)
      this.schedule(true)
    })
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
        this.options.onBlock?.(produced)
      }
    } catch (e) {
      // The block could not be made durable: nothing in it is acknowledged, and the
      // in-memory state was rolled back by the chain. Refuse the batch and stop the node.
      for (const p of batch)
        p.resolve({
          ok: false,
          error: new SinewError({ code: 'commit_failed', message: 'The block could not be committed', cause: e, hint: 'The node is stopping; retry later.' }),
        })
      this.stopped = true
      this.options.log.fatal({ err: e }, 'block commit failed')
      this.options.onFatal?.(e)
    } finally {
      for (const p of batch) this.queuedHashes.delete(p.tx.hash)
      this.batch = []
      this.producing = false
    }
    if (this.queue.length > 0) this.schedule(this.stopped)
    else this.notifyIdle()
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}
