/**
 * Settlement state on Sinew. Three kinds of keys:
 * - `deposit/<evmChainId>/<txHash>/<logIndex>`: one per credited EVM `Deposited` log, so a
 *   log is credited exactly once whatever the watcher does (canonical JSON).
 * - `withdrawal/<id>`: one per Withdraw tx (`id` = its tx hash, lower-case 0x + 64 hex), the
 *   value `abi.encode(address account, address recipient, uint256 amount)` exactly as the
 *   settlement contract recomputes it to check a claim's proof.
 * - `settlement/totals`: running sums, so the node and a verifier get the SIN supply and the
 *   deposit cursor without scanning the chain (canonical JSON, integers as decimal strings).
 */
import { decodeAbiParameters, encodeAbiParameters } from 'viem'
import { fromHex, toHex, type Hex } from '../core/index.ts'
import { readJson, type Address, type StateReader } from '../ledger/index.ts'

export const TOTALS_KEY = 'settlement/totals'

export type SettlementTotals = {
  /** SIN credited by Deposit txs, base units. */
  deposited: string
  deposits: number
  /** SIN debited by Withdraw txs (recorded, claimable on the EVM chain). */
  withdrawn: string
  withdrawals: number
  /** The highest EVM block a credited deposit came from: where the watcher resumes after a restart. */
  lastDepositBlock: string
}

export const emptyTotals = (): SettlementTotals => ({ deposited: '0', deposits: 0, withdrawn: '0', withdrawals: 0, lastDepositBlock: '0' })

export const readTotals = (state: StateReader): SettlementTotals => readJson<SettlementTotals>(state, TOTALS_KEY) ?? emptyTotals()

/** The state key that marks one EVM log credited. `txHash` is lower-case 0x hex. */
export const depositKey = (evmChainId: bigint, txHash: Hex, logIndex: bigint): string => `deposit/${evmChainId}/${txHash.toLowerCase()}/${logIndex}`

export type DepositRecord = { account: Address; amount: string; from: Address; blockNumber: string; blockHash: Hex; sinewHeight: string }

export const readDeposit = (state: StateReader, evmChainId: bigint, txHash: Hex, logIndex: bigint): DepositRecord | undefined =>
  readJson<DepositRecord>(state, depositKey(evmChainId, txHash, logIndex))

/** `withdrawal/<id>`, id lower-case: the key the contract rebuilds with Strings.toHexString(uint256(id), 32). */
export const withdrawalKey = (id: Hex): string => `withdrawal/${id.toLowerCase()}`

export type WithdrawalRecord = { id: Hex; account: Address; recipient: Address; amount: bigint }

const WITHDRAWAL_ABI = [{ type: 'address' }, { type: 'address' }, { type: 'uint256' }] as const

export function encodeWithdrawal(w: Omit<WithdrawalRecord, 'id'>): Uint8Array {
  return fromHex(encodeAbiParameters(WITHDRAWAL_ABI, [w.account, w.recipient, w.amount]))
}

export function readWithdrawal(state: StateReader, id: Hex): WithdrawalRecord | undefined {
  const bytes = state.get(withdrawalKey(id))
  if (!bytes) return undefined
  const [account, recipient, amount] = decodeAbiParameters(WITHDRAWAL_ABI, toHex(bytes))
  return { id: id.toLowerCase() as Hex, account: account.toLowerCase() as Address, recipient: recipient.toLowerCase() as Address, amount }
}
