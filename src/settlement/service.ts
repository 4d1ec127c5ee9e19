/**
 * The node's settlement service: connects to the EVM chain, runs the deposit watcher and
 * the checkpointer (on the sequencer: under a sequencer lease, on the node that holds it), follows what the contract paid out, and computes the
 * backing invariant for GET /v1/status `settlement`. Everything it knows after a restart
 * comes from the ledger and the contract, never from local files.
 */
import { SinewError, type Clock, type Hex, type Logger } from '../core/index.ts'
import { addressOf, type Address, type LedgerNode, type TxAck } from '../ledger/index.ts'
import { sinewDevTokenAbi as erc20Abi, sinewSettlementAbi as settlementAbi } from './contracts.ts'
import { Checkpointer, type CheckpointerStatus } from './checkpointer.ts'
import { connectEvm, evmWallet, type EvmClients, type EvmWallet } from './evm.ts'
import { computeInvariant, type Invariant } from './invariant.ts'
import { RetryLoop, type LoopStatus } from './loop.ts'
import { DepositWatcher, type WatcherStatus } from './watcher.ts'
import { paymentInFlightKey, settleTransferAuthorization, type ExactTerms, type SettledTransfer } from './exact.ts'
import type { TransferAuthorization } from './x402-kinds.ts'

export type SettlementSettings = {
  settlementRpcUrl: string
  settlementContract: string
  settlementStartBlock: number
  settlementConfirmations: number
  settlementCheckpointBlocks: number
  settlementCheckpointMs: number
  settlementPollMs: number
}

export type SettlementOptions = {
  settings: SettlementSettings
  node: LedgerNode
  /** The sequencer key: signs Deposit txs and checkpoint headers, and pays the checkpoint gas on the EVM chain. Absent on a replica. */
  sequencerKey?: Hex
  /** Submits a node-signed tx (the node's one queue for its own txs, shared with the gateway). */
  submit?: (type: string, wire: Record<string, unknown>) => Promise<TxAck>
  clock: Clock
  log: Logger
  /**
   * Whether this node credits deposits and posts checkpoints now (default: always). Under a
   * sequencer lease only the holder does (src/node/failover.ts): a standby's ticks only read
   * the contract (the invariant); on a takeover the new holder's next tick takes over,
   * resuming from what the ledger (deposits credited) and the contract (last checkpoint,
   * the poster's unmined txs) say, and the node that stepped down stops at its next tick.
   */
  leads?: () => boolean
}

export type SettlementStatus = {
  chainId: string | null
  contract: Address
  token: Address | null
  confirmations: number
  /** The EVM account that sends checkpoints (the sequencer key's address); it needs gas. */
  poster: Address | null
  lastCheckpoint: CheckpointerStatus['lastCheckpoint']
  lagBlocks: string | null
  pendingDeposits: number
  pendingAmount: string
  evmHead: string | null
  scannedTo: string | null
  invariant: Invariant | null
  watcher: LoopStatus & Omit<WatcherStatus, 'pendingDeposits' | 'pendingAmount' | 'evmHead' | 'scannedTo'>
  checkpointer: (LoopStatus & Pick<CheckpointerStatus, 'inFlight' | 'posted'>) | null
}

const WITHDRAWN = settlementAbi.find((x) => x.type === 'event' && x.name === 'Withdrawn')!
const ESCAPED = settlementAbi.find((x) => x.type === 'event' && x.name === 'Escaped')!

export class Settlement {
  readonly contract: Address
  private evm: EvmClients | undefined
  private watcher: DepositWatcher | undefined
  private checkpointer: Checkpointer | undefined
  private token: Address | undefined
  private terms: ExactTerms | undefined
  private wallet: EvmWallet | undefined
  /** The node's EVM sends (checkpoints, payment transfers) one at a time: they share an account and its nonces. */
  private sends: Promise<unknown> = Promise.resolve()
  private readonly paying = new Set<string>()
  private invariant: Invariant | null = null
  private paid = { scannedTo: -1n, withdrawals: 0n, escapes: 0n }
  private readonly watchLoop: RetryLoop
  private readonly checkpointLoop: RetryLoop | undefined

  constructor(private readonly o: SettlementOptions) {
    this.contract = o.settings.settlementContract.toLowerCase() as Address
    const loop = { intervalMs: o.settings.settlementPollMs, maxBackoffMs: Math.max(30_000, o.settings.settlementPollMs), log: o.log }
    this.watchLoop = new RetryLoop('deposits', () => this.watchTick(), loop)
    this.checkpointLoop = o.sequencerKey ? new RetryLoop('checkpoints', () => this.checkpointTick(), loop) : undefined
  }

  start(): void {
    this.watchLoop.start()
    this.checkpointLoop?.start()
    this.o.log.info({ rpc: redactUrl(this.o.settings.settlementRpcUrl), contract: this.contract }, 'settlement: watching deposits and posting checkpoints')
  }

  async stop(): Promise<void> {
    await Promise.all([this.watchLoop.stop(), this.checkpointLoop?.stop()])
  }

  /** Stops posting checkpoints only (the operator going away; tests of the escape hatch). */
  async stopCheckpoints(): Promise<void> {
    await this.checkpointLoop?.stop()
  }

  status(): SettlementStatus {
    const w = this.watcher?.status()
    const c = this.checkpointer?.status()
    return {
      chainId: this.evm?.chainId.toString() ?? null,
      contract: this.contract,
      token: this.token ?? null,
      confirmations: this.o.settings.settlementConfirmations,
      poster: this.o.sequencerKey ? addressOf(this.o.sequencerKey) : null,
      lastCheckpoint: c?.lastCheckpoint ?? null,
      lagBlocks: c?.lagBlocks ?? null,
      pendingDeposits: w?.pendingDeposits ?? 0,
      pendingAmount: w?.pendingAmount ?? '0',
      evmHead: w?.evmHead ?? null,
      scannedTo: w?.scannedTo ?? null,
      invariant: this.invariant,
      watcher: { ...this.watchLoop.status(), credited: w?.credited ?? 0, recovered: w?.recovered ?? 0 },
      checkpointer: this.checkpointLoop ? { ...this.checkpointLoop.status(), inFlight: c?.inFlight ?? null, posted: c?.posted ?? 0 } : null,
    }
  }

  private async connect(): Promise<EvmClients> {
    if (this.evm) return this.evm
    const evm = await connectEvm(this.o.settings.settlementRpcUrl, { pollingIntervalMs: Math.min(1000, this.o.settings.settlementPollMs) })
    const token = (await evm.client.readContract({ address: this.contract, abi: settlementAbi, functionName: 'token' })).toLowerCase() as Address
    // The token's EIP-712 domain (EIP-5267), which x402 `exact` payers sign under; a token without one cannot be paid that way.
    const domain = await evm.client.readContract({ address: token, abi: erc20Abi, functionName: 'eip712Domain' }).catch(() => undefined)
    this.token = token
    if (domain && this.o.sequencerKey) {
      const [, name, version] = domain
      this.terms = { network: `eip155:${evm.chainId}`, evmChainId: evm.chainId, token, name, version, contract: this.contract }
    }
    this.evm = evm
    this.o.log.info({ chainId: evm.chainId.toString(), contract: this.contract, token: this.token }, 'settlement: connected to the EVM chain')
    return evm
  }

  private async watchTick(): Promise<void> {
    const evm = await this.connect()
    // Not leading (a standby): no watcher, so a later takeover starts one afresh from the ledger.
    if (!this.leads()) this.watcher = undefined
    else if (this.o.submit) {
      this.watcher ??= new DepositWatcher({
        client: evm.client,
        contract: this.contract,
        evmChainId: evm.chainId,
        confirmations: this.o.settings.settlementConfirmations,
        startBlock: BigInt(this.o.settings.settlementStartBlock),
        state: () => this.o.node.chain.state,
        submit: this.o.submit,
        // x402 payment transfers their path left uncredited (a crash, a wait that gave up, a payer's authorisation someone else submitted).
        ...(this.o.sequencerKey && this.token
          ? {
              payments: {
                token: this.token,
                inFlight: (token, from, nonce) => this.paying.has(paymentInFlightKey(token, from, nonce)),
              },
            }
          : {}),
        log: this.o.log,
      })
      await this.watcher.tick()
    }
    await this.refreshInvariant(evm)
  }

  /**
   * The `exact` scheme's terms, once connected to the EVM chain, on a node that can send
   * transfers (the sequencer; under a sequencer lease, the holder) and whose token has an
   * EIP-712 domain; undefined otherwise, so a standby offers only the Sinew scheme.
   */
  exactTerms(): ExactTerms | undefined {
    return this.leads() ? this.terms : undefined
  }

  /**
   * Settles an x402 `exact` payment (the payer's EIP-3009 authorisation, checked by the caller
   * for scheme, amount, window and signature): checks the nonce and balance on the chain,
   * submits transferWithAuthorization, waits for it and credits it on Sinew. Throws
   * `payment_settlement_failed`, `payment_nonce_used` or `payment_insufficient_funds`, with
   * nothing transferred, or the credit's error once transferred (logged).
   */
  async settleExactPayment(auth: TransferAuthorization, signature: Hex): Promise<SettledTransfer> {
    const terms = this.terms
    if (!terms || !this.evm || !this.o.submit) {
      throw new SinewError({
        code: 'payment_settlement_failed',
        message: 'This node is not connected to its settlement chain yet',
        details: { step: 'connect' },
      })
    }
    if (!this.leads()) {
      // Only the lease holder sends from the sequencer's EVM account: two senders would reuse its nonces.
      throw new SinewError({
        code: 'payment_settlement_failed',
        message: 'This node does not hold the sequencer lease, so it cannot settle on the chain now',
        details: { step: 'lease' },
        hint: 'Retry: the node that holds the lease settles payments.',
      })
    }
    this.wallet ??= evmWallet(this.evm, this.o.sequencerKey!)
    return settleTransferAuthorization({
      client: this.evm.client,
      wallet: this.wallet,
      terms,
      auth,
      signature,
      submit: this.o.submit,
      state: () => this.o.node.chain.state,
      exclusive: (fn) => this.exclusive(fn),
      receiptMarginMs: 60_000,
      inFlight: this.paying,
      log: this.o.log,
    })
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sends.then(fn, fn)
    this.sends = run.catch(() => {})
    return run
  }

  private checkpointTick(): Promise<void> {
    return this.exclusive(() => this.checkpointTickAlone())
  }

  private leads(): boolean {
    return this.o.leads?.() ?? true
  }

  private async checkpointTickAlone(): Promise<void> {
    if (!this.leads()) {
      // A takeover makes a new one: its cursor is the contract's, its in-flight guard the poster's unmined txs.
      this.checkpointer = undefined
      return
    }
    const evm = await this.connect()
    this.checkpointer ??= new Checkpointer({
      client: evm.client,
      wallet: evmWallet(evm, this.o.sequencerKey!),
      contract: this.contract,
      everyBlocks: this.o.settings.settlementCheckpointBlocks,
      everyMs: this.o.settings.settlementCheckpointMs,
      head: () => this.o.node.chain.head,
      clock: this.o.clock,
      log: this.o.log,
    })
    await this.checkpointer.tick()
  }

  /** The invariant at one EVM block: the contract's balance and what it paid out, both read at that block. */
  private async refreshInvariant(evm: EvmClients): Promise<void> {
    const block = await evm.client.getBlockNumber({ cacheTime: 0 })
    const from = this.paid.scannedTo < 0n ? BigInt(this.o.settings.settlementStartBlock) : this.paid.scannedTo + 1n
    if (from <= block) {
      const [w, e] = await Promise.all([
        evm.client.getLogs({ address: this.contract, event: WITHDRAWN, fromBlock: from, toBlock: block, strict: true }),
        evm.client.getLogs({ address: this.contract, event: ESCAPED, fromBlock: from, toBlock: block, strict: true }),
      ])
      this.paid = {
        scannedTo: block,
        withdrawals: this.paid.withdrawals + w.reduce((s, l) => s + l.args.amount, 0n),
        escapes: this.paid.escapes + e.reduce((s, l) => s + l.args.amount, 0n),
      }
    }
    const state = this.o.node.chain.state
    const contractBalance = await evm.client.readContract({
      address: this.token!,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [this.contract],
      blockNumber: block,
    })
    const next = computeInvariant({
      genesis: this.o.node.chain.genesis,
      state,
      contractBalance,
      withdrawalsPaid: this.paid.withdrawals,
      escapesPaid: this.paid.escapes,
    })
    if (!next.holds && this.invariant?.holds !== false) this.o.log.error({ invariant: next }, 'settlement: the contract holds fewer tokens than Sinew owes')
    this.invariant = next
  }
}

/** An RPC URL for the logs, without credentials or a path that may carry an API key. */
function redactUrl(url: string): string {
  const u = URL.parse(url)
  return u ? `${u.protocol}//${u.host}` : 'invalid URL'
}
