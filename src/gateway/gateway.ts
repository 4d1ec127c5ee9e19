/**
 * The inference gateway: one paid, attributed call end to end.
 *
 *   prepare: authenticate the API key -> find the model -> check the spend limit and the
 *            balance against committed state minus outstanding reservations -> reserve
 *            the maximum charge (fee of max_tokens)
 *   run:     generate (stream deltas to the sink, metered in canonical tokens, cut at
 *            max_tokens) -> trace the delivered output over the model's Datanet versions ->
 *            RecordReceipt, signed by the node, which charges and splits on the ledger ->
 *            release the reservation
 *
 * A backend failure charges nothing and writes no receipt. A caller is charged only for
 * what reached it: the sink says how much of the text that is (for a stream, the frames the
 * client's TCP acknowledged); a caller that left before anything reached it pays nothing and
 * gets no receipt.
 *
 * Guarded on the way in: failed authentications per client are rate-limited, calls in flight
 * per key are capped, and backends are called only inside the operator's allow-list, with
 * the operator's key only for the origin it is bound to (egress.ts, limits.ts).
 */
import { randomBytes } from 'node:crypto'
import type { AttributionIndex } from '../attribution/index.ts'
import { keccak256, SinewError, type Hex, type Logger, type SinewErrorOptions } from '../core/index.ts'
import type { Address, LedgerNode, TxAck } from '../ledger/index.ts'
import {
  apiKeyProblem,
  answerHash,
  apiKeyRemaining,
  attributeAnswer,
  BUILTIN_INFINIGRAM,
  callFee,
  hashApiKey,
  MAX_RECEIPT_DELAY_MS,
  nodeAttestedResolver,
  parseBackend,
  readApiKey,
  readModel,
  readModelNames,
  recordCallLabels,
  type ContributionResolver,
  type ModelAttribution,
  type ModelRecord,
  type NamedIndex,
} from '../models/index.ts'
import { builtinBackend, openaiCompatibleBackend, type Backend, type CallTools, type ChatMessage, type ToolCall, type ToolCallDelta } from './backends.ts'
import { BackendAllowList } from './egress.ts'
import { InMemoryCallLimits, type CallLimits, type Refusal, type RateHeaders } from './controls.ts'
import { AuthFailureLimiter, type Clock } from './limits.ts'
import { AnswerMeter, countTokens } from './meter.ts'
import { NodeTxSubmitter } from './submitter.ts'

/** An attribution index for a Datanet version, and (until Datanets is on the ledger) its documents' authors. */
export type IndexSource = { index: AttributionIndex; authorOf?: (contribution: string) => Address | undefined }
export type IndexProvider = (ref: string) => IndexSource | Promise<IndexSource>

/** The `type` of an OpenAI error object. */
export const OPENAI_ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'insufficient_quota',
  'rate_limit_error',
  'api_error',
] as const
export type OpenAIErrorType = (typeof OPENAI_ERROR_TYPES)[number]

/** An error of the OpenAI-compatible API: a SinewError with OpenAI's `type` and `param` (the request field at fault). */
export class GatewayError extends SinewError {
  override name = 'GatewayError'
  readonly type: OpenAIErrorType
  readonly param: string | null
  constructor(o: SinewErrorOptions & { type: OpenAIErrorType; param?: string | null }) {
    super(o)
    this.type = o.type
    this.param = o.param ?? null
  }
}

export type GatewayOptions = {
  node: LedgerNode
  /** The key receipts are signed with (not on a serving worker, whose writer records them). */
  sequencerKey?: Hex
  indexes: IndexProvider
  /** The same resolver the node's RecordReceipt kind uses. */
  resolver?: ContributionResolver
  /** First-byte and between-chunk timeout of openai-compatible backends (default 60 s). */
  backendTimeoutMs?: number
  /** The operator's settings (node config keys of the same names; docs/gateway.md). */
  settings?: Partial<GatewaySettings>
  /** Time for the abuse limits (default Date.now); key expiry follows the node's clock (LedgerNode.now). */
  now?: Clock
  /** Where per-key limits and reservations live (default: in this process). */
  callLimits?: CallLimits
  /** On a serving worker: its writer admits and records the calls this process generates. */
  remote?: RemoteCalls
  /** max_tokens when a request gives none (default 256; at most the model's maxOutputTokens). */
  defaultMaxTokens?: number
  log?: Logger
}

/** A backend key as the operator binds it to an origin: for every model there, or only those `owners` own. */
export type BackendCredential = string | { apiKey: string; owners?: string[] }

export type GatewaySettings = {
  /** Backend keys by exact origin (`https://host[:port]`). */
  backendCredentials: Record<string, BackendCredential> | undefined
  /** BackendAllowList entries; default: public addresses, plus loopback on a dev network. */
  backendAllowList: string[] | undefined
  apiKeyFailuresPerMinute: number
  maxConcurrentCallsPerKey: number
  /** A stream whose client takes nothing for this long is dropped. */
  streamStallTimeoutMs: number
  /** Largest max_tokens per model (PerModelLimit; the defaults fill what is not given). */
  maxOutputTokens: PerModelLimit | undefined
  /** Longest prompt per model, in canonical tokens. */
  maxPromptTokens: PerModelLimit | undefined
  /** Largest request body of an inference call, in bytes. */
  callBodyLimitBytes: number
  /**
   * A call still generating this long after it was authorised is ended there (finish reason
   * `length`), so that its receipt lands within the ledger's MAX_RECEIPT_DELAY_MS even after
   * the client's acknowledgements (streamStallTimeoutMs, at most 1 h) and the receipt's block.
   * Not a node setting: it follows from the ledger's rule.
   */
  maxCallMs: number
}

/**
 * A limit by model: one number for all, or by model name, `builtin:infinigram` (every
 * built-in model) and `*` (the rest), looked up in that order.
 */
export type PerModelLimit = number | Record<string, number>

const DEFAULT_SETTINGS: GatewaySettings = {
  backendCredentials: undefined,
  backendAllowList: undefined,
  apiKeyFailuresPerMinute: 20,
  maxConcurrentCallsPerKey: 16,
  streamStallTimeoutMs: 60_000,
  maxOutputTokens: undefined,
  maxPromptTokens: undefined,
  callBodyLimitBytes: 1024 * 1024,
  maxCallMs: Number(MAX_RECEIPT_DELAY_MS) - 2 * 3_600_000,
}

/**
 * The built-in model generates on the node's own CPU and mostly copies documents past a few
 * hundred tokens: it gets half the output of a model served elsewhere.
 */
const DEFAULT_MAX_OUTPUT_TOKENS = { '*': 8192, [BUILTIN_INFINIGRAM]: 4096 }
const DEFAULT_MAX_PROMPT_TOKENS = { '*': 32_768 }

function limitFor(setting: PerModelLimit | undefined, defaults: Record<string, number>, model: ModelRecord): number {
  const table: Record<string, number> = typeof setting === 'number' ? { '*': setting } : { ...defaults, ...setting }
  return table[model.name] ?? (model.backend === BUILTIN_INFINIGRAM ? table[BUILTIN_INFINIGRAM] : undefined) ?? table['*'] ?? defaults['*']
}

/** What one call to a model may ask on this node. */
export type ModelLimits = { maxOutputTokens: number; maxPromptTokens: number }

/**
 * Why this node will not call a model's backend, known from its terms and the node's
 * settings alone: outside the backend allow-list (by scheme, origin, host or address
 * literal; a host name is also judged by its addresses when called), or at an origin where
 * the operator's backend key is bound to other accounts' models, so the call would go
 * without the key the backend needs. `code` is what a call gets (403).
 */
export type ModelRefusal = { code: 'backend_not_allowed' | 'backend_credential_missing'; reason: string }

export type CallRequest = {
  kind: 'chat' | 'completion'
  model: string
  apiKey: string | undefined
  /** The caller's network address (failed authentications are limited per client). */
  client?: string
  messages: ChatMessage[]
  prompt: string
  maxTokens?: number
  temperature?: number
  topP?: number
  seed?: number
  stop?: string[]
  /** Tools the model may call: passed on to an openai-compatible backend; the built-in model refuses them. */
  tools?: CallTools
  /** keccak256 of the request body (JSON as received, re-serialized). */
  requestHash: Hex
  /** The caller's end-user id (`user`) and tags (`metadata`), for its usage reports. */
  user?: string
  tags?: Record<string, string>
}

export type Sink = {
  /**
   * Hands a delta to the caller. A promise means the caller's connection is full: the gateway
   * pulls nothing more from the backend until it settles.
   */
  write(delta: string): void | Promise<void>
  /**
   * Hands a piece of a function call to the caller (calls with `tools` only); its arguments
   * count as characters of the answer like text does, in the order written.
   */
  toolCall?(delta: ToolCallDelta): void | Promise<void>
  /**
   * Generation is over (not called when the backend failed): the caller may be told the
   * finish reason now, before the trace and the receipt (which waits for its block).
   * Resolves to how many characters of what was written (text and function-call arguments) reached the caller: for a stream,
   * those whose frames the client's TCP acknowledged; for a single answer, all of them if
   * the caller is still there, else none.
   */
  end(finishReason: CallOutcome['finishReason']): number | Promise<number>
  /** Aborted once the caller has gone: the backend call is dropped at once. */
  readonly gone: AbortSignal
}

export type ReceiptSummary = {
  id: Hex
  tx: Hex
  height: string
  fee: string
  coverageBps: number
  method: string
  contributors: { contribution: string; author: string; amount: string }[]
}

export type CallOutcome = {
  text: string
  /** The function calls the answer makes (delivered ones only). */
  toolCalls: ToolCall[]
  finishReason: 'stop' | 'length' | 'tool_calls' | 'disconnected'
  promptTokens: number
  outputTokens: number
  attribution: ModelAttribution
  receipt?: ReceiptSummary
  /** Set when the receipt could not be recorded (the caller is then not charged). */
  receiptError?: SinewError
  /** Nothing reached the caller, so there is no receipt and no charge. */
  uncharged?: boolean
  timings: { generateMs: number; traceMs: number; receiptMs: number }
}

export type PreparedCall = {
  receiptId: Hex
  model: ModelRecord
  maxTokens: number
  promptTokens: number
  /** The key's x-ratelimit-* headers, for every answer of the call. */
  rateHeaders: RateHeaders
  /** Generates to `sink`, then traces what reached the caller and records the receipt. */
  run(sink: Sink): Promise<CallOutcome>
  /** Releases the reservation without running (e.g. the request is abandoned). */
  cancel(): void
}

/**
 * What generating a call produced, before its trace and receipt: all that recording it
 * needs. It is plain data, so a serving worker that generated a call can hand it to the
 * writer, which records it (RemoteCalls).
 */
export type Generation = {
  /** What went to the caller, in order: text, and pieces of function calls. */
  written: (string | ToolCallDelta)[]
  /** Why generation stopped, as told to the caller (before what reached it is known). */
  finishReason: CallOutcome['finishReason']
  /** How many characters of `written` reached the caller (what Sink.end resolved to). */
  reached: number
  /** The caller had gone by the end. */
  gone: boolean
  generateMs: number
}

/** A call admitted elsewhere (the writer of a serving worker): what the caller may be told, and how long it may generate. */
export type CallTicket = Pick<PreparedCall, 'receiptId' | 'model' | 'maxTokens' | 'promptTokens' | 'rateHeaders'> & { deadlineMs: number }

/**
 * Admission and recording done by another process: a serving worker's gateway generates
 * calls on its own event loop, but reserves, traces and records through its writer, where the
 * one copy of every key's limits and reservations lives (src/server/cluster).
 */
export type RemoteCalls = {
  /** Admits a call (throws what it is refused with), or says the writer serves it itself (`pass`: a built-in model, or a standby). */
  prepare(req: CallRequest): Promise<CallTicket | 'pass'>
  /** Traces and records what a call generated, and releases its reservation. */
  finish(receiptId: Hex, generation: Generation): Promise<CallOutcome>
  /** The call generated nothing to record (its backend failed, or it never ran): its reservation goes. */
  fail(receiptId: Hex): void
}

/** Thrown by a gateway with RemoteCalls for a call its process does not generate: pass the request to the writer. */
export class PassToWriter extends Error {
  override name = 'PassToWriter'
}

/** When the node let a call use its key: the head's height and the node's clock (ms). */
type Authorization = { height: bigint; at: bigint }

/** A call admitted where the limits live: also how to record what it generated, or to let its reservation go. */
export type AdmittedCall = PreparedCall & CallTicket & { finish(g: Generation): Promise<CallOutcome>; fail(): void }

/** A model's backend and the indexes its answers are traced over. */
type Runtime = { backend: Backend; indexes: NamedIndex[]; sources: IndexSource[] }

export class Gateway {
  private nodeSubmitter: NodeTxSubmitter | undefined
  readonly settings: GatewaySettings
  /** Where openai-compatible backends may be (the operator's list, or the network's default). */
  readonly allowList: BackendAllowList
  /** Per-key controls and reservations (see CallLimits: the one place their state lives). */
  private readonly callLimits: CallLimits
  private readonly backends = new Map<string, Promise<Runtime>>()
  private readonly remoteBackends = new Map<string, Backend>()
  private readonly resolver: ContributionResolver
  private readonly defaultMaxTokens: number
  private readonly now: Clock
  private readonly authFailures: AuthFailureLimiter
  private waiting = 0

  constructor(private readonly o: GatewayOptions) {
    this.resolver = o.resolver ?? nodeAttestedResolver
    this.defaultMaxTokens = o.defaultMaxTokens ?? 256
    const given = Object.fromEntries(Object.entries(o.settings ?? {}).filter(([k, v]) => k in DEFAULT_SETTINGS && v !== undefined))
    this.settings = { ...DEFAULT_SETTINGS, ...given }
    this.allowList = new BackendAllowList(this.settings.backendAllowList ?? BackendAllowList.defaults(o.node.chain.genesis.insecure === true))
    this.now = o.now ?? Date.now
    this.authFailures = new AuthFailureLimiter(this.settings.apiKeyFailuresPerMinute, this.now)
    this.callLimits = o.callLimits ?? new InMemoryCallLimits()
  }

  /** The queue of the txs the node signs itself (receipts, deposits), which keeps the sequencer's nonces consecutive. */
  get submitter(): NodeTxSubmitter {
    if (!this.o.sequencerKey) throw new SinewError({ code: 'internal', message: 'This gateway has no sequencer key: it records no receipts itself' })
    this.nodeSubmitter ??= new NodeTxSubmitter(this.o.node, this.o.sequencerKey)
    return this.nodeSubmitter
  }

  get state() {
    return this.o.node.chain.state
  }

  /** The ledger node the gateway charges on. */
  get node(): LedgerNode {
    return this.o.node
  }

  /** Active models, by name. */
  models(): ModelRecord[] {
    return readModelNames(this.state)
      .map((n) => readModel(this.state, n)!)
      .filter((m) => m?.active)
  }

  /** The largest output and prompt a call to `model` may have on this node. */
  limits(model: ModelRecord): ModelLimits {
    return {
      maxOutputTokens: limitFor(this.settings.maxOutputTokens, DEFAULT_MAX_OUTPUT_TOKENS, model),
      maxPromptTokens: limitFor(this.settings.maxPromptTokens, DEFAULT_MAX_PROMPT_TOKENS, model),
    }
  }

  /** Why this node refuses to serve `model`, or undefined if it calls its backend (see ModelRefusal). */
  refusal(model: ModelRecord): ModelRefusal | undefined {
    const b = parseBackend(model.backend)
    if (b.kind === 'builtin') return undefined
    const url = new URL(b.baseURL)
    const admission = this.allowList.admits(url)
    if (!admission.ok)
      return { code: 'backend_not_allowed', reason: `its backend ${url.origin} is outside this node's backend allow-list (${admission.reason})` }
    if (this.settings.backendCredentials?.[url.origin] !== undefined && this.credentialFor(url.origin, model.owner) === undefined)
      return { code: 'backend_credential_missing', reason: `this node holds no backend key for ${url.origin} that serves the models of ${model.owner}` }
    return undefined
  }

  /** Outstanding reservations (for tests and status). */
  get reserved(): number {
    return this.callLimits.outstanding
  }

  /** Calls now waiting for their caller's connection to take more (backpressure). */
  get waitingOnCallers(): number {
    return this.waiting
  }

  /**
   * The account behind an API key, for what a key's owner may read (GET /v1/usage): the key
   * must be usable now; a failure counts against the client's failed authentications like a call's.
   */
  ownerOf(apiKey: string | undefined, client: string | undefined): Address {
    if (!apiKey)
      throw new GatewayError({ code: 'missing_api_key', message: 'No API key. Send Authorization: Bearer <key> of the account.', type: 'authentication_error' })
    const wait = client === undefined ? 0 : this.authFailures.retryAfter(client)
    if (wait > 0)
      throw new GatewayError({
        code: 'too_many_auth_failures',
        message: `Too many failed API-key authentications from your address: retry in ${wait} s.`,
        type: 'rate_limit_error',
        details: { retryAfterS: wait },
      })
    const key = readApiKey(this.state, hashApiKey(apiKey))
    const problem = apiKeyProblem(key, this.o.node.now())
    if (problem === undefined) return key!.owner
    if (client !== undefined) this.authFailures.fail(client)
    const code = problem === 'unknown' ? 'invalid_api_key' : problem === 'revoked' ? 'revoked_api_key' : 'expired_api_key'
    throw new GatewayError({ code, message: `This API key is ${problem === 'unknown' ? 'not known' : problem}.`, type: 'authentication_error' })
  }

  /**
   * What a call would be at most, before anyone pays for it: the model (active, served by this
   * node), max_tokens (the default filled in, within the node's limit), the prompt's tokens
   * (within the limit) and the largest fee it may cost. Throws what the call would be refused with.
   * The x402 flow (src/server/x402.ts) quotes this price to a caller without an API key.
   */
  quote(req: CallRequest): { model: ModelRecord; maxTokens: number; promptTokens: number; maxFee: bigint } {
    const model = readModel(this.state, req.model)
    if (!model?.active) {
      throw new GatewayError({
        code: 'model_not_found',
        message: `The model \`${req.model}\` does not exist or is not active. GET /v1/models lists the models you can call.`,
        type: 'invalid_request_error',
        param: 'model',
      })
    }
    // Refused before anything is reserved or sent: the call costs nothing.
    const refused = this.refusal(model)
    if (refused) {
      throw new GatewayError({
        code: refused.code,
        message: `This node does not serve the model \`${model.name}\`: ${refused.reason}.`,
        type: 'permission_error',
        details: { model: model.name },
        hint:
          refused.code === 'backend_not_allowed'
            ? 'The node operator allows backends with backendAllowList (docs/gateway.md); a model on a public node must point at a public address. GET /v1/models marks the models this node refuses.'
            : 'The node operator binds backend keys to origins and owners with backendCredentials (docs/gateway.md). GET /v1/models marks the models this node refuses.',
      })
    }
    if (req.tools && model.backend === BUILTIN_INFINIGRAM) {
      throw new GatewayError({
        code: 'unsupported_tools',
        message: `The model \`${model.name}\` is a built-in ∞-gram model: it answers text only and cannot call tools. Leave tools out, or call a model served by an openai-compatible backend.`,
        type: 'invalid_request_error',
        param: 'tools',
        details: { model: model.name },
      })
    }
    const limits = this.limits(model)
    const maxTokens = req.maxTokens ?? Math.min(this.defaultMaxTokens, limits.maxOutputTokens)
    if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > limits.maxOutputTokens) {
      throw new GatewayError({
        code: 'invalid_value',
        message: `max_tokens is ${maxTokens}: the model \`${model.name}\` answers at most ${limits.maxOutputTokens} tokens on this node (GET /v1/models shows each model's limits).`,
        type: 'invalid_request_error',
        param: 'max_tokens',
        details: { maxOutputTokens: limits.maxOutputTokens },
      })
    }
    // The prompt is not charged (fees are per output token), so its length is capped instead.
    const promptText = req.kind === 'chat' ? chatPromptText(req.messages, req.tools) : req.prompt
    const promptTokens = countTokens(promptText)
    if (promptTokens > limits.maxPromptTokens) {
      throw new GatewayError({
        code: 'context_length_exceeded',
        message: `The prompt is ${promptTokens} tokens: the model \`${model.name}\` takes at most ${limits.maxPromptTokens} on this node. Shorten the ${req.kind === 'chat' ? 'messages' : 'prompt'}.`,
        type: 'invalid_request_error',
        param: req.kind === 'chat' ? 'messages' : 'prompt',
        details: { promptTokens, maxPromptTokens: limits.maxPromptTokens },
      })
    }
    // A call is paid by its receipt: while the store refuses writes (a full or unwritable
    // disk) no receipt could be recorded, so no call starts (it costs nothing).
    const fault = this.o.node.sequencer?.storageFault
    if (fault) {
      throw new GatewayError({
        code: fault.code,
        message: `Model calls are paused: this node cannot record receipts now (${fault.message}).`,
        type: 'api_error',
        details: { retryAfterS: 5, since: fault.since },
      })
    }
    const maxFee = callFee(model, BigInt(promptTokens), BigInt(maxTokens))
    return { model, maxTokens, promptTokens, maxFee }
  }

  /**
   * Authenticates, checks the model, limits and balance, and reserves the maximum charge.
   * With RemoteCalls (a serving worker), the writer does all that and this process generates.
   */
  async prepare(req: CallRequest): Promise<PreparedCall> {
    return this.o.remote ? this.prepareRemote(this.o.remote, req) : this.admit(req)
  }

  /**
   * prepare() where the limits live: the call admitted, with how to record what it generated
   * (`finish`) or to let its reservation go (`fail`). A serving worker's calls come here
   * through its writer (src/server/cluster), the rest through prepare().
   */
  async admit(req: CallRequest): Promise<AdmittedCall> {
    if (!req.apiKey) {
      throw new GatewayError({
        code: 'missing_api_key',
        message: 'No API key. Send Authorization: Bearer <key> (make one with `sinew apikey new`).',
        type: 'authentication_error',
      })
    }
    // A client that has spent its failed attempts is refused before its key is looked at,
    // so a guess that happens to be right does not get through either.
    const wait = req.client === undefined ? 0 : this.authFailures.retryAfter(req.client)
    if (wait > 0) {
      throw new GatewayError({
        code: 'too_many_auth_failures',
        message: `Too many failed API-key authentications from your address: retry in ${wait} s.`,
        type: 'rate_limit_error',
        details: { retryAfterS: wait, perMinute: this.settings.apiKeyFailuresPerMinute },
      })
    }
    const keyHash = hashApiKey(req.apiKey)
    // The key is judged at the head's height and this moment of ledger time (the node's clock,
    // which stamps the block RecordReceipt is checked in); the receipt names both, and the
    // ledger charges it if the key was good then, whatever happens to the key meanwhile.
    const authorization: Authorization = { height: this.o.node.chain.head.height, at: this.o.node.now() }
    const key = readApiKey(this.state, keyHash)
    const problem = apiKeyProblem(key, authorization.at)
    if (problem !== undefined && req.client !== undefined) this.authFailures.fail(req.client)
    if (problem === 'unknown')
      throw new GatewayError({
        code: 'invalid_api_key',
        message: 'Incorrect API key provided: no GrantApiKey on the ledger has its hash.',
        type: 'authentication_error',
      })
    if (problem === 'revoked') throw new GatewayError({ code: 'revoked_api_key', message: 'This API key has been revoked.', type: 'authentication_error' })
    if (problem === 'expired')
      throw new GatewayError({
        code: 'expired_api_key',
        message: `This API key expired at ${new Date(Number(key!.expiresAt)).toISOString()}.`,
        type: 'authentication_error',
      })
    const { model, maxTokens, promptTokens, maxFee } = this.quote(req)
    const allowed = key!.controls?.models ?? []
    if (allowed.length > 0 && !allowed.includes(model.name)) {
      throw new GatewayError({
        code: 'model_not_allowed',
        message: `This API key may not call the model \`${model.name}\`: its owner allowed ${allowed.map((m) => `\`${m}\``).join(', ')}.`,
        type: 'permission_error',
        param: 'model',
        details: { model: model.name, allowed },
        hint: 'The key owner changes the allow-list with `sinew apikey update KEY --model NAME ...`.',
      })
    }
    const payer = key!.owner
    const own = key!.controls?.concurrentCalls
    const admission = this.callLimits.admit({
      keyHash,
      payer,
      at: Number(authorization.at),
      controls: key!.controls,
      periods: key!.periods,
      spendRemaining: apiKeyRemaining(key!),
      balance: this.o.node.account(payer).balance,
      maxFee,
      maxTokens: promptTokens + maxTokens,
      maxConcurrent: own === undefined ? this.settings.maxConcurrentCallsPerKey : Math.min(own, this.settings.maxConcurrentCallsPerKey),
    })
    if (!admission.ok)
      throw refusalError(admission.refusal, admission.headers, {
        key: key!,
        balance: this.o.node.account(payer).balance,
        maxFee,
        tokens: promptTokens + maxTokens,
      })
    const receiptId = ('0x' + randomBytes(32).toString('hex')) as Hex
    // The model's index (and backend) is loaded before anything is generated: a call to a
    // model whose Datanet index is not ready is refused (503) before its caller gets a word.
    let rt: Runtime
    try {
      rt = await this.loadRuntime(model)
    } catch (e) {
      admission.release()
      throw e
    }
    // A call that runs too long ends where it is, so its receipt can still be recorded.
    const deadlineMs = Math.max(0, Number(authorization.at) + this.settings.maxCallMs - Number(this.o.node.now()))
    let open = true
    const close = (tokens: number | undefined) => {
      if (!open) return
      open = false
      if (tokens !== undefined) admission.settle(tokens)
      admission.release()
    }
    const finish = async (g: Generation): Promise<CallOutcome> => {
      let used = promptTokens
      try {
        const outcome = await this.record(req, model, keyHash, authorization, receiptId, promptTokens, g, rt)
        used += outcome.outputTokens
        return outcome
      } finally {
        close(used)
      }
    }
    const fail = () => close(promptTokens)
    return {
      receiptId,
      model,
      maxTokens,
      promptTokens,
      rateHeaders: admission.headers,
      deadlineMs,
      finish,
      fail,
      cancel: () => close(undefined),
      run: async (sink) => {
        let g: Generation
        try {
          g = await this.generate(rt.backend, req, maxTokens, deadlineMs, sink)
        } catch (e) {
          this.logFailure(e, model)
          fail()
          throw e
        }
        return finish(g)
      },
    }
  }

  /**
   * admit() for a call a serving worker will generate: `pass` when this process serves it
   * itself (a built-in model generates next to its index; a call without an API key is paid
   * by x402 here), so the worker hands the request over whole.
   */
  async admitRemote(req: CallRequest): Promise<AdmittedCall | 'pass'> {
    // Without a key the call is paid by x402 (or refused), which the writer's routes do.
    if (!req.apiKey) return 'pass'
    const model = readModel(this.state, req.model)
    if (model?.active && parseBackend(model.backend).kind === 'builtin') return 'pass'
    return this.admit(req)
  }

  /** prepare() on a serving worker: admitted by the writer, generated here, recorded by the writer. */
  private async prepareRemote(remote: RemoteCalls, req: CallRequest): Promise<PreparedCall> {
    const ticket = await remote.prepare(req)
    if (ticket === 'pass') throw new PassToWriter('the writer serves this call itself')
    const { receiptId, model, maxTokens, deadlineMs } = ticket
    let open = true
    const fail = () => {
      if (!open) return
      open = false
      remote.fail(receiptId)
    }
    return {
      receiptId,
      model,
      maxTokens,
      promptTokens: ticket.promptTokens,
      rateHeaders: ticket.rateHeaders,
      cancel: fail,
      run: async (sink) => {
        let g: Generation
        try {
          g = await this.generate(this.remoteBackend(model), req, maxTokens, deadlineMs, sink)
        } catch (e) {
          this.logFailure(e, model)
          fail()
          throw e
        }
        open = false
        return remote.finish(receiptId, g)
      },
    }
  }

  /** The caller sees a short message; the operator's log has the details (what a refused host resolved to, say). */
  private logFailure(e: unknown, model: ModelRecord): void {
    if (e instanceof SinewError && (e.status >= 500 || e.code === 'backend_not_allowed'))
      this.o.log?.[e.status >= 500 ? 'warn' : 'info']({ err: e, model: model.name }, e.shortMessage)
  }

  private runtime(model: ModelRecord): Promise<Runtime> {
    const cacheKey = `${model.name}@${model.version}`
    let r = this.backends.get(cacheKey)
    if (!r) {
      r = (async () => {
        const sources = await Promise.all(model.datanets.map(async (ref) => ({ ref, source: await this.o.indexes(ref) })))
        const indexes = sources.map(({ ref, source }) => ({ ref, index: source.index }))
        const b = parseBackend(model.backend)
        const backend = b.kind === 'builtin' ? builtinBackend(indexes[0].index) : this.openaiBackend(model, b)
        return { backend, indexes, sources: sources.map((s) => s.source) }
      })()
      r.catch(() => this.backends.delete(cacheKey))
      this.backends.set(cacheKey, r)
    }
    return r
  }

  /** An openai-compatible model's backend, with the operator's key where it is bound. */
  private openaiBackend(model: ModelRecord, b: { baseURL: string; upstreamModel?: string }): Backend {
    return openaiCompatibleBackend({
      baseURL: b.baseURL,
      upstreamModel: b.upstreamModel ?? model.name,
      apiKey: this.credentialFor(new URL(b.baseURL).origin, model.owner),
      allowList: this.allowList,
      timeoutMs: this.o.backendTimeoutMs ?? 60_000,
    })
  }

  /** On a serving worker: the backend of a model it generates (never a built-in one: the writer serves those, next to their index). */
  private remoteBackend(model: ModelRecord): Backend {
    const cacheKey = `${model.name}@${model.version}`
    let backend = this.remoteBackends.get(cacheKey)
    if (!backend) {
      const b = parseBackend(model.backend)
      if (b.kind === 'builtin') throw new PassToWriter('a built-in model generates next to its index, in the writer')
      backend = this.openaiBackend(model, b)
      this.remoteBackends.set(cacheKey, backend)
    }
    return backend
  }

  /** The model's runtime, with an index that is not ready said as the model not being ready (503, Retry-After). */
  private async loadRuntime(model: ModelRecord): Promise<Runtime> {
    try {
      return await this.runtime(model)
    } catch (e) {
      // A version whose index is still being built (right after publishing, or while a
      // dev node starts): the model exists and will answer soon, so 503 and Retry-After.
      if (e instanceof SinewError && e.code === 'index_not_ready') {
        const build = (e.details as { build?: { state?: string; done?: number; total?: number } } | undefined)?.build
        const progress = build?.total ? ` (${build.done ?? 0}/${build.total} documents)` : ''
        throw new SinewError({
          code: 'model_not_ready',
          message: `The model \`${model.name}\` is not ready: ${e.shortMessage}${progress}.`,
          cause: e,
          details: { model: model.name, ...(e.details as Record<string, unknown>) },
          hint: build?.state === 'failed' ? 'The Datanet version failed to index; its owner can retry the build.' : 'Retry in a few seconds.',
        })
      }
      throw new SinewError({
        code: 'backend_unavailable',
        message: `The model's Datanet index is not available: ${(e as Error).message}`.slice(0, 300),
        cause: e,
      })
    }
  }

  /**
   * The operator's key for a backend origin: bound to that exact origin (never to a model
   * name), and to the models of `owners` only where the operator said so.
   */
  private credentialFor(origin: string, owner: Address): string | undefined {
    const c = this.settings.backendCredentials?.[origin]
    if (c === undefined || typeof c === 'string') return c
    return !c.owners || c.owners.includes(owner.toLowerCase()) ? c.apiKey : undefined
  }

  /**
   * Streams the backend's answer to the caller, metered and cut at max_tokens, and waits
   * until the caller has what reached it. Runs where the caller's connection is (the writer,
   * or a serving worker).
   */
  private async generate(backend: Backend, req: CallRequest, maxTokens: number, deadlineMs: number, sink: Sink): Promise<Generation> {
    const t0 = performance.now()
    const meter = new AnswerMeter(maxTokens)
    const abort = new AbortController()
    // A caller that leaves drops the backend call at once (not at its next delta).
    const onGone = () => abort.abort(STOPPED)
    if (sink.gone.aborted) onGone()
    else sink.gone.addEventListener('abort', onGone)
    // A call that runs too long ends where it is, so its receipt can still be recorded.
    let overtime = false
    const deadline = setTimeout(() => {
      overtime = true
      abort.abort(STOPPED)
    }, deadlineMs)
    // What went to the caller, in order: text, and pieces of function calls.
    const written: (string | ToolCallDelta)[] = []
    let finishReason: CallOutcome['finishReason'] = 'stop'
    try {
      for await (const delta of backend.stream({
        kind: req.kind,
        messages: req.messages,
        prompt: req.kind === 'chat' ? lastUserText(req.messages) : req.prompt,
        maxTokens,
        temperature: req.temperature,
        topP: req.topP,
        seed: req.seed,
        stop: req.stop,
        tools: req.tools,
        signal: abort.signal,
      })) {
        if (sink.gone.aborted || overtime) break
        if (typeof delta === 'string') {
          const accepted = meter.pushText(delta)
          if (accepted) {
            written.push(accepted)
            // Backpressure: while the caller's connection is full, pull nothing more.
            await this.waitOnCaller(sink.write(accepted))
          }
        } else if (sink.toolCall) {
          const piece = { ...delta, arguments: meter.pushArguments(delta.index, delta.arguments) }
          if (piece.arguments || piece.id !== undefined || piece.name !== undefined) {
            written.push(piece)
            await this.waitOnCaller(sink.toolCall(piece))
          }
        }
        if (meter.full) {
          finishReason = 'length'
          break
        }
      }
    } catch (e) {
      abort.abort(STOPPED)
      if (e instanceof SinewError) throw e
      throw new SinewError({ code: 'backend_error', message: `The model backend failed: ${(e as Error)?.message ?? String(e)}`.slice(0, 300), cause: e })
    } finally {
      clearTimeout(deadline)
      sink.gone.removeEventListener('abort', onGone)
    }
    if (overtime) finishReason = 'length'
    // A fixed reason: `abort()` without one builds a DOMException (a stack trace) per call.
    abort.abort(STOPPED)
    if (sink.gone.aborted) finishReason = 'disconnected'
    const generateMs = performance.now() - t0
    // What reached the caller is what it is charged for.
    const reached = await this.waitOnCaller(sink.end(finishReason === 'stop' && written.some((w) => typeof w !== 'string') ? 'tool_calls' : finishReason))
    return { written, finishReason, reached, gone: sink.gone.aborted, generateMs }
  }

  /** Traces what reached the caller over the model's Datanet versions and records the receipt, which charges and splits. */
  private async record(
    req: CallRequest,
    model: ModelRecord,
    keyHash: Hex,
    authorization: Authorization,
    receiptId: Hex,
    promptTokens: number,
    g: Generation,
    rt: Runtime,
  ): Promise<CallOutcome> {
    const answer = deliveredAnswer(g.written, g.reached)
    const delivered = answer.text
    let finishReason = g.finishReason
    if (!answer.whole || g.gone) finishReason = 'disconnected'
    else if (finishReason === 'stop' && answer.toolCalls.length > 0) finishReason = 'tool_calls'
    const t1b = performance.now()
    // Attribution runs over the text; a call's arguments are output no Datanet is credited for.
    const attribution = attributeAnswer(rt.indexes, answer)
    if (delivered.length === 0 && answer.toolCalls.length === 0 && finishReason === 'disconnected') {
      return {
        text: '',
        toolCalls: [],
        finishReason,
        promptTokens,
        outputTokens: 0,
        attribution,
        uncharged: true,
        timings: { generateMs: g.generateMs, traceMs: 0, receiptMs: 0 },
      }
    }
    const t2 = performance.now()
    const weights = attribution.weights.map((w) => ({
      contribution: w.contribution,
      datanet: w.datanet,
      author: this.authorOf(w.contribution, rt.sources) ?? model.owner,
      bps: String(w.bps),
    }))
    const wire = {
      id: receiptId,
      model: model.name,
      modelVersion: String(model.version),
      apiKeyHash: keyHash,
      authorizedHeight: authorization.height.toString(),
      authorizedAt: authorization.at.toString(),
      requestHash: req.requestHash,
      outputHash: answerHash(answer),
      promptTokens: String(promptTokens),
      outputTokens: String(attribution.outputTokens),
      finishReason,
      method: attribution.method,
      coverageBps: String(attribution.coverageBps),
      spans: attribution.spans.map((s) => ({ start: String(s.start), end: String(s.end), tokens: String(s.tokens), contribution: s.contribution })),
      weights,
    }
    let receipt: ReceiptSummary | undefined
    let receiptError: SinewError | undefined
    try {
      // The caller's own labels, off the ledger, written first: whoever reads the receipt finds them (GET /v1/usage).
      await recordCallLabels(this.o.node.store, receiptId, { user: req.user, tags: req.tags })
      const ack: TxAck = await this.submitter.submit('RecordReceipt', wire)
      const r = ack.receipt.result as Record<string, any>
      receipt = {
        id: receiptId,
        tx: ack.hash,
        height: ack.height.toString(),
        fee: r.fee,
        coverageBps: attribution.coverageBps,
        method: attribution.method,
        contributors: r.contributors,
      }
    } catch (e) {
      receiptError = e instanceof SinewError ? e : new SinewError({ code: 'receipt_failed', message: String(e) })
      this.o.log?.warn({ err: e, receiptId }, 'receipt not recorded')
    }
    const t3 = performance.now()
    return {
      text: delivered,
      toolCalls: answer.toolCalls,
      finishReason,
      promptTokens,
      outputTokens: attribution.outputTokens,
      attribution,
      receipt,
      receiptError,
      timings: { generateMs: g.generateMs, traceMs: t2 - t1b, receiptMs: t3 - t2 },
    }
  }

  /** Awaits what a sink handed back, counted as a call waiting on its caller while it is pending. */
  private async waitOnCaller<T>(x: T | Promise<T>): Promise<T> {
    if (!(x instanceof Promise)) return x
    this.waiting++
    try {
      return await x
    } finally {
      this.waiting--
    }
  }

  private authorOf(contribution: string, sources: IndexSource[]): Address | undefined {
    const fromState = this.resolver.authorOf(this.state, contribution)
    if (fromState) return fromState
    for (const s of sources) {
      const a = s.authorOf?.(contribution)
      if (a) return a
    }
    return undefined
  }
}

/** The OpenAI-shaped error of a call the per-key controls refused, with the key's x-ratelimit-* headers. */
function refusalError(
  r: Refusal,
  headers: RateHeaders,
  ctx: { key: { owner: string; spendLimit: string; spent: string }; balance: bigint; maxFee: bigint; tokens: number },
): GatewayError {
  const rateLimitHeaders = headers
  switch (r.kind) {
    case 'requests':
    case 'tokens':
      return new GatewayError({
        code: 'rate_limit_exceeded',
        message: r.tooLarge
          ? `This call counts ${ctx.tokens} tokens (prompt + max_tokens), more than this API key's limit of ${r.limit} tokens per minute: lower max_tokens or shorten the prompt.`
          : `Rate limit reached for ${r.kind} on this API key: ${r.limit} ${r.kind} per minute. Retry in ${r.retryAfterS} s.`,
        type: 'rate_limit_error',
        details: { limit: r.limit, per: 'minute', of: r.kind, ...(r.tooLarge ? {} : { retryAfterS: r.retryAfterS }), rateLimitHeaders },
      })
    case 'concurrent':
      return new GatewayError({
        code: 'too_many_concurrent_calls',
        message: `This API key already has ${r.limit} calls in flight, the most it may hold: wait for one to finish.`,
        type: 'rate_limit_error',
        details: { retryAfterS: 1, maxConcurrentCalls: r.limit, rateLimitHeaders },
      })
    case 'spend_limit':
      return new GatewayError({
        code: 'spend_limit_reached',
        message: `This API key's spend limit is reached: ${r.remaining} base units left (less calls in flight), this call may cost up to ${ctx.maxFee}.`,
        type: 'insufficient_quota',
        details: { spendLimit: ctx.key.spendLimit, spent: ctx.key.spent, maxCharge: ctx.maxFee.toString(), rateLimitHeaders },
      })
    case 'budget': {
      const resetsAt = new Date(r.resetsAt).toISOString()
      const name = { day: 'daily', week: 'weekly', month: 'monthly' }[r.window]
      return new GatewayError({
        code: 'budget_exhausted',
        message: `This API key's ${name} budget of ${r.budget} base units is used up (${r.spent} spent, ${r.reserved} held by calls in flight; this call may cost up to ${ctx.maxFee}). It resets at ${resetsAt}.`,
        type: 'insufficient_quota',
        details: {
          window: r.window,
          budget: r.budget.toString(),
          spent: r.spent.toString(),
          reserved: r.reserved.toString(),
          maxCharge: ctx.maxFee.toString(),
          resetsAt,
          rateLimitHeaders,
        },
      })
    }
    case 'balance':
      return new GatewayError({
        code: 'insufficient_balance',
        message: `The account ${ctx.key.owner} has ${r.free} base units free, this call may cost up to ${ctx.maxFee}. Fund it or lower max_tokens.`,
        type: 'insufficient_quota',
        details: { balance: ctx.balance.toString(), maxCharge: ctx.maxFee.toString(), rateLimitHeaders },
      })
  }
}

/** The reason a call's backend signal is aborted with once the call no longer needs it. */
const STOPPED = new Error('the call no longer needs the backend')

/**
 * What a chat call's prompt counts, in canonical tokens: the messages' text, each earlier
 * function call's name and arguments, and the tools offered (their JSON as sent).
 */
function chatPromptText(messages: ChatMessage[], tools: CallTools | undefined): string {
  const parts: string[] = []
  for (const m of messages) {
    parts.push(m.content)
    for (const c of m.toolCalls ?? []) parts.push(c.name, c.arguments)
  }
  if (tools) parts.push(JSON.stringify(tools.tools))
  return parts.join('\n')
}

/**
 * The part of an answer that reached the caller: `reached` characters of it (text and
 * function-call arguments, in the order written; a piece that carries none, such as a call's
 * name, reached the caller when something after it did, or everything did). Function calls
 * are put together by their index, in the order they began.
 */
function deliveredAnswer(written: (string | ToolCallDelta)[], reached: number): { text: string; toolCalls: ToolCall[]; whole: boolean } {
  const size = (w: string | ToolCallDelta) => (typeof w === 'string' ? w.length : w.arguments.length)
  const whole = reached >= written.reduce((n, w) => n + size(w), 0)
  let text = ''
  const calls = new Map<number, ToolCall>()
  let left = whole ? Number.POSITIVE_INFINITY : reached
  for (const w of written) {
    // Nothing after this point reached the caller (a piece without characters included).
    if (left <= 0) break
    const take = Math.min(size(w), left)
    left -= take
    if (typeof w === 'string') text += w.slice(0, take)
    else {
      const c = calls.get(w.index) ?? { id: '', name: '', arguments: '' }
      if (w.id !== undefined) c.id = w.id
      if (w.name !== undefined) c.name += w.name
      c.arguments += w.arguments.slice(0, take)
      calls.set(w.index, c)
    }
  }
  return { text, toolCalls: [...calls.values()], whole }
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') return messages[i].content
  return messages.map((m) => m.content).join('\n')
}
