/**
 * The OpenAI Responses API: POST /v1/responses, non-streamed (a `response` object) and
 * streamed (typed server-sent events: response.created, response.in_progress,
 * response.output_item.added, response.content_part.added, response.output_text.delta…,
 * response.output_text.done, response.content_part.done, response.output_item.done,
 * response.completed). A call is the same paid, attributed, receipted call as a chat
 * completion (Gateway.prepare/run, SseStream): the same charge for the same output, and the
 * same refusals. `usage` has the cost and the receipt id; `sinew` the receipt and the split.
 * This node keeps no conversation state (`previous_response_id` is refused). Function tools,
 * `function_call` and `function_call_output` items pass through to an openai-compatible
 * backend (as chat completions' tools and messages); the built-in model answers text only and
 * refuses tools (400 unsupported_tools), as does any tool type but `function`. Spec: docs/gateway.md.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { countSchema, hash32Schema, keccak256, uintStringSchema, type ErrorCode } from '../../core/index.ts'
import { GatewayError, type CallOutcome, type CallRequest, type CallTools, type ChatMessage, type Gateway, type PreparedCall } from '../../gateway/index.ts'
import { httpError } from '../errors.ts'
import type { TcpSendQueues } from '../tcp-send-queue.ts'
import { admitPayment, type X402Payments } from '../x402.ts'
import { SseStream } from './openai-sse.ts'
import {
  bearer,
  callUsage,
  CALL_REFUSALS,
  runWhole,
  openaiError,
  openaiErrorResponses,
  parseBody,
  refusalHeaders,
  sinewField,
  sinewFieldSchema,
  functionName,
  refuseStreamOptions,
} from './openai-wire.ts'

/** The content parts a message item may carry (text only: this node's models answer text). */
const TEXT_PARTS = ['input_text', 'output_text'] as const
/** Item types of `input`: messages, and the function calls of earlier turns with their outputs. */
const ITEM_TYPES = ['message', 'function_call', 'function_call_output'] as const

const part = z.object({ type: z.string(), text: z.string().optional() }).passthrough()
const item = z
  .object({
    type: z.string().optional(),
    role: z.enum(['user', 'assistant', 'system', 'developer']).optional(),
    content: z.union([z.string(), z.array(part)]).optional(),
    call_id: z.string().min(1).max(256).optional(),
    name: functionName.optional(),
    arguments: z.string().optional(),
    output: z.union([z.string(), z.array(part)]).optional(),
  })
  .passthrough()
/** A function tool of the Responses API (flat: name, parameters…, where chat completions nest them under `function`). */
const tool = z
  .object({
    type: z.string(),
    name: functionName.optional(),
    description: z.string().max(4096).nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  })
  .passthrough()
const toolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), name: functionName })])

export const responsesBody = z
  .object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(item).min(1)]),
    instructions: z.string().nullish(),
    max_output_tokens: z.number().int().min(1).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    stream: z.boolean().nullish(),
    tools: z.array(tool).max(128).nullish(),
    tool_choice: toolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    previous_response_id: z.string().nullish(),
    user: z.string().max(256).nullish(),
    metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
    store: z.boolean().nullish(),
  })
  .passthrough()
type ResponsesBody = z.infer<typeof responsesBody>

const outputText = z.object({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()) })
const messageItem = z.object({
  type: z.literal('message'),
  id: z.string(),
  status: z.enum(['completed', 'incomplete']),
  role: z.literal('assistant'),
  content: z.array(outputText),
})
const functionCallItem = z.object({
  type: z.literal('function_call'),
  id: z.string(),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string().describe('The arguments, a JSON string as the model wrote it'),
  status: z.enum(['completed', 'incomplete']),
})

export const responseSchema = z
  .object({
    id: z.string(),
    object: z.literal('response'),
    created_at: countSchema,
    status: z.enum(['completed', 'incomplete']),
    error: z.null(),
    incomplete_details: z.object({ reason: z.literal('max_output_tokens') }).nullable(),
    instructions: z.string().nullable(),
    max_output_tokens: countSchema.nullable(),
    model: z.string(),
    output: z.array(z.union([messageItem, functionCallItem])),
    parallel_tool_calls: z.boolean(),
    temperature: z.number().nullable(),
    top_p: z.number().nullable(),
    tool_choice: z.unknown(),
    tools: z.array(z.unknown()),
    text: z.object({ format: z.object({ type: z.literal('text') }) }),
    metadata: z.record(z.string(), z.string()),
    user: z.string().nullable(),
    usage: z.object({
      input_tokens: countSchema,
      input_tokens_details: z.object({ cached_tokens: countSchema }),
      output_tokens: countSchema,
      output_tokens_details: z.object({ reasoning_tokens: countSchema }),
      total_tokens: countSchema,
      cost: uintStringSchema.nullable().describe('What the call cost, SIN base units'),
      receipt: hash32Schema,
    }),
    sinew: sinewFieldSchema,
  })
  .meta({ id: 'Response', description: 'An OpenAI Responses API response object, with its cost, receipt and attribution' })

/** The route's OpenAPI description (shared with a replica's pass-through, which adds its own errors). */
export const responsesRouteSchema = (also: ErrorCode[] = []) => ({
  summary: 'OpenAI Responses API: a response, attributed and paid; receipt in x-sinew-receipt',
  tags: ['openai'],
  body: responsesBody,
  response: {
    200: {
      description: 'The response (JSON), or with stream: true its typed events (server-sent events)',
      content: {
        'application/json': { schema: responseSchema },
        'text/event-stream': {
          schema: z
            .string()
            .describe('`event: <type>` + `data: <event JSON>` frames, from response.created to response.completed (with usage and the sinew field)'),
        },
      },
    },
    ...openaiErrorResponses(...CALL_REFUSALS, 'unsupported_tools', ...also),
  },
})

const invalid = (param: string, message: string) => new GatewayError({ code: 'invalid_value', message, type: 'invalid_request_error', param })

const textParts = (content: z.infer<typeof part>[], at: string): string =>
  content
    .map((p, j) => {
      if (!(TEXT_PARTS as readonly string[]).includes(p.type) || typeof p.text !== 'string')
        throw invalid(
          `${at}[${j}].type`,
          `${at}[${j}] is of type ${JSON.stringify(p.type.slice(0, 60))}: this node takes text parts only (${TEXT_PARTS.join(', ')}).`,
        )
      return p.text
    })
    .join('')

/**
 * The chat messages of a Responses body; refuses item and part types this node cannot take. A
 * `function_call` item joins the assistant message before it (or makes one); a
 * `function_call_output` is a tool message answering its call_id.
 */
export function responsesMessages(body: ResponsesBody): ChatMessage[] {
  const messages: ChatMessage[] = []
  if (body.instructions) messages.push({ role: 'system', content: body.instructions })
  if (typeof body.input === 'string') return [...messages, { role: 'user', content: body.input }]
  body.input.forEach((it, i) => {
    const type = it.type ?? 'message'
    if (!(ITEM_TYPES as readonly string[]).includes(type))
      throw invalid(
        `input[${i}].type`,
        `input[${i}] is of type ${JSON.stringify(type.slice(0, 60))}: this node takes input items of type ${ITEM_TYPES.join(', ')}, not files, references or built-in tools' calls.`,
      )
    if (type === 'function_call') {
      if (it.call_id === undefined) throw invalid(`input[${i}].call_id`, `input[${i}] is a function_call without call_id.`)
      if (it.name === undefined) throw invalid(`input[${i}].name`, `input[${i}] is a function_call without name.`)
      if (it.arguments === undefined) throw invalid(`input[${i}].arguments`, `input[${i}] is a function_call without arguments (a JSON string).`)
      const call = { id: it.call_id, name: it.name, arguments: it.arguments }
      const last = messages.at(-1)
      if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call]
      else messages.push({ role: 'assistant', content: '', toolCalls: [call] })
      return
    }
    if (type === 'function_call_output') {
      if (it.call_id === undefined) throw invalid(`input[${i}].call_id`, `input[${i}] is a function_call_output without call_id.`)
      if (it.output === undefined) throw invalid(`input[${i}].output`, `input[${i}] is a function_call_output without output.`)
      messages.push({ role: 'tool', content: typeof it.output === 'string' ? it.output : textParts(it.output, `input[${i}].output`), toolCallId: it.call_id })
      return
    }
    if (!it.role) throw invalid(`input[${i}].role`, `input[${i}] is a message without a role (user, assistant, system or developer).`)
    const content = it.content
    if (content === undefined) throw invalid(`input[${i}].content`, `input[${i}] is a message without content.`)
    const text = typeof content === 'string' ? content : textParts(content, `input[${i}].content`)
    messages.push({ role: it.role === 'developer' ? 'system' : it.role, content: text })
  })
  return messages
}

export function registerResponses(
  app: FastifyInstance,
  o: { gateway: Gateway; x402?: X402Payments; queues: TcpSendQueues; bodyLimit: number; documented: object },
): void {
  const { gateway, queues } = o
  app.post('/v1/responses', { bodyLimit: o.bodyLimit, schema: responsesRouteSchema(), ...o.documented }, async (request, reply) => {
    const body = parseBody(responsesBody, request.body)
    refuseStreamOptions(body)
    if (body.previous_response_id != null) throw invalid('previous_response_id', 'This node keeps no conversation state: send the whole conversation in input.')
    const messages = responsesMessages(body)
    const req: CallRequest = {
      kind: 'chat',
      model: body.model,
      apiKey: bearer(request),
      client: request.ip,
      messages,
      tools: responsesTools(body),
      prompt: '',
      maxTokens: body.max_output_tokens ?? undefined,
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      requestHash: keccak256(JSON.stringify(request.body)),
      user: body.user ?? undefined,
      tags: body.metadata ?? undefined,
    }
    await admitPayment(o.x402, gateway, request, reply, req)
    return serveResponse(gateway, queues, req, body, request, reply)
  })
}

/** The function tools of a Responses body, as chat completions pass them on; any other tool type is refused. */
export function responsesTools(body: ResponsesBody): CallTools | undefined {
  if (!body.tools || body.tools.length === 0) {
    if (body.tool_choice != null) throw invalid('tool_choice', 'tool_choice is only allowed when tools are given.')
    return undefined
  }
  const tools = body.tools.map((t, i) => {
    if (t.type !== 'function')
      throw new GatewayError({
        code: 'unsupported_tools',
        message: `tools[${i}] is of type ${JSON.stringify(t.type.slice(0, 60))}: this node passes function tools on to model backends, no built-in tools.`,
        type: 'invalid_request_error',
        param: `tools[${i}].type`,
      })
    if (t.name === undefined) throw invalid(`tools[${i}].name`, `tools[${i}] is a function tool without name.`)
    const fn: Record<string, unknown> = { name: t.name }
    if (t.description != null) fn.description = t.description
    if (t.parameters != null) fn.parameters = t.parameters
    if (t.strict != null) fn.strict = t.strict
    return { type: 'function', function: fn }
  })
  const c = body.tool_choice
  return {
    tools,
    toolChoice: c == null ? undefined : typeof c === 'string' ? c : { type: 'function', function: { name: c.name } },
    parallelToolCalls: body.parallel_tool_calls ?? undefined,
  }
}

async function serveResponse(gateway: Gateway, queues: TcpSendQueues, req: CallRequest, body: ResponsesBody, request: FastifyRequest, reply: FastifyReply) {
  const prepared = await gateway.prepare(req)
  const createdAt = Math.floor(Date.now() / 1000)
  const tag = prepared.receiptId.slice(2, 50)
  const id = `resp_${tag}`
  const itemId = `msg_${tag}`
  // A function call's item id: fc_ + the receipt id's hex with the call's index in front (ids stay unique per answer).
  const callItemId = (index: number) => `fc_${index.toString(16).padStart(2, '0')}${tag.slice(2)}`
  const res = reply.raw
  reply.headers(prepared.rateHeaders)
  const message = (text: string, status: 'completed' | 'incomplete' | 'in_progress') => ({
    type: 'message' as const,
    id: itemId,
    status,
    role: 'assistant' as const,
    content: text === '' && status === 'in_progress' ? [] : [{ type: 'output_text' as const, text, annotations: [] }],
  })
  const functionCall = (index: number, c: { id: string; name: string; arguments: string }, status: 'completed' | 'incomplete' | 'in_progress') => ({
    type: 'function_call' as const,
    id: callItemId(index),
    call_id: c.id,
    name: c.name,
    arguments: c.arguments,
    status,
  })
  /** The output items of an answer: its text (unless it only calls functions), then its function calls. */
  const output = (o: CallOutcome, status: 'completed' | 'incomplete') => [
    ...(o.text !== '' || o.toolCalls.length === 0 ? [message(o.text, status)] : []),
    ...o.toolCalls.map((c, i) => functionCall(i, c, status)),
  ]
  const response = (status: 'in_progress' | 'completed' | 'incomplete', outcome?: CallOutcome) => ({
    id,
    object: 'response' as const,
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' as const } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: prepared.maxTokens,
    model: prepared.model.name,
    output: outcome ? output(outcome, status === 'incomplete' ? 'incomplete' : 'completed') : [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    text: { format: { type: 'text' as const } },
    metadata: body.metadata ?? {},
    user: body.user ?? null,
    ...(outcome ? { usage: usageOf(prepared, outcome), sinew: sinewField(prepared, outcome) } : { usage: null }),
  })
  const statusOf = (o: CallOutcome) => (o.finishReason === 'length' ? ('incomplete' as const) : ('completed' as const))

  if (!body.stream) {
    const outcome = await runWhole(prepared, res)
    reply.header('x-sinew-receipt', prepared.receiptId)
    return response(statusOf(outcome), outcome)
  }

  reply.hijack()
  const sse = new SseStream(res, { queues, stallTimeoutMs: gateway.settings.streamStallTimeoutMs })
  let seq = 0
  let started = false
  let finished = false
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
  const start = () => {
    if (started) return
    started = true
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-sinew-receipt': prepared.receiptId,
      ...prepared.rateHeaders,
    })
    const r = response('in_progress')
    sse.send(event('response.created', { response: r }))
    sse.send(event('response.in_progress', { response: r }))
  }
  // The output items as they open: the message (at its first text) and each function call (at its first piece).
  let nextIndex = 0
  let text = ''
  let textIndex: number | undefined
  const calls = new Map<number, { outputIndex: number; call: { id: string; name: string; arguments: string } }>()
  const openMessage = (): number => {
    if (textIndex !== undefined) return textIndex
    textIndex = nextIndex++
    sse.send(event('response.output_item.added', { output_index: textIndex, item: message('', 'in_progress') }))
    sse.send(
      event('response.content_part.added', {
        item_id: itemId,
        output_index: textIndex,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      }),
    )
    return textIndex
  }
  const finish = (reason: CallOutcome['finishReason']) => {
    if (finished || sse.gone.aborted) return
    finished = true
    start()
    const status = reason === 'length' ? 'incomplete' : 'completed'
    if (textIndex !== undefined || calls.size === 0) {
      const at = openMessage()
      sse.send(event('response.output_text.done', { item_id: itemId, output_index: at, content_index: 0, text, logprobs: [] }))
      sse.send(
        event('response.content_part.done', { item_id: itemId, output_index: at, content_index: 0, part: { type: 'output_text', text, annotations: [] } }),
      )
      sse.send(event('response.output_item.done', { output_index: at, item: message(text, status) }))
    }
    for (const [index, { outputIndex, call }] of calls) {
      sse.send(
        event('response.function_call_arguments.done', { item_id: callItemId(index), output_index: outputIndex, name: call.name, arguments: call.arguments }),
      )
      sse.send(event('response.output_item.done', { output_index: outputIndex, item: functionCall(index, call, status) }))
    }
  }
  let outcome: CallOutcome
  try {
    outcome = await prepared.run({
      write: (delta) => {
        start()
        const at = openMessage()
        text += delta
        return sse.frame(event('response.output_text.delta', { item_id: itemId, output_index: at, content_index: 0, delta, logprobs: [] }), delta.length)
      },
      toolCall: (d) => {
        start()
        let open = calls.get(d.index)
        if (!open) {
          open = { outputIndex: nextIndex++, call: { id: d.id ?? '', name: d.name ?? '', arguments: '' } }
          calls.set(d.index, open)
          sse.send(event('response.output_item.added', { output_index: open.outputIndex, item: functionCall(d.index, open.call, 'in_progress') }))
        } else {
          if (d.id !== undefined) open.call.id = d.id
          if (d.name !== undefined) open.call.name += d.name
        }
        open.call.arguments += d.arguments
        return sse.frame(
          event('response.function_call_arguments.delta', { item_id: callItemId(d.index), output_index: open.outputIndex, delta: d.arguments }),
          d.arguments.length,
        )
      },
      end: (reason) => {
        finish(reason)
        return sse.settle()
      },
      gone: sse.gone,
    })
  } catch (err) {
    const e = httpError(err, request)
    const { status, body: errorBody } = openaiError(e)
    if (!started) {
      if (!sse.gone.aborted) {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...prepared.rateHeaders, ...refusalHeaders(e) })
        res.end(JSON.stringify(errorBody))
      }
    } else if (!sse.gone.aborted) {
      sse.send(event('error', { code: errorBody.error.code, message: errorBody.error.message, param: errorBody.error.param }))
      res.end()
    }
    return reply
  }
  if (sse.gone.aborted) return reply
  finish(outcome.finishReason)
  if (outcome.receiptError) {
    const { body: errorBody } = openaiError(outcome.receiptError)
    sse.send(event('error', { code: errorBody.error.code, message: errorBody.error.message, param: null }))
  } else {
    const status = statusOf(outcome)
    sse.send(event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: response(status, outcome) }))
  }
  res.end()
  return reply
}

/** The Responses API's usage object, with the cost and the receipt id (the same figures as a chat completion's). */
function usageOf(prepared: PreparedCall, o: CallOutcome) {
  const u = callUsage(prepared, o)
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.total_tokens,
    cost: u.cost,
    receipt: u.receipt,
  }
}
