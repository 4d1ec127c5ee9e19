/**
 * The node as its own x402 facilitator for the EVM `exact` scheme (docs/x402.md): given a
 * payer's EIP-3009 authorisation of a transfer to the settlement contract, check it against
 * the chain (the authorisation's nonce unused there, the payer's token balance), submit
 * `transferWithAuthorization` from the node's settlement account, wait for its receipt, find
 * the transfer's `Transfer` log and credit it to the payer on Sinew (`DepositTransfer`, keyed
 * like a watcher's Deposit by (chain, tx, log)). The protocol checks (scheme, network, asset,
 * payTo, amount, window, signature) are the HTTP layer's (src/server/x402.ts); this module
 * only does the chain I/O and the credit. Every refusal comes before the transfer is sent;
 * once it is mined the tokens are credited, whatever happens to the call. If the node dies
 * (or the wait gives up) between the mined transfer and the credit, the deposit watcher
 * credits it once confirmed (src/settlement/watcher.ts): it looks for EIP-3009 transfers into
 * the contract, whoever submitted them, that the ledger has not credited.
 */
import { parseEventLogs, parseSignature, TransactionReceiptNotFoundError, type PublicClient, type TransactionReceipt } from 'viem'
import { SinewError, type Hex, type Logger } from '../core/index.ts'
import { messageToWire, type Address, type StateReader, type TxAck } from '../ledger/index.ts'
import { revertError } from './claim.ts'
import { sinewDevTokenAbi as tokenAbi } from './contracts.ts'
import type { DepositFields } from './kinds.ts'
import type { EvmWallet } from './evm.ts'
import { readDeposit } from './state.ts'
import type { TransferAuthorization } from './x402-kinds.ts'

/** What the 402 answer offers for the `exact` scheme: the token, its EIP-712 domain, who is paid. */
export type ExactTerms = {
  network: string
  evmChainId: bigint
  /** The settlement token (the `asset`) and its EIP-712 domain name and version (`extra`). */
  token: Address
  name: string
  version: string
  /** The settlement contract: every payment is a deposit into it (`payTo`). */
  contract: Address
}

/** A payment's transfer, mined and credited on Sinew. */
export type SettledTransfer = {
  evmTx: Hex
  blockNumber: bigint
  logIndex: bigint
  /** The Sinew DepositTransfer tx that credited it; null when the deposit watcher credited it first (the ledger names the height). */
  depositTx: Hex | null
}

export type ExactSettleOptions = {
  client: PublicClient
  wallet: EvmWallet
  terms: ExactTerms
  auth: TransferAuthorization
  signature: Hex
  submit: (type: string, wire: Record<string, unknown>) => Promise<TxAck>
  /** The ledger's state: whether the transfer's log is credited already (by the watcher). */
  state: () => StateReader
  /** Serialises the node's EVM sends (the checkpointer sends from the same account). */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>
  /** How long past the authorisation's validBefore to wait for the transfer's receipt (block times lag the clock). */
  receiptMarginMs: number
  /**
   * Authorisations being settled now (`paymentInFlightKey`): a replay sent while the first is
   * in flight is refused at once, and the deposit watcher leaves their transfers to this path.
   */
  inFlight: Set<string>
  log: Logger
}

const MAX_RECEIPT_WAIT_MS = 15 * 60_000

/** The key of an authorisation being settled (addresses and nonce lower-case). */
export const paymentInFlightKey = (token: Address, from: Address, nonce: Hex): string => `${token.toLowerCase()}/${from.toLowerCase()}/${nonce.toLowerCase()}`

/** A test-only crash point (SINEW_TEST_CRASH_AT): the node kills itself with SIGKILL there, as kill -9 would. */
const crashPoint = (name: string): void => {
  if (process.env.SINEW_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL')
}

const failed = (message: string, details: Record<string, unknown>, cause?: unknown): SinewError =>
  new SinewError({
    code: 'payment_settlement_failed',
    message,
    details,
    hint: 'Nothing was charged. Pay again later (with a fresh authorisation), or pay with another scheme.',
    ...(cause ? { cause } : {}),
  })

const rpcFailed = (what: string) => (e: unknown) => {
  throw failed(`The settlement chain did not answer (${what}): ${(e as Error).message?.split('\n')[0]}`, { step: what })
}

export async function settleTransferAuthorization(o: ExactSettleOptions): Promise<SettledTransfer> {
  const { client, terms, auth, inFlight } = o
  const id = paymentInFlightKey(terms.token, auth.from, auth.nonce)
  if (inFlight.has(id)) throw nonceUsed(auth, 'being settled by another request')
  inFlight.add(id)
  try {
    const [used, balance] = await Promise.all([
      client
        .readContract({ address: terms.token, abi: tokenAbi, functionName: 'authorizationState', args: [auth.from, auth.nonce] })
        .catch(rpcFailed('authorizationState')),
      client.readContract({ address: terms.token, abi: tokenAbi, functionName: 'balanceOf', args: [auth.from] }).catch(rpcFailed('balanceOf')),
    ])
    if (used) throw nonceUsed(auth, 'used on the chain already')
    if (balance < auth.value) {
      throw new SinewError({
        code: 'payment_insufficient_funds',
        message: `The payer ${auth.from} holds ${balance} of the settlement token, the payment is ${auth.value}`,
        details: { payer: auth.from, balance: balance.toString(), price: auth.value.toString(), token: terms.token },
        hint: 'Get more of the settlement token on that chain and pay again; nothing was charged.',
      })
    }
    const { v, r, s, yParity } = parseSignature(o.signature)
    const args = [auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, Number(v ?? BigInt(yParity + 27)), r, s] as const
    const evmTx = await o.exclusive(async () => {
      let request
      try {
        ;({ request } = await client.simulateContract({
          address: terms.token,
          abi: tokenAbi,
          functionName: 'transferWithAuthorization',
          args,
          account: o.wallet.account,
        }))
      } catch (e) {
        const why = revertError(e, 'transferWithAuthorization')
        throw failed(`The settlement token refuses the transfer: ${why.shortMessage}`, { step: 'simulate', ...why.details })
      }
      return o.wallet.writeContract(request).catch((e: Error) => {
        throw failed(`The transfer could not be sent: ${e.message.split('\n')[0]}`, { step: 'send' })
      })
    })
    const receipt = await waitMined(o, evmTx).catch((e: Error) => {
      o.log.error(
        { evmTx, payer: auth.from, err: e.message },
        'x402: a payment transfer was sent but not seen mined in time; not credited now (the deposit watcher credits it if it is ever mined)',
      )
      throw failed(`The transfer ${evmTx} was sent but not seen mined: ${e.message.split('\n')[0]}`, { step: 'receipt', evmTx })
    })
    if (receipt.status !== 'success') throw failed(`The transfer ${evmTx} reverted`, { step: 'receipt', evmTx })
    const log = parseEventLogs({ abi: tokenAbi, eventName: 'Transfer', logs: receipt.logs }).find(
      (l) =>
        l.address.toLowerCase() === terms.token &&
        l.args.from.toLowerCase() === auth.from &&
        l.args.to.toLowerCase() === terms.contract &&
        l.args.value === auth.value,
    )
    if (!log) throw failed(`The transfer ${evmTx} moved no ${auth.value} from ${auth.from} to the contract`, { step: 'receipt', evmTx })
    const logIndex = BigInt(log.logIndex)
    crashPoint('x402-transfer-mined')
    const depositTx = await credit(o, { evmTx, logIndex, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash.toLowerCase() as Hex })
    o.log.info({ payer: auth.from, amount: auth.value.toString(), evmTx, sinewTx: depositTx }, 'x402: exact payment transferred and credited')
    return { evmTx: evmTx.toLowerCase() as Hex, blockNumber: receipt.blockNumber, logIndex, depositTx }
  } finally {
    inFlight.delete(id)
  }
}

/**
 * Waits for the transfer's receipt until it can no longer be mined: the chain's head is at or
 * past the authorisation's validBefore (the token refuses it from then on), or, as a bound on
 * the wait when the chain does not move, validBefore plus a margin by the clock (at most 15
 * minutes: a stranger's validBefore may be years ahead). RPC errors while waiting are retried.
 */
async function waitMined(o: ExactSettleOptions, hash: Hex): Promise<TransactionReceipt> {
  const { client, auth } = o
  const untilExpiry = Number(auth.validBefore) * 1000 - Date.now() + o.receiptMarginMs
  const deadline = Date.now() + Math.min(Math.max(untilExpiry, o.receiptMarginMs), MAX_RECEIPT_WAIT_MS)
  const receipt = () =>
    client.getTransactionReceipt({ hash }).catch((e: unknown) => {
      if (e instanceof TransactionReceiptNotFoundError) return undefined
      throw e
    })
  /** The receipt; or why the transfer can no longer be mined; or nothing yet. */
  type Seen = { receipt?: TransactionReceipt; expired?: string }
  const look = async (): Promise<Seen> => {
    const mined = await receipt()
    if (mined) return { receipt: mined }
    const head = await client.getBlock({ blockTag: 'latest' })
    if (head.timestamp < auth.validBefore) return {}
    // Mined in the head block itself, after the first look?
    const late = await receipt()
    if (late) return { receipt: late }
    return { expired: `the chain's head (block ${head.number}, time ${head.timestamp}) is past the authorisation's validBefore ${auth.validBefore}` }
  }
  let last: unknown
  for (;;) {
    const seen = await look().catch((e: unknown): Seen => {
      last = e
      return {}
    })
    if (seen.receipt) return seen.receipt
    if (seen.expired) throw new Error(seen.expired)
    if (Date.now() >= deadline) throw new Error(`no receipt by ${new Date(deadline).toISOString()}${last ? ` (${(last as Error).message})` : ''}`)
    await new Promise((r) => setTimeout(r, client.pollingInterval))
  }
}

async function credit(o: ExactSettleOptions, l: { evmTx: Hex; logIndex: bigint; blockNumber: bigint; blockHash: Hex }): Promise<Hex | null> {
  try {
    const message: DepositFields = {
      evmChainId: o.terms.evmChainId,
      txHash: l.evmTx.toLowerCase() as Hex,
      logIndex: l.logIndex,
      blockNumber: l.blockNumber,
      blockHash: l.blockHash,
      from: o.auth.from,
      account: o.auth.from,
      amount: o.auth.value,
    }
    const ack = await o.submit('DepositTransfer', messageToWire(message))
    return ack.hash
  } catch (e) {
    // Credited by the deposit watcher first (after a lease takeover): the same log, to the same payer.
    const earlier = readDeposit(o.state(), o.terms.evmChainId, l.evmTx, l.logIndex)
    if ((e as { code?: string }).code === 'deposit_already_credited' && earlier?.account === o.auth.from && BigInt(earlier.amount) === o.auth.value) return null
    // The tokens are in the contract: this must not be lost silently.
    o.log.error(
      { evmTx: l.evmTx, logIndex: l.logIndex.toString(), payer: o.auth.from, err: (e as Error).message },
      'x402: a payment transfer is mined but its credit failed',
    )
    throw e
  }
}

function nonceUsed(auth: TransferAuthorization, why: string): SinewError {
  return new SinewError({
    code: 'payment_nonce_used',
    message: `The authorisation ${auth.nonce} of ${auth.from} is ${why}: a replay`,
    details: { field: 'payload.authorization.nonce', payer: auth.from, nonce: auth.nonce },
    hint: 'Sign a fresh authorisation (a new nonce) to pay again.',
  })
}
