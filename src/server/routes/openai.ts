/**
 * The OpenAI-compatible API: GET /v1/models, GET /v1/models/:model,
 * POST /v1/chat/completions and POST /v1/completions (streaming SSE and not). Errors here
 * are OpenAI error objects `{error: {message, type, param, code}}`, so the official
 * clients understand them. Each answer carries its receipt id in `x-sinew-receipt` and in
 * a `sinew` field of the body (or of the last chunk). A stream is written through SseStream
 * (./openai-sse.ts), which honours backpressure and counts what reached the client: that is
 * what the caller pays for. Spec: docs/gateway.md.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { z } from 'zod'
import { GatewayError, PassToWriter, type CallOutcome, type CallRequest, type Gateway } from '../../gateway/index.ts'
import { httpError } from '../errors.ts'
import { admitPayment, installPaymentResponses } from '../x402.ts'
import { bodyCheckedBy } from '../openapi.ts'
import { TcpSendQueues } from '../tcp-send-queue.ts'
import { SseStream } from './openai-sse.ts'
import {
  type OpenAIRoutesOptions,
  chatBody,
  completionBody,
  openaiRouteSchemas,
  refusalHeaders,
  openaiError,
  parseBody,
  chatMessages,
  chatTools,
  wireToolCallOf,
  modelObject,
  sinewField,
  callUsage,
  sampling,
  refuseStreamOptions,
  runWhole,
} from './openai-wire.ts'

export const openaiRoutes: FastifyPluginAsync<OpenAIRoutesOptions> = async (app, { gateway, x402, passOn }) => {
  // One reader of the kernel's TCP tables for every stream of this node.
  const queues = new TcpSendQueues()
  // A call's body is parsed, hashed and its prompt tokenized on the node's thread: bounded well below the node's general
  // limit. A route's bodyLimit replaces the node's, so the smaller of the two is taken.
  const bodyLimit = Math.min(gateway.settings.callBodyLimitBytes, app.initialConfig.bodyLimit ?? Number.POSITIVE_INFINITY)
  app.setErrorHandler((err, request, reply) => {
    // A serving worker's call that its writer serves itself (a built-in model, say): the writer answers it.
    if (err instanceof PassToWriter && passOn) return passOn(request, reply)
    const e = httpError(err, request)
    if (e !== err && e.code === 'internal') request.log.error({ err }, 'unhandled error')
    const { status, body } = openaiError(e)
    reply.headers(refusalHeaders(e))
    return reply.code(status).send(body)
  })

  installPaymentResponses(app, x402)

  const schemas = openaiRouteSchemas()
  // The bodies are read by parseBody, into OpenAI errors; the schemas document them.
  const documented = bodyCheckedBy(z.unknown())

  app.get('/v1/models', { schema: schemas.models }, async () => ({
    object: 'list',
    data: gateway.models().map((m) => modelObject(m, gateway.limits(m), gateway.refusal(m))),
  }))

  app.get<{ Params: { model: string } }>('/v1/models/:model', { schema: schemas.model }, async (request) => {
    const m = gateway.models().find((x) => x.name === request.params.model)
    if (!m)
      throw new GatewayError({
        code: 'model_not_found',
        message: `The model \`${request.params.model}\` does not exist`,
        type: 'invalid_request_error',
        param: 'model',
      })
    return modelObject(m, gateway.limits(m), gateway.refusal(m))
  })

  app.post('/v1/chat/completions', { bodyLimit, schema: schemas.chat, ...documented }, async (request, reply) => {
    const body = parseBody(chatBody, request.body)
    refuseStreamOptions(body)
    const req: CallRequest = {
      ...sampling(request, body),
      kind: 'chat',
      messages: chatMessages(body),
      tools: chatTools(body),
      prompt: '',
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    }
    await admitPayment(x402, gateway, request, reply, req)
    return serve(gateway, queues, req, body, reply)
  })

  app.post('/v1/completions', { bodyLimit, schema: schemas.completion, ...documented }, async (request, reply) => {
    const body = parseBody(completionBody, request.body)
    refuseStreamOptions(body)
    const req: CallRequest = {
      ...sampling(request, body),
      kind: 'completion',
      messages: [],
      prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0],
      maxTokens: body.max_tokens ?? 16,
    }
    await admitPayment(x402, gateway, request, reply, req)
    return serve(gateway, queues, req, body, reply)
  })

  // POST /v1/responses (./openai-responses.ts builds on this module, so it is loaded once this one is).
  const { registerResponses } = await import('./openai-responses.ts')
  registerResponses(app, { gateway, x402, queues, bodyLimit, documented })
  const { registerUsage } = await import('./openai-usage.ts')
  registerUsage(app, { gateway })
}

/** `body`: whether the call streams, and whether its last chunk reports usage (stream_options.include_usage, as OpenAI). */
async function serve(
  gateway: Gateway,
  queues: TcpSendQueues,
  req: CallRequest,
  body: { stream?: boolean | null; stream_options?: { include_usage?: boolean } | null },
  reply: FastifyReply,
) {
  const stream = !!body.stream
  const prepared = await gateway.prepare(req)
  const created = Math.floor(Date.now() / 1000)
  const chat = req.kind === 'chat'
  const id = (chat ? 'chatcmpl-' : 'cmpl-') + prepared.receiptId.slice(2, 34)
  const model = prepared.model.name
  const usage = (o: CallOutcome) => callUsage(prepared, o)
  const res = reply.raw
  reply.headers(prepared.rateHeaders)

  if (!stream) {
    const outcome = await runWhole(prepared, res)
    reply.header('x-sinew-receipt', prepared.receiptId)
    const finish = outcome.finishReason === 'disconnected' ? 'stop' : outcome.finishReason
    return {
      id,
      object: chat ? 'chat.completion' : 'text_completion',
      created,
      model,
      choices: [
        chat
          ? { index: 0, message: assistantMessage(outcome), finish_reason: finish, logprobs: null }
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
      ...prepared.rateHeaders,
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
      toolCall: (d) => {
        start()
        const call = {
          index: d.index,
          ...(d.id !== undefined ? { id: d.id, type: 'function' } : {}),
          function: { ...(d.name !== undefined ? { name: d.name } : {}), arguments: d.arguments },
        }
        const delta = first ? { role: 'assistant', content: null, tool_calls: [call] } : { tool_calls: [call] }
        first = false
        return sse.frame(`data: ${JSON.stringify(chunk([{ index: 0, delta, finish_reason: null, logprobs: null }]))}\n\n`, d.arguments.length)
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
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...prepared.rateHeaders, ...refusalHeaders(e) })
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
    // The cost and the receipt come last: with usage only when the caller asked for it (OpenAI's stream_options.include_usage).
    send(chunk([], { ...(body.stream_options?.include_usage ? { usage: usage(outcome) } : {}), sinew: sinewField(prepared, outcome) }))
    res.write('data: [DONE]\n\n')
  }
  res.end()
  return reply
}

/** The assistant message of a chat answer: its text (null when it only calls functions) and its function calls. */
function assistantMessage(o: CallOutcome) {
  if (o.toolCalls.length === 0) return { role: 'assistant' as const, content: o.text, refusal: null }
  return { role: 'assistant' as const, content: o.text === '' ? null : o.text, refusal: null, tool_calls: o.toolCalls.map(wireToolCallOf) }
}
