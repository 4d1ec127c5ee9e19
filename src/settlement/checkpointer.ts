/**
 * The checkpointer: posts the latest signed Sinew header to the settlement contract every
 * `everyBlocks` Sinew blocks or `everyMs` ms, whichever comes first (and only when there is
 * a block the contract has not seen).
 *
 * - Restarts: the contract's `lastCheckpointHeight` is the only cursor; it is read every tick.
 * - Never double-posts: one checkpoint tx at a time; while one is in flight (or its fate is
 *   unknown after an RPC failure) no other is sent, and a post is simulated first, so a
 *   header the contract would refuse (HeightNotIncreasing) costs nothing. A tx this process
 *   does not know of (sent before a restart, still unmined) counts too: nothing is posted
 *   while the poster's pending nonce is ahead of its mined one (standard eth_getTransactionCount).
 * - Outages: a failed call fails the tick, which the loop retries with backoff.
 */
import type { Account, Chain, PublicClient, Transport, WalletClient } from 'viem'
import type { Clock, Hex, Logger } from '../core/index.ts'
import type { Address, SignedHeader } from '../ledger/index.ts'
import { sinewSettlementAbi as settlementAbi } from './contracts.ts'

export type CheckpointerOptions = {
  client: PublicClient
  wallet: WalletClient<Transport, Chain | undefined, Account>
  contract: Address
  everyBlocks: number
  everyMs: number
  head: () => SignedHeader
  clock: Clock
  log: Logger
}

export type LastCheckpoint = { height: string; evmTx: Hex | null; postedAt: string | null }

export type CheckpointerStatus = {
  lastCheckpoint: LastCheckpoint | null
  /** Sinew blocks made since the last checkpoint. */
  lagBlocks: string | null
  /** A checkpoint tx sent and not yet seen mined. */
  inFlight: { height: string; evmTx: Hex } | null
  posted: number
}

export const headerTuple = (h: SignedHeader) =>
  ({
    height: h.height,
    parentHash: h.parentHash,
    timestamp: h.timestamp,
    txRoot: h.txRoot,
    stateRoot: h.stateRoot,
    receiptsRoot: h.receiptsRoot,
    txCount: h.txCount,
    proposer: h.proposer,
  }) as const

export class Checkpointer {
  private last: LastCheckpoint | null = null
  private lastPostMs: bigint | undefined
  private inFlight: { height: bigint; evmTx: Hex } | undefined
  private posted = 0

  constructor(private readonly o: CheckpointerOptions) {}

  status(): CheckpointerStatus {
    const head = this.o.head().height
    return {
      lastCheckpoint: this.last,
      lagBlocks: this.last ? (head - BigInt(this.last.height)).toString() : null,
      inFlight: this.inFlight ? { height: this.inFlight.height.toString(), evmTx: this.inFlight.evmTx } : null,
      posted: this.posted,
    }
  }

  async tick(): Promise<void> {
    const { client, contract } = this.o
    const onChain = await client.readContract({ address: contract, abi: settlementAbi, functionName: 'lastCheckpointHeight' })
    if (!this.last || BigInt(this.last.height) !== onChain) this.last = { height: onChain.toString(), evmTx: null, postedAt: null }
    if (this.lastPostMs === undefined) {
      const at = await client.readContract({ address: contract, abi: settlementAbi, functionName: 'lastCheckpointTime' })
      this.lastPostMs = at * 1000n
    }
    if (this.inFlight) {
      if (onChain >= this.inFlight.height || !(await this.stillPending(this.inFlight.evmTx))) this.inFlight = undefined
      else return // wait for it: never two checkpoint txs at once
    }
    const head = this.o.head()
    if (head.height <= onChain || head.height === 0n) return
    const now = this.o.clock()
    if (head.height - onChain < BigInt(this.o.everyBlocks) && now - this.lastPostMs < BigInt(this.o.everyMs)) return
    if (await this.unminedTxs()) return
    await this.post(head, now)
  }

  private async post(head: SignedHeader, now: bigint): Promise<void> {
    const { client, wallet, contract } = this.o
    const { request } = await client.simulateContract({
      address: contract,
      abi: settlementAbi,
      functionName: 'postCheckpoint',
      args: [headerTuple(head), head.signature],
      account: wallet.account,
    })
    const evmTx = await wallet.writeContract(request)
    this.inFlight = { height: head.height, evmTx }
    const receipt = await client.waitForTransactionReceipt({ hash: evmTx, timeout: 120_000 })
    this.inFlight = undefined
    if (receipt.status !== 'success') throw new Error(`checkpoint tx ${evmTx} for height ${head.height} reverted`)
    this.lastPostMs = now
    this.posted++
    this.last = { height: head.height.toString(), evmTx, postedAt: new Date(Number(now)).toISOString() }
    this.o.log.info({ height: head.height.toString(), stateRoot: head.stateRoot, evmTx, gasUsed: receipt.gasUsed.toString() }, 'settlement: checkpoint posted')
  }

  /** Whether the poster has sent txs not yet mined (e.g. a checkpoint sent just before a restart): post nothing until they are. */
  private async unminedTxs(): Promise<boolean> {
    const address = this.o.wallet.account.address
    const [mined, pending] = await Promise.all([
      this.o.client.getTransactionCount({ address, blockTag: 'latest' }),
      this.o.client.getTransactionCount({ address, blockTag: 'pending' }),
    ])
    if (pending > mined)
      this.o.log.debug({ poster: address, unmined: pending - mined }, 'settlement: a checkpoint tx of the poster is not mined yet; waiting for it')
    return pending > mined
  }

  /** Whether a sent tx is still waiting to be mined (false once mined or dropped). */
  private async stillPending(hash: Hex): Promise<boolean> {
    const tx = await this.o.client.getTransaction({ hash }).catch((e: Error) => {
      if (e.name === 'TransactionNotFoundError') return undefined
      throw e
    })
    return tx !== undefined && tx.blockNumber === null
  }
}
