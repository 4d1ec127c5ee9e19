/**
 * Settlement on an EVM chain (docs/settlement.md): the Deposit and Withdraw tx kinds, their
 * state, the deposit watcher, the checkpointer and the backing invariant. Public surface of
 * src/settlement.
 */
import type { TxKindRegistry } from '../ledger/index.ts'
import { settlementKinds } from './kinds.ts'
import { evmPaymentKinds } from './x402-kinds.ts'

export { depositKind, settlementKinds, withdrawKind, type DepositMessage, type WithdrawMessage } from './kinds.ts'
export {
  depositKey,
  emptyTotals,
  encodeWithdrawal,
  readDeposit,
  readTotals,
  readWithdrawal,
  TOTALS_KEY,
  withdrawalKey,
  type DepositRecord,
  type SettlementTotals,
  type WithdrawalRecord,
} from './state.ts'
export {
  acceptEvmPaymentKind,
  depositTransferKind,
  evmPaymentKey,
  transferAuthorizationSigner,
  type AcceptEvmPaymentMessage,
  type DepositTransferMessage,
  type TokenDomain,
  type TransferAuthorization,
} from './x402-kinds.ts'
export { anvilBinary, startAnvil, type Anvil, type AnvilOptions } from './anvil.ts'
export { sinewDevTokenAbi, sinewDevTokenBytecode, sinewSettlementAbi, sinewSettlementBytecode } from './contracts.ts'
export { chainAt, deploySettlement, type DeployOptions, type SettlementDeployment } from './deploy.ts'
export { computeInvariant, genesisMint, type Invariant } from './invariant.ts'
export { headerTuple, type CheckpointerStatus } from './checkpointer.ts'
export { connectEvm, evmWallet, type EvmClients, type EvmWallet } from './evm.ts'
export { claimWithdrawal, revertError, type ClaimOptions, type ClaimResult } from './claim.ts'
export { depositTokens, settlementToken, type DepositOptions, type DepositResult } from './deposit.ts'
export { readContractState, type ContractState } from './onchain.ts'
export { deployDevSettlement, type DevSettlement, type DevSettlementOptions } from './dev.ts'
export { settleTransferAuthorization, type ExactTerms, type SettledTransfer } from './exact.ts'
export { Settlement, type SettlementOptions, type SettlementSettings, type SettlementStatus } from './service.ts'

/** The one registration point: adds Deposit, Withdraw and x402's DepositTransfer and AcceptEvmPayment to a node's registry. */
export function registerSettlementKinds(registry: TxKindRegistry): TxKindRegistry {
  return registry.register(...settlementKinds, ...evmPaymentKinds)
}
