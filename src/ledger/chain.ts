/**
 * The chain: committed state, head, and the store behind them. Two ways to grow it:
 *   - `produceBlock`: the sequencer executes pending txs and signs a new block;
 *   - `applyBlock`: a replica or a verifier re-executes someone else's block and accepts it
 *     only if every root, hash and signature matches its own result.
 * Without a store (`Chain.inMemory`) it is a scratch replay, as `sinew verify` uses.
 */
import { fromHex, isSinewError, SinewError, toHex, type Hex } from '../core/index.ts'
import { isStorageFault, type Store, type TxRow } from '../store/index.ts'
import type { Address } from './address.ts'
import { executeTxs, type Execution } from './execute.ts'
import { genesisHash, genesisToJson, genesisWrites, parseGenesis, PARAMS_KEY, type Genesis, type ProtocolParams } from './genesis.ts'
import { headerHash, type BlockHeader, type SignedHeader } from './header.ts'
import type { TxKindRegistry } from './kinds.ts'
import { ZERO_HASH } from './merkle/index.ts'
import { recoverSigner, signDigest } from './signing/index.ts'
import { CommittedState } from './state.ts'
import { storedDelegator, TxCodec, txHash, type DecodedTx, type SignedTx } from './tx.ts'

/** A commit refused because this node lost the sequencer lease: nothing of the block was kept. */
export const isFenced = (e: unknown): boolean => isSinewError(e) && e.code === 'sequencer_fenced'
/** The store could not make the block durable (it may hold it, not acknowledged): never kept, the node stops. */
const isCommitFailure = (e: unknown): boolean => isSinewError(e) && e.code === 'commit_failed'

export const ZERO_ROOT = toHex(ZERO_HASH)

/** A block that does not match what re-execution gives; names the block and the field. */
export class BlockMismatchError extends SinewError {
  override name = 'BlockMismatchError'
  readonly height: bigint
  readonly field: string
  constructor(o: { height: bigint; field: string; expected: unknown; actual: unknown; details?: Record<string, unknown> }) {
    super({
      code: 'block_mismatch',
      message: `Block ${o.height}: ${o.field} does not match re-execution`,
      details: { height: o.height.toString(), field: o.field, expected: String(o.expected), actual: String(o.actual), ...o.details },
    })
    this.height = o.height
    this.field = o.field
  }
}

export type ProducedBlock = { header: SignedHeader; execution: Execution }

/** A block now durable and applied to the in-memory state: its header, txs and state writes. */
export type CommittedBlock = { header: SignedHeader; txs: readonly SignedTx[]; writes: ReadonlyMap<string, Uint8Array | null> }

export class Chain {
  readonly codec: TxCodec
  readonly genesisHash: Hex
  readonly params: ProtocolParams
  private _head: SignedHeader
  private readonly commitListeners = new Set<(block: CommittedBlock) => void>()

  private constructor(
    readonly genesis: Genesis,
    readonly registry: TxKindRegistry,
    readonly state: CommittedState,
    head: SignedHeader,
    readonly store: Store | undefined,
  ) {
    this.codec = new TxCodec(registry, genesis.chainId)
    this.genesisHash = genesisHash(genesis)
    this.params = JSON.parse(Buffer.from(state.get(PARAMS_KEY) ?? new Uint8Array()).toString('utf8') || 'null') ?? genesis.params
    this._head = head
  }

  get head(): SignedHeader {
    return this._head
  }

  /**
   * Calls `listener` after each block is committed (produced here or applied from a
   * leader), with its writes: derived indexes (say, which blobs the state refers to) follow
   * the state block by block instead of scanning it. A listener must not throw. Returns
   * the unsubscribe function.
   */
  onCommit(listener: (block: CommittedBlock) => void): () => void {
    this.commitListeners.add(listener)
    return () => this.commitListeners.delete(listener)
  }

  private committed(header: SignedHeader, execution: Execution): void {
    const block: CommittedBlock = { header, txs: execution.included.map((i) => i.tx), writes: execution.writes }
    for (const listener of this.commitListeners) listener(block)
  }

  /** A store-less chain at block 0, for replaying blocks from elsewhere. */
  static inMemory(genesis: Genesis, registry: TxKindRegistry): Chain {
    const state = new CommittedState()
    state.apply(genesisWrites(genesis))
    return new Chain(genesis, registry, state, genesisHeader(genesis, state.root()), undefined)
  }

  /**
   * Opens the chain in `store`. An empty store is initialised from `genesis`; a non-empty
   * one must hold the same genesis. The state is loaded into memory and checked against
   * the head's stateRoot, so a hand-edited state table is caught at start-up.
   */
  static async open(store: Store, registry: TxKindRegistry, genesis?: Genesis): Promise<Chain> {
    const storedJson = await store.getMeta('genesis')
    if (storedJson === undefined) {
      if (!genesis)
        throw new SinewError({
          code: 'no_genesis',
          message: `The store at ${store.location} is empty and no genesis was given`,
          hint: 'Run `sinew init` first.',
        })
      const chain = Chain.inMemory(genesis, registry)
      await store.putMeta('genesis', JSON.stringify(genesisToJson(genesis)))
      await store.commitBlock({ block: chain.head, txs: [], writes: genesisWrites(genesis) })
      return new Chain(genesis, registry, chain.state, chain.head, store)
    }
    const stored = parseGenesis(JSON.parse(storedJson))
    if (genesis && genesisHash(genesis) !== genesisHash(stored)) {
      throw new SinewError({
        code: 'genesis_mismatch',
        message: 'The given genesis differs from the one this store was made with',
        details: { store: genesisHash(stored), given: genesisHash(genesis) },
        hint: 'Use a new data dir for another chain.',
      })
    }
    const head = await store.head()
    if (!head) throw new SinewError({ code: 'integrity', message: `The store at ${store.location} has a genesis but no block 0` })
    const state = new CommittedState()
    const writes = new Map<string, Uint8Array>()
    for await (const row of store.scanState()) writes.set(row.key, row.value)
    state.apply(writes)
    // Another node of a shared store (a sequencer, while this one starts as its standby) may
    // have committed blocks during the scan: the keys they wrote go back to their values as
    // of `head`, from the state history.
    if (toHex(state.root()) !== head.stateRoot) {
      const rewind = new Map<string, Uint8Array | null>()
      for (const key of await store.keysWrittenBetween(head.height, 2n ** 63n - 1n)) rewind.set(key, await store.getStateAt(key, head.height))
      if (rewind.size > 0) state.apply(rewind)
    }
    if (toHex(state.root()) !== head.stateRoot) {
      throw new SinewError({
        code: 'integrity',
        message: `The stored state does not match block ${head.height}'s stateRoot`,
        details: { height: head.height.toString(), stateRoot: head.stateRoot, computed: toHex(state.root()) },
        hint: 'The store was changed outside the node. Run `sinew verify` to find the block.',
      })
    }
    return new Chain(stored, registry, state, head, store)
  }

  /** Executes `txs` as the next block, signs it with the sequencer key and commits it durably. */
  async produceBlock(txs: readonly SignedTx[], sequencerKey: Hex, now: bigint): Promise<ProducedBlock> {
    const height = this._head.height + 1n
    const timestamp = now > this._head.timestamp ? now : this._head.timestamp
    const execution = executeTxs(this.state, txs, { height, timestamp, params: this.params, sequencer: this.genesis.sequencer, chainId: this.genesis.chainId })
    if (execution.included.length === 0) return { header: this._head, execution }
    const undo = this.state.apply(execution.writes)
    const header: BlockHeader = {
      height,
      parentHash: this._head.hash,
      timestamp,
      txRoot: execution.txRoot,
      stateRoot: toHex(this.state.root()),
      receiptsRoot: execution.receiptsRoot,
      txCount: execution.included.length,
      proposer: this.genesis.sequencer,
    }
    const hash = headerHash(header)
    const signed: SignedHeader = { ...header, hash, signature: signDigest(sequencerKey, fromHex(hash)) }
    try {
      await this.store?.commitBlock({ block: signed, txs: txRows(height, execution), writes: execution.writes })
    } catch (e) {
      // A commit that reports failure may still have happened (an engine that lost its
      // answer, not its write): the store says which. Then the block stands. A storage
      // fault kept nothing (the Store contract); whatever else, the state goes back unless
      // the block is known to be in the store.
      let kept = false
      try {
        // commit_failed: the store wrote it but could not make it durable (a failed fsync).
        kept = !isStorageFault(e) && !isFenced(e) && !isCommitFailure(e) && (await this.committedAnyway(signed, e))
      } finally {
        if (!kept) this.state.apply(undo)
      }
      if (!kept) throw e
    }
    this._head = signed
    this.committed(signed, execution)
    return { header: signed, execution }
  }

  /**
   * After a failed commit of `block`: true if the store holds it all the same. A store that
   * cannot be read then, or holds another block at that height, is `integrity` trouble.
   */
  private async committedAnyway(block: SignedHeader, failure: unknown): Promise<boolean> {
    let stored
    try {
      stored = await this.store?.getBlock(block.height)
    } catch {
      throw failure
    }
    if (!stored) return false
    if (stored.hash === block.hash) return true
    throw new SinewError({
      code: 'integrity',
      message: `Block ${block.height} failed to commit, yet the store holds another block at that height`,
      details: { height: block.height.toString(), produced: block.hash, stored: stored.hash },
      cause: failure,
    })
  }

  /**
   * Takes a block another node of this store (the sequencer, with a lease: src/node/failover.ts)
   * has committed: re-executed and checked like `applyBlock`, not written again. The stored
   * senders are trusted as the stored state is at start-up (each tx hash is checked against
   * them); `sinew verify` re-checks every signature.
   */
  async applyStored(header: SignedHeader, rows: readonly TxRow[]): Promise<Execution> {
    const txs = rows.map((row, i) =>
      this.checkSender(this.decodeRow({ ...row, delegator: storedDelegator(row.receipt) }, header.height, i), row.sender, row, header.height, i),
    )
    return this.applyBlock(header, txs, { stored: true })
  }

  /** Re-executes a block made elsewhere; refuses it (state untouched) unless everything matches. */
  async applyBlock(header: SignedHeader, txs: readonly SignedTx[], o: { stored?: boolean } = {}): Promise<Execution> {
    const height = this._head.height + 1n
    const fail = (field: string, expected: unknown, actual: unknown, extra?: Record<string, unknown>): never => {
      throw new BlockMismatchError({ height: header.height, field, expected, actual, details: extra })
    }
    if (header.height !== height) fail('height', height, header.height)
    if (header.parentHash !== this._head.hash) fail('parentHash', this._head.hash, header.parentHash)
    if (header.timestamp < this._head.timestamp) fail('timestamp', `>= ${this._head.timestamp}`, header.timestamp)
    if (header.proposer !== this.genesis.sequencer) fail('proposer', this.genesis.sequencer, header.proposer)
    const hash = headerHash(header)
    if (hash !== header.hash) fail('hash', hash, header.hash)
    let signer: Address | undefined
    try {
      signer = recoverSigner(fromHex(hash), fromHex(header.signature))
    } catch {
      signer = undefined
    }
    if (signer !== this.genesis.sequencer) fail('signature', `by ${this.genesis.sequencer}`, signer ?? 'invalid')
    if (header.txCount !== txs.length) fail('txCount', txs.length, header.txCount)
    const execution = executeTxs(this.state, txs, {
      height,
      timestamp: header.timestamp,
      params: this.params,
      sequencer: this.genesis.sequencer,
      chainId: this.genesis.chainId,
    })
    if (execution.rejected.length > 0) {
      const r = execution.rejected[0]
      fail(`txs[${txs.indexOf(r.tx)}]`, 'a valid tx', `${r.error.code}: ${r.error.shortMessage}`, { txHash: r.tx.hash })
    }
    if (execution.txRoot !== header.txRoot) fail('txRoot', execution.txRoot, header.txRoot)
    if (execution.receiptsRoot !== header.receiptsRoot) fail('receiptsRoot', execution.receiptsRoot, header.receiptsRoot)
    const undo = this.state.apply(execution.writes)
    const stateRoot = toHex(this.state.root())
    if (stateRoot !== header.stateRoot) {
      this.state.apply(undo)
      fail('stateRoot', stateRoot, header.stateRoot)
    }
    try {
      if (!o.stored) await this.store?.commitBlock({ block: header, txs: txRows(height, execution), writes: execution.writes })
    } catch (e) {
      this.state.apply(undo)
      throw e
    }
    this._head = header
    this.committed(header, execution)
    return execution
  }

  /**
   * Takes a block that another process of this node (its writer) has already executed,
   * checked and durably committed: its header and state writes, nothing re-executed. A
   * serving worker's view of the chain grows this way, block by block and in order.
   */
  followCommitted(header: SignedHeader, writes: ReadonlyMap<string, Uint8Array | null>): void {
    if (header.height <= this._head.height) return
    if (header.height !== this._head.height + 1n || header.parentHash !== this._head.hash)
      throw new SinewError({
        code: 'integrity',
        message: `Block ${header.height} does not follow this view's head ${this._head.height}`,
        details: { height: header.height.toString(), head: this._head.height.toString() },
      })
    this.state.apply(writes)
    this._head = header
    const block: CommittedBlock = { header, txs: [], writes }
    for (const listener of this.commitListeners) listener(block)
  }

  /** Decodes a stored or fetched tx; its sender and hash are checked by `checkSender` after recovery. */
  decodeRow(row: Pick<TxRow, 'hash' | 'type' | 'message' | 'signature'> & { delegator?: string }, height: bigint, index: number): DecodedTx {
    let tx: DecodedTx
    try {
      tx = this.codec.decode({
        type: row.type,
        message: JSON.parse(row.message),
        signature: row.signature,
        ...(row.delegator !== undefined ? { delegator: row.delegator } : {}),
      })
    } catch (e) {
      throw new BlockMismatchError({
        height,
        field: `txs[${index}]`,
        expected: 'a decodable signed tx',
        actual: (e as SinewError).shortMessage ?? String(e),
        details: { txHash: row.hash },
      })
    }
    return tx
  }

  /** The recovered sender and the tx hash must be the ones stored (or served) with the tx. */
  checkSender(tx: DecodedTx, recovered: Address | Error, claimed: { sender: Address; hash: Hex }, height: bigint, index: number): SignedTx {
    if (recovered instanceof Error)
      throw new BlockMismatchError({
        height,
        field: `txs[${index}].signature`,
        expected: 'a valid signature',
        actual: recovered.message,
        details: { txHash: claimed.hash },
      })
    const hash = txHash(tx.digest, recovered)
    if (hash !== claimed.hash) throw new BlockMismatchError({ height, field: `txs[${index}].hash`, expected: hash, actual: claimed.hash })
    if (recovered !== claimed.sender)
      throw new BlockMismatchError({
        height,
        field: `txs[${index}].sender`,
        expected: recovered,
        actual: claimed.sender,
        details: { txHash: claimed.hash },
      })
    return { ...tx, sender: recovered, hash }
  }
}

export function genesisHeader(genesis: Genesis, stateRoot: Uint8Array): SignedHeader {
  const header: BlockHeader = {
    height: 0n,
    parentHash: genesisHash(genesis),
    timestamp: genesis.timestamp,
    txRoot: ZERO_ROOT,
    stateRoot: toHex(stateRoot),
    receiptsRoot: ZERO_ROOT,
    txCount: 0,
    proposer: genesis.sequencer,
  }
  return { ...header, hash: headerHash(header), signature: '0x' }
}

function txRows(height: bigint, execution: Execution): TxRow[] {
  return execution.included.map(({ tx, receipt, receiptJson }) => ({
    hash: tx.hash,
    height,
    index: receipt.index,
    type: tx.type,
    sender: tx.sender,
    nonce: tx.nonce,
    message: JSON.stringify(tx.wire),
    signature: toHex(tx.signature),
    receipt: receiptJson,
  }))
}
