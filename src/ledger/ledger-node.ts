/**
 * A running ledger: the chain plus the way txs get in. On the sequencer, submissions are
 * decoded, de-duplicated, signature-checked (in a worker pool for batches) and queued for
 * the next block; a replica accepts no submissions and grows only by `applyBlock`.
 */
import { isSinewError, SinewError, systemClock, type Clock, type Hex, type Logger } from '../core/index.ts'
import type { Store } from '../store/index.ts'
import { readAccount, type Account } from './accounts.ts'
import type { Address } from './address.ts'
import { Chain } from './chain.ts'
import type { Genesis } from './genesis.ts'
import type { TxKindRegistry } from './kinds.ts'
import { Sequencer, type TxAck, type TxOutcome } from './sequencer.ts'
import { addressOf, SignatureRecoveryPool } from './signing/index.ts'
import type { DecodedTx, SignedTx } from './tx.ts'

export type LedgerNodeOptions = {
  store: Store
  registry: TxKindRegistry
  /** Needed only to initialise an empty store. */
  genesis?: Genesis
  /** The sequencer's private key; absent on a replica (read-only). */
  sequencerKey?: Hex
  blockIntervalMs: number
  maxBlockTxs: number
  signatureWorkers: number
  log: Logger
  /**
   * This node's admission policy: called with each signed tx before the sequencer queues it;
   * throws to refuse it. Node-local (checks of blobs, limits), never part of execution: a
   * replica applies blocks without it, so the ledger stays a function of its txs.
   */
  admit?: (tx: SignedTx) => void | Promise<void>
  /** Block timestamps and every time-dependent answer (default: the system clock). */
  clock?: Clock
  /** Called once if a block cannot be committed: the sequencer has stopped; whoever runs the node decides what follows. */
  onFatal?: (error: unknown) => void
  /**
   * With the sequencer key: start as a standby (no sequencer) until `promote()`, as a node
   * does that shares its store with others under a sequencer lease (src/node/failover.ts).
   */
  standby?: boolean
}

export class LedgerNode {
  private _sequencer: Sequencer | undefined
  /** Why a standby refuses a submission made to it directly (its HTTP layer forwards them). */
  private standbyError: SinewError | undefined
  private readonly pool: SignatureRecoveryPool

  private constructor(
    readonly chain: Chain,
    private readonly options: LedgerNodeOptions,
  ) {
    this.pool = new SignatureRecoveryPool({ workers: options.sequencerKey ? options.signatureWorkers : 0 })
    if (options.sequencerKey) {
      const address = addressOf(options.sequencerKey)
      if (address !== chain.genesis.sequencer) {
        throw new SinewError({
          code: 'wrong_node_key',
          message: `The node key ${address} is not this chain's sequencer ${chain.genesis.sequencer}`,
          hint: 'Start with the sequencer key, or use --follow to run a replica.',
        })
      }
      if (options.standby) this.standbyError = notSequencerNow()
      else this.promote()
    }
  }

  /** The sequencer, while this node is it. */
  get sequencer(): Sequencer | undefined {
    return this._sequencer
  }

  /** Makes this node the sequencer, from its chain as it is now (a standby that took the lease, caught up first). */
  promote(): void {
    if (this._sequencer || !this.options.sequencerKey) return
    this.standbyError = undefined
    this._sequencer = new Sequencer(this.chain, {
      sequencerKey: this.options.sequencerKey,
      blockIntervalMs: this.options.blockIntervalMs,
      maxBlockTxs: this.options.maxBlockTxs,
      log: this.options.log,
      clock: this.now,
      onFatal: this.options.onFatal,
    })
  }

  /** Stops being the sequencer: queued txs are refused with `error`, a block in flight settles. Resolves once it has. */
  async demote(error: SinewError): Promise<void> {
    const sequencer = this._sequencer
    if (!sequencer) return
    this._sequencer = undefined
    this.standbyError = error
    sequencer.halt(error)
    await sequencer.stop()
  }

  static async open(options: LedgerNodeOptions): Promise<LedgerNode> {
    const chain = await Chain.open(options.store, options.registry, options.genesis)
    return new LedgerNode(chain, options)
  }

  /** The node's time, ms since the epoch: what the next block's timestamp is made from. */
  readonly now: Clock = () => (this.options.clock ?? systemClock)()

  /** No sequencer here now: a replica, or a standby of a sequencer lease. */
  get readOnly(): boolean {
    return this._sequencer === undefined
  }

  /** Has the sequencer key: can become the sequencer (`promote`). */
  get canSequence(): boolean {
    return this.options.sequencerKey !== undefined
  }

  get store(): Store {
    return this.options.store
  }

  /** Submits one wire tx; resolves with its ack once its block is durable. */
  async submit(raw: unknown): Promise<TxAck> {
    const [outcome] = await this.submitBatch([raw], 'tx')
    if (!outcome.ok) throw outcome.error
    return outcome.ack
  }

  /** Submits many; one outcome per item, in order. Items are independent. */
  async submitBatch(raws: readonly unknown[], path = 'txs'): Promise<TxOutcome[]> {
    const sequencer = this.requireSequencer()
    const outcomes: (TxOutcome | undefined)[] = new Array(raws.length)
    const decoded: { i: number; tx: DecodedTx }[] = []
    for (let i = 0; i < raws.length; i++) {
      try {
        decoded.push({ i, tx: this.chain.codec.decode(raws[i], raws.length === 1 && path === 'tx' ? 'tx' : `${path}[${i}]`) })
      } catch (e) {
        outcomes[i] = { ok: false, error: toSinewError(e) }
      }
    }
    const senders = await this.pool.recoverMany(decoded.map(({ tx }) => ({ digest: tx.digest, signature: tx.signature })))
    const ready: { i: number; promise: Promise<TxOutcome> }[] = []
    const signed: SignedTx[] = []
    const slots: number[] = []
    const seen = new Set<string>()
    for (let k = 0; k < decoded.length; k++) {
      const i = decoded[k].i
      try {
        const tx = this.chain.codec.withSender(decoded[k].tx, senders[k])
        if (seen.has(tx.hash))
          throw new SinewError({ code: 'tx_duplicate', message: `Tx ${tx.hash} appears twice in this batch`, details: { txHash: tx.hash, index: i } })
        seen.add(tx.hash)
        // Only a tx whose nonce is already used can be on the ledger: look it up only then,
        // to tell a replay from a nonce reuse, and keep the store off the hot path.
        const existing = tx.nonce < readAccount(this.chain.state, tx.sender).nonce ? await this.options.store.getTx(tx.hash) : undefined
        if (existing) {
          throw new SinewError({
            code: 'tx_already_included',
            message: `Tx ${tx.hash} is already in block ${existing.height}`,
            details: { txHash: tx.hash, height: existing.height.toString() },
            hint: 'A signed tx counts once; sign a new one with the next nonce.',
          })
        }
        const admitted = this.options.admit?.(tx)
        if (admitted) await admitted
        signed.push(tx)
        slots.push(i)
      } catch (e) {
        outcomes[i] = { ok: false, error: toSinewError(e) }
      }
    }
    sequencer.submit(signed).forEach((promise, k) => ready.push({ i: slots[k], promise }))
    for (const { i, promise } of ready) outcomes[i] = await promise
    return outcomes as TxOutcome[]
  }

  account(address: Address): Account {
    return readAccount(this.chain.state, address)
  }

  async close(): Promise<void> {
    await this._sequencer?.stop()
    await this.pool.close()
    await this.options.store.close()
  }

  private requireSequencer(): Sequencer {
    if (!this._sequencer) {
      if (this.standbyError) throw this.standbyError
      throw new SinewError({ code: 'read_only', message: 'This node is a read-only replica', hint: 'Send txs to the sequencer this replica follows.' })
    }
    return this._sequencer
  }
}

const notSequencerNow = (): SinewError =>
  new SinewError({
    code: 'sequencer_unavailable',
    message: 'This node is not the sequencer now (it stands by under a sequencer lease)',
    details: { retryAfterS: 1 },
    hint: 'Retry: its HTTP API forwards writes to the node that holds the lease.',
  })

function toSinewError(e: unknown): SinewError {
  if (isSinewError(e)) return e
  return new SinewError({ code: 'internal', message: (e as Error)?.message ?? String(e), cause: e })
}
