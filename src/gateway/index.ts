/**
 * The inference gateway: OpenAI-compatible calls through Sinew, each traced over the
 * model's Datanet versions, charged, split and receipted on the ledger. Spec: docs/gateway.md.
 */
export {
  Gateway,
  GatewayError,
  PassToWriter,
  type AdmittedCall,
  type CallTicket,
  type Generation,
  type RemoteCalls,
  OPENAI_ERROR_TYPES,
  type OpenAIErrorType,
  type CallOutcome,
  type CallRequest,
  type GatewayOptions,
  type BackendCredential,
  type GatewaySettings,
  type ModelLimits,
  type ModelRefusal,
  type PerModelLimit,
  type IndexProvider,
  type IndexSource,
  type PreparedCall,
  type ReceiptSummary,
  type Sink,
} from './gateway.ts'
export {
  builtinBackend,
  MAX_TOOL_CALLS,
  openaiCompatibleBackend,
  type Backend,
  type BackendDelta,
  type BackendRequest,
  type CallTools,
  type ChatMessage,
  type ToolCall,
  type ToolCallDelta,
} from './backends.ts'
export { AnswerMeter, countTokens, TokenMeter } from './meter.ts'
export { AddressNotAllowedError, BackendAllowList, classifyAddress, parseIp, type AddressClass } from './egress.ts'
export { AuthFailureLimiter, ConcurrencyLimit, clientKey } from './limits.ts'
export { formatDuration, InMemoryCallLimits, type Admission, type AdmitRequest, type CallLimits, type RateHeaders, type Refusal } from './controls.ts'
export { NodeTxSubmitter } from './submitter.ts'
export { dirIndexProvider, indexDirFor } from './indexes.ts'
