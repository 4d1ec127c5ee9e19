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
 * - x402 `exact` payments (src/settlement/exact.ts) it recovers: in the same ranges it reads
 *   the token's `Transfer` logs into the contract, and credits (`DepositTransfer`, the same
 *   `deposit/...` key) each one that an EIP-3009 authorisation of its payer made (the token's
 *   `AuthorizationUsed` of that payer right before the `Transfer`, as ERC-3009 tokens emit
 *   them) and that the ledger has not credited: a node killed between the mined transfer and
 *   its credit, a receipt wait that gave up before the transfer was mined, or someone else
 *   submitting the payer's authorisation before the node did. The payer signed those tokens
 *   over to the contract, so they are the payer's on Sinew whoever sent the EVM tx. A
 *   transfer whose payment is still being settled in this process is left to it (the range
 *   is read again next tick). These are credited before the range's deposits, so the resume
 *   cursor (moved by deposits only) never passes an uncredited payment transfer.
 */
import { parseEventLogs, type PublicClient, type TransactionReceipt } from 'viem'
import type { Hex, Logger } from '../core/index.ts'
import { messageToWire, type Address, type StateReader, type TxAck } from '../ledger/index.ts'
import { sinewDevTokenAbi as tokenAbi, sinewSettlementAbi as settlementAbi } from './contracts.ts'
import type { DepositFields } from './kinds.ts'
import { readDeposit, readTotals } from './state.ts'

const DEPOSITED = settlementAbi.find((x) => x.type === 'event' && x.name === 'Deposited')!
const TRANSFER = tokenAbi.find((x) => x.type === 'event' && x.name === 'Transfer')!

/** What the watcher needs to recover x402 `exact` payment transfers. */
export type PaymentRecovery = {
  /** The settlement token. */
  token: Address
  /** Whether this process is settling that authorisation now (src/settlement/exact.ts `paymentInFlightKey`). */
  inFlight: (token: Address, from: Address, nonce: Hex) => boolean
}

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
  submit: (type: 'Deposit' | 'DepositTransfer', wire: Record<string, unknown>) => Promise<TxAck>
  /** Also credit payment transfers (EIP-3009 authorisations into the contract) that the ledger lacks (absent: deposits only). */
  payments?: PaymentRecovery
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
  /** x402 payment transfers credited by the watcher (their own path did not: see the module comment). */
  recovered: number
}

/** A log to credit: the kind's message (the chain id is the watcher's) and which kind credits it. */
type DepositLog = Omit<DepositFields, 'evmChainId'> & { kind: 'Deposit' | 'DepositTransfer' }

export class DepositWatcher {
  private cursor: bigint | undefined
  private head: bigint | undefined
  private pending: PendingDeposits = { count: 0, amount: 0n }
  private credited = 0
  private recovered = 0

  constructor(private readonly o: DepositWatcherOptions) {}

  status(): WatcherStatus {
    return {
      evmHead: this.head?.toString() ?? null,
      scannedTo: this.cursor === undefined ? null : (this.cursor - 1n).toString(),
      pendingDeposits: this.pending.count,
      pendingAmount: this.pending.amount.toString(),
      credited: this.credited,
      recovered: this.recovered,
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
      const transfers = await this.paymentTransfers(cursor, to, new Set(logs.map((l) => l.txHash)))
      // A payment still being settled by its own path: read this range again next tick.
      if (transfers === 'busy') return
      const canonical = new Map<bigint, Hex>()
      const fresh: DepositLog[] = []
      for (const l of [...transfers, ...logs]) {
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
      // Payment transfers first, each before the next: a deposit credited after them can move the resume cursor.
      for (const l of fresh) if (l.kind === 'DepositTransfer') await this.credit(l)
      await Promise.all(fresh.filter((l) => l.kind === 'Deposit').map((l) => this.credit(l)))
      cursor = to + 1n
      this.cursor = cursor
    }
    this.pending = summarise(await this.logs(safe + 1n > cursor ? safe + 1n : cursor, head))
  }

  private async credit(l: DepositLog): Promise<void> {
    try {
      const { kind, ...log } = l
      const ack = await this.o.submit(kind, messageToWire({ evmChainId: this.o.evmChainId, ...log } satisfies DepositFields))
      const fields = {
        account: l.account,
        amount: l.amount.toString(),
        evmTx: l.txHash,
        logIndex: l.logIndex.toString(),
        sinewTx: ack.hash,
        height: ack.height,
      }
      if (l.kind === 'Deposit') {
        this.credited++
        this.o.log.info(fields, 'settlement: deposit credited')
      } else {
        this.recovered++
        this.o.log.warn(fields, 'settlement: an x402 payment transfer the node had not credited is credited to its payer now (the call was not served)')
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'deposit_already_credited') return
      throw e
    }
  }

  /**
   * The `Transfer` logs into the contract in [fromBlock, toBlock] that a payer's EIP-3009
   * authorisation made and the ledger has not credited; 'busy' if one of them is being
   * settled by its payment's own path now. `depositTxs`: the EVM txs of the range's
   * `Deposited` logs, whose token transfers are credited as deposits.
   */
  private async paymentTransfers(fromBlock: bigint, toBlock: bigint, depositTxs: Set<Hex>): Promise<DepositLog[] | 'busy'> {
    const p = this.o.payments
    if (!p) return []
    const logs = await this.o.client.getLogs({ address: p.token, event: TRANSFER, args: { to: this.o.contract }, fromBlock, toBlock, strict: true })
    const found: DepositLog[] = []
    const receipts = new Map<Hex, TransactionReceipt>()
    for (const l of logs) {
      if (l.removed || !l.transactionHash || !l.blockHash || l.blockNumber === null || l.logIndex === null) continue
      const txHash = l.transactionHash.toLowerCase() as Hex
      if (depositTxs.has(txHash) || readDeposit(this.o.state(), this.o.evmChainId, txHash, BigInt(l.logIndex))) continue
      if (!receipts.has(txHash)) receipts.set(txHash, await this.o.client.getTransactionReceipt({ hash: txHash }))
      const from = l.args.from.toLowerCase() as Address
      const nonce = authorisationOf(receipts.get(txHash)!, p.token.toLowerCase() as Address, from, l.logIndex)
      // A plain transfer into the contract (no authorisation) says nothing of whom to credit.
      if (!nonce) continue
      if (p.inFlight(p.token, from, nonce)) return 'busy'
      found.push({
        kind: 'DepositTransfer',
        txHash,
        logIndex: BigInt(l.logIndex),
        blockNumber: l.blockNumber,
        blockHash: l.blockHash.toLowerCase() as Hex,
        from,
        account: from,
        amount: l.args.value,
      })
    }
    return found
  }

  private async logs(fromBlock: bigint, toBlock: bigint): Promise<DepositLog[]> {
    if (fromBlock > toBlock) return []
    const logs = await this.o.client.getLogs({ address: this.o.contract, event: DEPOSITED, fromBlock, toBlock, strict: true })
    return logs
      .filter((l) => !l.removed && l.transactionHash && l.blockHash && l.blockNumber !== null && l.logIndex !== null)
      .map((l) => ({
        kind: 'Deposit' as const,
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

/**
 * The nonce of the EIP-3009 authorisation that made the token's `Transfer` log at
 * `transferIndex`: ERC-3009 tokens (OpenZeppelin's, USDC's) emit `AuthorizationUsed(from,
 * nonce)` right before the transfer it authorises. Undefined for any other transfer.
 */
function authorisationOf(receipt: TransactionReceipt, token: Address, from: Address, transferIndex: number): Hex | undefined {
  const used = parseEventLogs({ abi: tokenAbi, eventName: 'AuthorizationUsed', logs: receipt.logs, strict: true }).find(
    (u) => u.logIndex === transferIndex - 1 && u.address.toLowerCase() === token && u.args.authorizer.toLowerCase() === from,
  )
  return used ? (used.args.nonce.toLowerCase() as Hex) : undefined
}

const summarise = (logs: DepositLog[]): PendingDeposits => ({ count: logs.length, amount: logs.reduce((s, l) => s + l.amount, 0n) })
