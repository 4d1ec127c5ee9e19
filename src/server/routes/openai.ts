/**
 * The OpenAI-compatible API: GET /v1/models, GET /v1/models/:model,
 * POST /v1/chat/completions and POST /v1/completions (streaming SSE and not). Errors here
 * are OpenAI error objects `{error: {message, type, param, code}}`, so the official
 * clients understand them. Each answer carries its receipt id in `x-sinew-receipt` and in
 * a `sinew` field of the body (or of the last chunk). A stream is written through SseStream
 * (./openai-sse.ts), which honours backpressure and counts what reached the client: that is
 * what the caller pays for. Spec: docs/gateway.md.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { keccak256, type SinewError } from '../../core/index.ts'
import { GatewayError, type CallOutcome, type OpenAIErrorType, type CallRequest, type Gateway, type PreparedCall } from '../../gateway/index.ts'
import type { ModelRecord } from '../../models/index.ts'
import { httpError } from '../errors.ts'
import { TcpSendQueues } from '../tcp-send-queue.ts'
import { SseStream } from './openai-sse.ts'

export type OpenAIRoutesOptions = { gateway: Gateway }

const contentPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough()
const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(contentPart), z.null()]),
    name: z.string().optional(),
  })
  .passthrough()
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
  user: z.string().nullish(),
}
const chatBody = z.object({ ...common, messages: z.array(message).min(1), max_completion_tokens: z.number().int().min(1).nullish() }).passthrough()
const completionBody = z.object({ ...common, prompt: z.union([z.string(), z.array(z.string()).length(1)]) }).passthrough()

/** Seconds a caller should wait before retrying a model whose index is still building. */
const RETRY_AFTER_S = '2'

type OpenAIErrorBody = { error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null } }

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
  const status = e.status === 422 ? 402 : e.status
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

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
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

const textOf = (c: z.infer<typeof message>['content']): string => (c === null ? '' : typeof c === 'string' ? c : c.map((p) => p.text).join(''))

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization
  if (!h) return undefined
  const m = /^Bearer\s+(.+)$/i.exec(h.trim())
  return m ? m[1].trim() : undefined
}

export function modelObject(m: ModelRecord) {
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
      contributorShareBps: m.contributorShareBps,
      active: m.active,
      description: m.description,
    },
  }
}

function sinewField(prepared: PreparedCall, outcome: CallOutcome) {
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

/** What chat and text completions share: model, key, sampling parameters and the request hash. */
function sampling(request: FastifyRequest, body: z.infer<typeof completionBody> | z.infer<typeof chatBody>) {
  return {
    model: body.model,
    apiKey: bearer(request),
    client: request.ip,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop: body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
    requestHash: keccak256(JSON.stringify(request.body)),
  }
}

export const openaiRoutes: FastifyPluginAsync<OpenAIRoutesOptions> = async (app, { gateway }) => {
  // One reader of the kernel's TCP tables for every stream of this node.
  const queues = new TcpSendQueues()
  app.setErrorHandler((err, request, reply) => {
    const e = httpError(err, request)
    if (e !== err && e.code === 'internal') request.log.error({ err }, 'unhandled error')
    const { status, body } = openaiError(e)
    const after = retryAfter(e)
    if (after) reply.header('retry-after', after)
    return reply.code(status).send(body)
  })

  app.get('/v1/models', { schema: { summary: 'OpenAI: the models this node serves', tags: ['openai'] } }, async () => ({
    object: 'list',
    data: gateway.models().map(modelObject),
  }))

  app.get<{ Params: { model: string } }>(
    '/v1/models/:model',
    { schema: { summary: 'OpenAI: one model, with its Sinew terms', tags: ['openai'] } },
    async (request) => {
      const m = gateway.models().find((x) => x.name === request.params.model)
      if (!m)
        throw new GatewayError({
          code: 'model_not_found',
          message: `The model \`${request.params.model}\` does not exist`,
          type: 'invalid_request_error',
          param: 'model',
        })
      return modelObject(m)
    },
  )

  app.post(
    '/v1/chat/completions',
    { schema: { summary: 'OpenAI: chat completion, attributed and paid; receipt in x-sinew-receipt', tags: ['openai'] } },
    async (request, reply) => {
      const body = parseBody(chatBody, request.body)
      const req: CallRequest = {
        ...sampling(request, body),
        kind: 'chat',
        messages: body.messages.map((m) => ({ role: m.role, content: textOf(m.content) })),
        prompt: '',
        maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      }
      return serve(gateway, queues, req, !!body.stream, reply)
    },
  )

  app.post(
    '/v1/completions',
    { schema: { summary: 'OpenAI: text completion, attributed and paid; receipt in x-sinew-receipt', tags: ['openai'] } },
    async (request, reply) => {
      const body = parseBody(completionBody, request.body)
      const req: CallRequest = {
        ...sampling(request, body),
        kind: 'completion',
        messages: [],
        prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0],
        maxTokens: body.max_tokens ?? 16,
      }
      return serve(gateway, queues, req, !!body.stream, reply)
    },
  )
}

async function serve(gateway: Gateway, queues: TcpSendQueues, req: CallRequest, stream: boolean, reply: FastifyReply) {
  const prepared = gateway.prepare(req)
  const created = Math.floor(Date.now() / 1000)
  const chat = req.kind === 'chat'
  const id = (chat ? 'chatcmpl-' : 'cmpl-') + prepared.receiptId.slice(2, 34)
  const model = prepared.model.name
  const usage = (o: CallOutcome) => ({ prompt_tokens: o.promptTokens, completion_tokens: o.outputTokens, total_tokens: o.promptTokens + o.outputTokens })
  const res = reply.raw

  if (!stream) {
    // One answer at the end: a caller still connected when generation ends is charged for all
    // of it (the answer then waits for its receipt, so it is never handed out unpaid); one
    // that left before pays nothing, and its backend call is dropped at once.
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
    reply.header('x-sinew-receipt', prepared.receiptId)
    const finish = outcome.finishReason === 'disconnected' ? 'stop' : outcome.finishReason
    return {
      id,
      object: chat ? 'chat.completion' : 'text_completion',
      created,
      model,
      choices: [
        chat
          ? { index: 0, message: { role: 'assistant', content: outcome.text, refusal: null }, finish_reason: finish, logprobs: null }
          : { index: 0, text: outcome.text, finish_reason: finish, logprobs: null },
      ],
      usage: usage(outcome),
      sinew: sinewField(prepared, outcome),
    }
  }

  // Streaming: headers go out with the first delta, so a backend that fails before
  // producing anything still gets a plain HTTP error. Content frames are the JSON of the
  // chunk object with only the delta serialized per frame (same bytes as JSON.stringify).
  reply.hijack()
  const sse = new SseStream(res, { queues, stallTimeoutMs: gateway.settings.streamStallTimeoutMs })
  let started = false
  let first = true
  let finished = false
  const send = (obj: unknown) => sse.send(`data: ${JSON.stringify(obj)}\n\n`)
  const start = () => {
    if (started) return
    started = true
    // No flushHeaders(): the headers leave in the same packet as the first frame.
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-sinew-receipt': prepared.receiptId,
    })
  }
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created,
    model,
    choices,
    ...extra,
  })
  const head = `data: {"id":${JSON.stringify(id)},"object":"${chat ? 'chat.completion.chunk' : 'text_completion'}","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,`
  const firstOpen = chat ? head + '"delta":{"role":"assistant","content":' : head + '"text":'
  const open = chat ? head + '"delta":{"content":' : firstOpen
  const close = chat ? '},"finish_reason":null,"logprobs":null}]}\n\n' : ',"finish_reason":null,"logprobs":null}]}\n\n'
  const finishFrame = (reason: CallOutcome['finishReason']) => {
    if (finished || sse.gone.aborted) return
    finished = true
    start()
    const finish = reason === 'disconnected' ? 'stop' : reason
    if (chat) send(chunk([{ index: 0, delta: first ? { role: 'assistant', content: '' } : {}, finish_reason: finish, logprobs: null }]))
    else send(chunk([{ index: 0, text: '', finish_reason: finish, logprobs: null }]))
  }
  let outcome: CallOutcome
  try {
    outcome = await prepared.run({
      write: (delta) => {
        if (!started) start()
        const frame = (first ? firstOpen : open) + JSON.stringify(delta) + close
        first = false
        return sse.frame(frame, delta.length)
      },
      end: (reason) => {
        finishFrame(reason)
        return sse.settle()
      },
      gone: sse.gone,
    })
  } catch (err) {
    const e = httpError(err, reply.request)
    const { status, body } = openaiError(e)
    if (!started) {
      if (!sse.gone.aborted) {
        const after = retryAfter(e)
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...(after ? { 'retry-after': after } : {}) })
        res.end(JSON.stringify(body))
      }
    } else if (!sse.gone.aborted) {
      send(body)
      res.end()
    }
    return reply
  }
  if (sse.gone.aborted) return reply
  finishFrame(outcome.finishReason)
  if (outcome.receiptError) {
    send(openaiError(outcome.receiptError).body)
  } else {
    send(chunk([], { usage: usage(outcome), sinew: sinewField(prepared, outcome) }))
    res.write('data: [DONE]\n\n')
  }
  res.end()
  return reply
}
