/**
 * Replica sync: pulls blocks with their txs from another node's `GET /v1/blocks`,
 * re-executes each one and accepts it only if every root, hash and the sequencer's
 * signature match. A block that does not match halts the replica (it keeps serving what
 * it has verified) and is reported in GET /v1/status and the log. `onBlock` hears of each
 * applied block (the node queues the blobs of its contributions there).
 */
import { SinewError, type Hex, type Logger } from '../core/index.ts'
import { BlockMismatchError, type LedgerNode, type SignedHeader, type SignedTx } from '../ledger/index.ts'
import type { TxRow } from '../store/index.ts'

type BlockWire = {
  height: string
  hash: Hex
  parentHash: Hex
  timestamp: string
  txRoot: Hex
  stateRoot: Hex
  receiptsRoot: Hex
  txCount: number
  proposer: Hex
  signature: Hex
  txs: { hash: Hex; type: string; sender: Hex; message: unknown; signature: Hex; delegator?: Hex }[]
}

export type FollowerStatus = {
  following: string
  height: string
  leaderHead: string | null
  halted: null | { height: string; field: string; expected: string; actual: string }
  lastError: string | null
}

export type FollowerHooks = {
  /** Called after each block is applied and durable; must not throw or wait (work goes to the background). */
  onBlock?: (header: SignedHeader, txs: readonly SignedTx[]) => void
}

export class Follower {
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private running: Promise<void> | undefined
  private leaderHead: bigint | null = null
  private halted: FollowerStatus['halted'] = null
  private lastError: string | null = null

  constructor(
    private readonly node: LedgerNode,
    private readonly url: string,
    private readonly pollMs: number,
    private readonly log: Logger,
    private readonly hooks: FollowerHooks = {},
  ) {}

  start(): void {
    this.loop()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }

  status(): FollowerStatus {
    return {
      following: this.url,
      height: this.node.chain.head.height.toString(),
      leaderHead: this.leaderHead?.toString() ?? null,
      halted: this.halted,
      lastError: this.lastError,
    }
  }

  /** Fetches and applies what is available now; resolves when caught up or halted. */
  async syncOnce(): Promise<number> {
    let applied = 0
    for (;;) {
      if (this.stopped || this.halted) return applied
      const from = this.node.chain.head.height + 1n
      const response = await fetch(`${this.url}/v1/blocks?from=${from}&limit=100&txs=full`)
      if (!response.ok) throw new Error(`GET /v1/blocks answered ${response.status}`)
      const body = (await response.json()) as { blocks: BlockWire[]; head: string }
      this.leaderHead = BigInt(body.head)
      if (body.blocks.length === 0) return applied
      for (const wire of body.blocks) {
        if (this.stopped) return applied
        try {
          await this.apply(wire)
          applied++
        } catch (e) {
          if (e instanceof BlockMismatchError) {
            this.halted = { height: e.height.toString(), field: e.field, expected: String(e.details.expected), actual: String(e.details.actual) }
            this.log.error({ mismatch: this.halted, leader: this.url }, `refused block ${e.height}: ${e.field} differs from re-execution; replica halted`)
            return applied
          }
          throw e
        }
      }
    }
  }

  private async apply(wire: BlockWire): Promise<void> {
    const chain = this.node.chain
    const header: SignedHeader = {
      height: BigInt(wire.height),
      hash: wire.hash,
      parentHash: wire.parentHash,
      timestamp: BigInt(wire.timestamp),
      txRoot: wire.txRoot,
      stateRoot: wire.stateRoot,
      receiptsRoot: wire.receiptsRoot,
      txCount: wire.txCount,
      proposer: wire.proposer,
      signature: wire.signature,
    }
    const rows = wire.txs.map((t) => ({
      hash: t.hash,
      type: t.type,
      message: JSON.stringify(t.message),
      signature: t.signature,
      sender: t.sender,
      ...(t.delegator ? { delegator: t.delegator } : {}),
    }))
    const decoded = rows.map((row: Pick<TxRow, 'hash' | 'type' | 'message' | 'signature'> & { delegator?: Hex }, i) => chain.decodeRow(row, header.height, i))
    const signed = decoded.map((tx, i) => chain.checkSender(tx, recoverOrError(chain, tx), rows[i], header.height, i))
    await chain.applyBlock(header, signed)
    try {
      this.hooks.onBlock?.(header, signed)
    } catch (e) {
      // The block is applied; a listener's fault must not look like a sync failure.
      this.log.error({ err: e, height: header.height.toString() }, 'replica: onBlock listener failed')
    }
  }

  private loop(): void {
    this.running = (async () => {
      try {
        const applied = await this.syncOnce()
        if (applied > 0) this.log.debug({ applied, height: this.node.chain.head.height.toString() }, 'replica caught up')
        this.lastError = null
      } catch (e) {
        this.lastError = e instanceof SinewError ? e.shortMessage : String((e as Error)?.message ?? e)
        this.log.warn({ err: this.lastError, leader: this.url }, 'replica sync failed; retrying')
      }
      if (!this.stopped && !this.halted) this.timer = setTimeout(() => this.loop(), this.pollMs)
    })()
  }
}

function recoverOrError(chain: LedgerNode['chain'], tx: ReturnType<LedgerNode['chain']['decodeRow']>): Hex | Error {
  try {
    return chain.codec.recover(tx).sender
  } catch (e) {
    return e as Error
  }
}
