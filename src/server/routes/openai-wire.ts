/**
 * The OpenAI wire shapes and helpers shared by the OpenAI-compatible routes (openai.ts: chat
 * and text completions, models; openai-responses.ts: the Responses API; openai-usage.ts;
 * openai-proxy.ts on a replica): response schemas, OpenAI error objects and refusal headers,
 * body parsing, the bearer key, the `sinew` field and `usage` of an answer, and runWhole for
 * answers sent in one piece. Spec: docs/gateway.md.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { addressSchema, countSchema, errorCatalogue, hash32Schema, keccak256, uintStringSchema, type ErrorCode, type SinewError } from '../../core/index.ts'
import {
  GatewayError,
  OPENAI_ERROR_TYPES,
  type CallOutcome,
  type ModelLimits,
  type ModelRefusal,
  type OpenAIErrorType,
  type Gateway,
  type PreparedCall,
} from '../../gateway/index.ts'
import { MAX_TOOL_CALLS, type CallTools, type ChatMessage } from '../../gateway/index.ts'
import type { ModelRecord } from '../../models/index.ts'
import { BAD_JSON, describeErrors } from '../openapi.ts'
import { X402_REFUSALS, type X402Payments } from '../x402.ts'

export type OpenAIRoutesOptions = {
  gateway: Gateway
  x402?: X402Payments
  /** On a serving worker: hands a call its writer serves itself (PassToWriter) to the writer, whole. */
  passOn?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply
}

const contentPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough()
/** The most tools one call may offer (OpenAI's limit). */
const MAX_TOOLS = 128
/** A function's name, as OpenAI allows it. */
export const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 of a-z, A-Z, 0-9, _ and -')
const toolCall = z.object({
  id: z.string().min(1).max(256),
  type: z.literal('function'),
  function: z.object({ name: functionName, arguments: z.string() }),
})
export const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).max(MAX_TOOL_CALLS).nullish().describe("An assistant message's function calls"),
    tool_call_id: z.string().min(1).max(256).optional().describe('Which function call a tool message answers'),
  })
  .passthrough()
/** A function the model may call: passed on to the backend as given. */
export const functionTool = z.object({
  type: z.literal('function'),
  function: z
    .object({
      name: functionName,
      description: z.string().max(4096).optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    })
    .passthrough(),
})
const toolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: functionName }) })])
const common = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullish(),
  n: z.literal(1).nullish(),
  user: z.string().max(256).nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
}
export const chatBody = z
  .object({
    ...common,
    messages: z.array(message).min(1),
    max_completion_tokens: z.number().int().min(1).nullish(),
    tools: z.array(functionTool).max(MAX_TOOLS).nullish(),
    tool_choice: toolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
  })
  .passthrough()
export const completionBody = z.object({ ...common, prompt: z.union([z.string(), z.array(z.string()).length(1)]) }).passthrough()

// ---------- the answers' shapes, for the OpenAPI document (the routes answer exactly these) ----------

/** An OpenAI error object: what every refusal of these routes answers, so the official clients understand it. */
export const openaiErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.enum(OPENAI_ERROR_TYPES),
      param: z.string().nullable().describe('The request parameter at fault, if one is'),
      code: z.string().nullable().describe('The Sinew error code (GET /v1/errors)'),
    }),
  })
  .meta({ id: 'OpenAIError', description: 'An OpenAI error object: {"error": {"message", "type", "param", "code"}}' })

export const openaiModelSchema = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: countSchema.describe('Seconds since the epoch'),
    owned_by: addressSchema,
    sinew: z.object({
      version: countSchema,
      backend: z.string().describe('The backend, without any upstream model name'),
      datanets: z.array(z.string()),
      pricePerMillion: uintStringSchema.describe('SIN base units per million output tokens'),
      promptPricePerMillion: uintStringSchema.describe('SIN base units per million prompt tokens'),
      requestPrice: uintStringSchema.describe('SIN base units per call'),
      contributorShareBps: countSchema,
      active: z.boolean(),
      description: z.string(),
      limits: z
        .object({
          maxOutputTokens: countSchema.describe('The largest max_tokens a call may ask of the model on this node'),
          maxPromptTokens: countSchema.describe('The longest prompt, in canonical tokens, a call may send it on this node'),
        })
        .describe("This node's limits on one call to the model"),
      served: z.boolean().describe('False when this node refuses calls to the model (refusal says why)'),
      refusal: z
        .object({
          code: z.enum(['backend_not_allowed', 'backend_credential_missing']).describe('What a call gets (403)'),
          reason: z.string(),
        })
        .nullable()
        .describe("Why this node will not call the model's backend, or null"),
    }),
  })
  .meta({ id: 'OpenAIModel' })

export const openaiModelListSchema = z.object({ object: z.literal('list'), data: z.array(openaiModelSchema) })

export const sinewFieldSchema = z
  .object({
    receipt: hash32Schema.describe('The receipt id: GET /v1/receipts/<id>'),
    url: z.string(),
    tx: hash32Schema.nullable().describe('The RecordReceipt tx'),
    height: uintStringSchema.nullable(),
    fee: uintStringSchema.nullable().describe('What the call cost, SIN base units'),
    coverageBps: countSchema,
    method: z.string(),
    contributors: z.array(z.object({ contribution: z.string(), author: z.string(), amount: uintStringSchema })),
    finishReason: z.enum(['stop', 'length', 'tool_calls', 'disconnected']),
    timings: z.object({ generateMs: z.number(), traceMs: z.number(), receiptMs: z.number() }),
  })
  .meta({ id: 'SinewCallInfo', description: 'What Sinew adds to an answer: its receipt, the attribution and the fee split' })

const usageSchema = z.object({
  prompt_tokens: countSchema,
  completion_tokens: countSchema,
  total_tokens: countSchema,
  cost: uintStringSchema.nullable().describe('What the call cost, SIN base units (the receipt fee; null if it could not be recorded)'),
  receipt: hash32Schema.describe('The receipt id: GET /v1/receipts/<id>'),
})
export const finishReason = z.enum(['stop', 'length'])
const wireToolCall = z.object({ id: z.string(), type: z.literal('function'), function: z.object({ name: z.string(), arguments: z.string() }) })

export const chatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: countSchema,
    model: z.string(),
    choices: z.array(
      z.object({
        index: countSchema,
        message: z.object({
          role: z.literal('assistant'),
          content: z.string().nullable().describe('The text; null when the answer only calls functions'),
          refusal: z.null(),
          tool_calls: z.array(wireToolCall).optional().describe('The functions the model calls (calls with tools)'),
        }),
        finish_reason: z.enum(['stop', 'length', 'tool_calls']),
        logprobs: z.null(),
      }),
    ),
    usage: usageSchema,
    sinew: sinewFieldSchema,
  })
  .meta({ id: 'ChatCompletion' })

export const completionSchema = z
  .object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: countSchema,
    model: z.string(),
    choices: z.array(z.object({ index: countSchema, text: z.string(), finish_reason: finishReason, logprobs: z.null() })),
    usage: usageSchema,
    sinew: sinewFieldSchema,
  })
  .meta({ id: 'Completion' })

const eventStreamSchema = z
  .string()
  .describe(
    'With stream: true, server-sent events: `data: <chunk JSON>` frames, the last chunk with usage and the sinew field, then `data: [DONE]`; a failure after the first frame is an OpenAI error object frame',
  )

/** An OpenAI-compatible route's error answers: OpenAI error objects; a refusal of the ledger (422) is 402, as OpenAI answers an exhausted quota. */
export const openaiErrorResponses = (...answers: (ErrorCode | number)[]) =>
  describeErrors(answers, { schema: openaiErrorSchema, status: (code) => openaiStatus(errorCatalogue[code].status) })

const openaiStatus = (status: number): number => (status === 422 ? 402 : status)

/** What a call can be refused for, besides its body: the key, the money, the model, the backend, the limits. */
export const CALL_REFUSALS: ErrorCode[] = [
  ...BAD_JSON,
  'missing_required_parameter',
  'invalid_value',
  'context_length_exceeded',
  'missing_api_key',
  'invalid_api_key',
  'revoked_api_key',
  'expired_api_key',
  'spend_limit_reached',
  'insufficient_balance',
  'model_not_found',
  'backend_not_allowed',
  'backend_credential_missing',
  'too_many_auth_failures',
  'too_many_concurrent_calls',
  'rate_limit_exceeded',
  'model_not_allowed',
  'budget_exhausted',
  'model_not_ready',
  'backend_unavailable',
  'backend_error',
  'backend_timeout',
  'receipt_failed',
  ...X402_REFUSALS,
]

/** A completion route's description: its body, its answer as JSON or as server-sent events, what it is refused for. */
const completionRoute = <B extends z.ZodType, A extends z.ZodType>(what: 'chat' | 'text', body: B, answer: A, also: ErrorCode[]) => ({
  summary: `OpenAI: ${what} completion, attributed and paid; receipt in x-sinew-receipt`,
  tags: ['openai'],
  body,
  response: {
    200: {
      description: 'The completion (JSON), or with stream: true its chunks (server-sent events)',
      content: { 'application/json': { schema: answer }, 'text/event-stream': { schema: eventStreamSchema } },
    },
    ...openaiErrorResponses(...CALL_REFUSALS, ...also),
  },
})

/**
 * The OpenAPI description of the four routes, shared with a replica's pass-through
 * (./openai-proxy.ts), which adds the errors of its own (`also`).
 */
export const openaiRouteSchemas = (also: ErrorCode[] = []) => ({
  models: {
    summary: 'OpenAI: the models this node serves',
    tags: ['openai'],
    response: { 200: openaiModelListSchema, ...openaiErrorResponses(...also) },
  },
  model: {
    summary: 'OpenAI: one model, with its Sinew terms',
    tags: ['openai'],
    params: z.object({ model: z.string() }),
    response: { 200: openaiModelSchema, ...openaiErrorResponses('model_not_found', ...also) },
  },
  chat: completionRoute('chat', chatBody, chatCompletionSchema, also),
  completion: completionRoute('text', completionBody, completionSchema, also),
})

/** Seconds a caller should wait before retrying a model whose index is still building. */
const RETRY_AFTER_S = '2'

type OpenAIErrorBody = { error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null } }

/** The headers of a refused call: Retry-After (429, 503) and the key's x-ratelimit-* headers. */
export function refusalHeaders(e: SinewError): Record<string, string> {
  const after = retryAfter(e)
  const rate = (e.details as { rateLimitHeaders?: Record<string, string> }).rateLimitHeaders ?? {}
  return { ...rate, ...(after ? { 'retry-after': after } : {}) }
}

/** Seconds before a refused call may be retried, when the refusal says (429, 503). */
function retryAfter(e: SinewError): string | undefined {
  if (e.code === 'model_not_ready') return RETRY_AFTER_S
  if (typeof e.details.retryAfterS === 'number') return String(e.details.retryAfterS)
  return undefined
}

/**
 * The OpenAI error object for a SinewError. A well-formed call the ledger refuses (422:
 * a spend limit, a balance) answers 402, as OpenAI answers an exhausted quota.
 */
export function openaiError(e: SinewError): { status: number; body: OpenAIErrorBody } {
  const status = openaiStatus(e.status)
  const type: OpenAIErrorType =
    e instanceof GatewayError
      ? e.type
      : e.status === 401
        ? 'authentication_error'
        : e.status === 402
          ? 'insufficient_quota'
          : e.status === 403
            ? 'permission_error'
            : e.status === 429
              ? 'rate_limit_error'
              : e.status < 500
                ? 'invalid_request_error'
                : 'api_error'
  return { status, body: { error: { message: e.shortMessage, type, param: e instanceof GatewayError ? e.param : null, code: e.code } } }
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const param =
    issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || null
  throw new GatewayError({
    code: issue.code === 'invalid_type' && issue.message.includes('undefined') ? 'missing_required_parameter' : 'invalid_value',
    message: `${param ?? 'body'}: ${issue.message}`,
    type: 'invalid_request_error',
    param,
  })
}

/** A chat body's messages as the gateway takes them: text, and the function calls and their answers. */
export function chatMessages(body: z.infer<typeof chatBody>): ChatMessage[] {
  return body.messages.map((m, i) => {
    if (m.role === 'tool' && m.tool_call_id === undefined)
      throw new GatewayError({
        code: 'missing_required_parameter',
        message: `messages[${i}] is a tool message without tool_call_id: say which function call it answers.`,
        type: 'invalid_request_error',
        param: `messages[${i}].tool_call_id`,
      })
    if (m.content === undefined && !(m.role === 'assistant' && m.tool_calls && m.tool_calls.length > 0))
      throw new GatewayError({
        code: 'missing_required_parameter',
        message: `messages[${i}].content: required (only an assistant message that calls functions may leave it out).`,
        type: 'invalid_request_error',
        param: `messages[${i}].content`,
      })
    const out: ChatMessage = { role: m.role, content: textOf(m.content) }
    if (m.name !== undefined) out.name = m.name
    if (m.tool_calls && m.tool_calls.length > 0) out.toolCalls = m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }))
    if (m.role === 'tool') out.toolCallId = m.tool_call_id
    return out
  })
}

/** The tools of a chat body, or undefined when it offers none; tool_choice without tools is refused, as OpenAI does. */
export function chatTools(body: z.infer<typeof chatBody>): CallTools | undefined {
  if (!body.tools || body.tools.length === 0) {
    if (body.tool_choice != null)
      throw new GatewayError({
        code: 'invalid_value',
        message: 'tool_choice is only allowed when tools are given.',
        type: 'invalid_request_error',
        param: 'tool_choice',
      })
    return undefined
  }
  return { tools: body.tools, toolChoice: body.tool_choice ?? undefined, parallelToolCalls: body.parallel_tool_calls ?? undefined }
}

/** A function call as OpenAI's chat completions write it. */
export const wireToolCallOf = (c: { id: string; name: string; arguments: string }) => ({
  id: c.id,
  type: 'function' as const,
  function: { name: c.name, arguments: c.arguments },
})

export const textOf = (c: z.infer<typeof message>['content']): string => (c == null ? '' : typeof c === 'string' ? c : c.map((p) => p.text).join(''))

export function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization
  if (!h) return undefined
  const m = /^Bearer\s+(.+)$/i.exec(h.trim())
  return m ? m[1].trim() : undefined
}

export function modelObject(m: ModelRecord, limits: ModelLimits, refusal: ModelRefusal | undefined) {
  return {
    id: m.name,
    object: 'model' as const,
    created: Math.floor(Number(m.createdAt) / 1000),
    owned_by: m.owner,
    sinew: {
      version: m.version,
      backend: m.backend.replace(/#.*$/, ''),
      datanets: m.datanets,
      pricePerMillion: m.pricePerMillion,
      promptPricePerMillion: m.promptPricePerMillion ?? '0',
      requestPrice: m.requestPrice ?? '0',
      contributorShareBps: m.contributorShareBps,
      active: m.active,
      description: m.description,
      limits,
      /** False when this node refuses calls to the model (refusal says why). */
      served: refusal === undefined,
      refusal: refusal ?? null,
    },
  }
}

export function sinewField(prepared: PreparedCall, outcome: CallOutcome) {
  const r = outcome.receipt
  return {
    receipt: prepared.receiptId,
    url: `/v1/receipts/${prepared.receiptId}`,
    tx: r?.tx ?? null,
    height: r?.height ?? null,
    fee: r?.fee ?? null,
    coverageBps: outcome.attribution.coverageBps,
    method: outcome.attribution.method,
    contributors: r?.contributors ?? [],
    finishReason: outcome.finishReason,
    timings: { generateMs: round(outcome.timings.generateMs), traceMs: round(outcome.timings.traceMs), receiptMs: round(outcome.timings.receiptMs) },
  }
}
const round = (x: number) => Math.round(x * 100) / 100

/** OpenAI's usage object, with the call's cost (the receipt's fee, base units) and receipt id, as OpenRouter reports `usage.cost`. */
export function callUsage(prepared: PreparedCall, o: CallOutcome) {
  return {
    prompt_tokens: o.promptTokens,
    completion_tokens: o.outputTokens,
    total_tokens: o.promptTokens + o.outputTokens,
    cost: o.receipt?.fee ?? null,
    receipt: prepared.receiptId,
  }
}

/** What chat and text completions share: model, key, sampling parameters and the request hash. */
export function sampling(request: FastifyRequest, body: z.infer<typeof completionBody> | z.infer<typeof chatBody>) {
  return {
    model: body.model,
    apiKey: bearer(request),
    client: request.ip,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop: body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
    requestHash: keccak256(JSON.stringify(request.body)),
    user: body.user ?? undefined,
    tags: body.metadata ?? undefined,
  }
}

/** OpenAI refuses stream_options on a call that does not stream: so does this node, before anything is reserved. */
export function refuseStreamOptions(body: { stream?: boolean | null; stream_options?: unknown }): void {
  if (body.stream_options != null && !body.stream)
    throw new GatewayError({
      code: 'invalid_value',
      message: 'stream_options is only allowed when stream is true.',
      type: 'invalid_request_error',
      param: 'stream_options',
    })
}

/**
 * Runs a call whose answer goes out in one piece at the end: a caller still connected when
 * generation ends is charged for all of it (the answer then waits for its receipt, so it is
 * never handed out unpaid); one that left before pays nothing, and its backend call is dropped
 * at once. Throws what the caller would have been told instead of an answer.
 */
export async function runWhole(prepared: PreparedCall, res: FastifyReply['raw']): Promise<CallOutcome> {
  const gone = new AbortController()
  const onClose = () => {
    if (!res.writableFinished) gone.abort()
  }
  res.on('close', onClose)
  let chars = 0
  let outcome: CallOutcome
  try {
    outcome = await prepared.run({
      write: (delta) => {
        chars += delta.length
      },
      toolCall: (d) => {
        chars += d.arguments.length
      },
      end: () => (gone.signal.aborted ? 0 : chars),
      gone: gone.signal,
    })
  } finally {
    res.off('close', onClose)
  }
  // Nobody reads this (the client has gone); it says, in the log, why there is no answer.
  if (outcome.uncharged)
    throw new GatewayError({ code: 'client_closed_request', message: 'The client left before the answer was ready: nothing was charged.', type: 'api_error' })
  if (outcome.receiptError) throw outcome.receiptError
  return outcome
}
