/**
 * Models: tx kinds (RegisterModel, UpdateModel, SetModelPrices, GrantApiKey, UpdateApiKey,
 * RevokeApiKey, RecordReceipt, AcceptPayment),
 * their state, the fee and its split, and attribution over a model's Datanet versions.
 * Spec: docs/gateway.md. The gateway (src/gateway) serves the models over the OpenAI API.
 */
import type { TxKindRegistry } from '../ledger/index.ts'
import { createModelKinds, nodeAttestedResolver, type ContributionResolver } from './kinds.ts'
import { acceptPaymentKind } from './payment-tab.ts'

export {
  BUILTIN_INFINIGRAM,
  createModelKinds,
  MAX_RECEIPT_DELAY_MS,
  MODEL_NAME,
  nodeAttestedResolver,
  OPENAI_COMPATIBLE,
  parseBackend,
  type ContributionResolver,
  type GrantApiKeyMessage,
  type ModelMessage,
  type ReceiptMessage,
  type RevokeApiKeyMessage,
  type SetModelPricesMessage,
  type UpdateApiKeyMessage,
  type UpdateModelMessage,
  API_KEY_LIMIT_NAMES,
} from './kinds.ts'
export { callFee, computeFee, creditsByAuthor, splitFee, type Prices, type Split, type WeightInput } from './fees.ts'
export { BUDGET_WINDOWS, isBudgetWindow, periodEnd, periodStart, type BudgetWindow } from './budgets.ts'
export {
  answerHash,
  attributeAnswer,
  attributeOutput,
  combinedMethod,
  type Answer,
  type AnswerToolCall,
  type ModelAttribution,
  type NamedIndex,
  type ReceiptSpan,
} from './attribution.ts'
export { API_KEY_PREFIX, hashApiKey, newApiKey } from './apikeys.ts'
export {
  apiKeyKey,
  apiKeyProblem,
  apiKeyProblemAt,
  apiKeyRemaining,
  readApiKey,
  readModel,
  readModelNames,
  readModelVersion,
  readReceiptPointer,
  type ApiKeyControls,
  type ApiKeyRecord,
  type ModelRecord,
  type ModelTerms,
  type ReceiptPointer,
} from './state.ts'

/** Registers the models kinds on a node's registry. */
export function registerModelKinds(registry: TxKindRegistry, resolver: ContributionResolver = nodeAttestedResolver): TxKindRegistry {
  return registry.register(...createModelKinds(resolver), acceptPaymentKind)
}

export { acceptPaymentKind, type AcceptPaymentMessage } from './payment-tab.ts'
export { EarningsIndex, receiptView, type Earnings, type ReceiptView } from './earnings.ts'
export { verifyReceipt, type ReceiptCheck, type ReceiptVerification } from './verify-receipt.ts'
export { recordCallLabels, UsageIndex, type CallLabels, type UsageFilter, type UsageReport, type UsageRow } from './usage.ts'
