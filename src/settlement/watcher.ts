/**
 * The deposit watcher: reads `Deposited` logs of the settlement contract up to the EVM head
 * minus the confirmations and credits each with a node-signed `Deposit` tx.
 *
 * - Exactly once: the ledger refuses a second Deposit for the same (chain, tx, log)
 *   (`deposit/...` key), and the watcher skips logs already credited before submitting.
 * - Restarts: it resumes from the highest EVM block the ledger credited a deposit from
 *   (`settlement/totals.lastDepositBlock`), or the contract's deploy block.
 * - Reorganisations: only blocks with `confirmations` blocks on top are read, and before a
 *   log is credited the block at its height is fetched again and must still have the log's
 *   block hash; a log from a block that is no longer on the chain is never credited.
 * - Outages: a failed RPC call fails the tick, which the loop retries with backoff; nothing
 *   is skipped because the cursor only moves past a range once every log in it is credited.
 */
import type { PublicClient } from 'viem'
import type { Hex, Logger } from '../core/index.ts'
import type { Address, StateReader, TxAck } from '../ledger/index.ts'
import { sinewSettlementAbi as settlementAbi } from './contracts.ts'
import { readDeposit, readTotals } from './state.ts'

const DEPOSITED = settlementAbi.find((x) => x.type === 'event' && x.name === 'Deposited')!

export type DepositWatcherOptions = {
  client: PublicClient
  contract: Address
  evmChainId: bigint
  /** Blocks mined on top of a deposit's block before it is credited. */
  confirmations: number
  /** The contract's deploy block: the first block read. */
  startBlock: bigint
  /** Most blocks per eth_getLogs call. */
  maxRange?: bigint
  state: () => StateReader
  submit: (type: 'Deposit', wire: Record<string, unknown>) => Promise<TxAck>
  log: Logger
}

export type PendingDeposits = { count: number; amount: bigint }

export type WatcherStatus = {
  /** The EVM head seen by the last tick. */
  evmHead: string | null
  /** Every block up to here is read and its deposits are credited. */
  scannedTo: string | null
  /** Deposits seen in blocks not yet confirmed. */
  pendingDeposits: number
  pendingAmount: string
  credited: number
}

type DepositLog = { txHash: Hex; logIndex: bigint; blockNumber: bigint; blockHash: Hex; from: Address; account: Address; amount: bigint }

export class DepositWatcher {
  private cursor: bigint | undefined
  private head: bigint | undefined
  private pending: PendingDeposits = { count: 0, amount: 0n }
  private credited = 0

  constructor(private readonly o: DepositWatcherOptions) {}

  status(): WatcherStatus {
    return {
      evmHead: this.head?.toString() ?? null,
      scannedTo: this.cursor === undefined ? null : (this.cursor - 1n).toString(),
      pendingDeposits: this.pending.count,
      pendingAmount: this.pending.amount.toString(),
      credited: this.credited,
    }
  }

  async tick(): Promise<void> {
    const { client, confirmations } = this.o
    const head = await client.getBlockNumber({ cacheTime: 0 })
    this.head = head
    if (this.cursor === undefined) {
      const resume = BigInt(readTotals(this.o.state()).lastDepositBlock)
      this.cursor = resume > this.o.startBlock ? resume : this.o.startBlock
    }
    let cursor: bigint = this.cursor
    const safe = head - BigInt(confirmations)
    const range = this.o.maxRange ?? 2000n
    while (cursor <= safe) {
      const to: bigint = cursor + range - 1n < safe ? cursor + range - 1n : safe
      const logs = await this.logs(cursor, to)
      const canonical = new Map<bigint, Hex>()
      const fresh: DepositLog[] = []
      for (const l of logs) {
        if (readDeposit(this.o.state(), this.o.evmChainId, l.txHash, l.logIndex)) continue
        // The block at the log's height must still be the one the log came from.
        let hash = canonical.get(l.blockNumber)
        if (hash === undefined) {
          const block = await client.getBlock({ blockNumber: l.blockNumber })
          hash = block.hash!.toLowerCase() as Hex
          canonical.set(l.blockNumber, hash)
        }
        if (hash !== l.blockHash) {
          this.o.log.warn(
            { txHash: l.txHash, blockNumber: l.blockNumber.toString() },
            'settlement: a deposit log is from a block no longer on the chain; not credited',
          )
          // Read this range again next tick, from the chain as it is then.
          return
        }
        fresh.push(l)
      }
      await Promise.all(fresh.map((l) => this.credit(l)))
      cursor = to + 1n
      this.cursor = cursor
    }
    this.pending = summarise(await this.logs(safe + 1n > cursor ? safe + 1n : cursor, head))
  }

  private async credit(l: DepositLog): Promise<void> {
    try {
      const ack = await this.o.submit('Deposit', {
        evmChainId: this.o.evmChainId.toString(),
        txHash: l.txHash,
        logIndex: l.logIndex.toString(),
        blockNumber: l.blockNumber.toString(),
        blockHash: l.blockHash,
        from: l.from,
        account: l.account,
        amount: l.amount.toString(),
      })
      this.credited++
      this.o.log.info(
        { account: l.account, amount: l.amount.toString(), evmTx: l.txHash, logIndex: l.logIndex.toString(), sinewTx: ack.hash, height: ack.height },
        'settlement: deposit credited',
      )
    } catch (e) {
      if ((e as { code?: string }).code === 'deposit_already_credited') return
      throw e
    }
  }

  private async logs(fromBlock: bigint, toBlock: bigint): Promise<DepositLog[]> {
    if (fromBlock > toBlock) return []
    const logs = await this.o.client.getLogs({ address: this.o.contract, event: DEPOSITED, fromBlock, toBlock, strict: true })
    return logs
      .filter((l) => !l.removed && l.transactionHash && l.blockHash && l.blockNumber !== null && l.logIndex !== null)
      .map((l) => ({
        txHash: l.transactionHash!.toLowerCase() as Hex,
        logIndex: BigInt(l.logIndex!),
        blockNumber: l.blockNumber!,
        blockHash: l.blockHash!.toLowerCase() as Hex,
        from: l.args.from.toLowerCase() as Address,
        account: l.args.sinewAccount.toLowerCase() as Address,
        amount: l.args.amount,
      }))
      .sort((a, b) => (a.blockNumber === b.blockNumber ? Number(a.logIndex - b.logIndex) : a.blockNumber < b.blockNumber ? -1 : 1))
  }
}

const summarise = (logs: DepositLog[]): PendingDeposits => ({ count: logs.length, amount: logs.reduce((s, l) => s + l.amount, 0n) })
