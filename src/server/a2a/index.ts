/**
 * A2A 1.0 for the task board: the agent card at `/.well-known/agent-card.json` and the
 * JSON-RPC binding at `/a2a` (SendMessage, SendStreamingMessage, GetTask, CancelTask,
 * SubscribeToTask). It speaks to the node through its own HTTP API in-process, as the MCP
 * server does, so a task posted here is the same signed tx, blob upload and errors as
 * POST /v1/tx; the node signs nothing for a caller.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { utf8, type TxEnvelope } from '../../core/index.ts'
import { INLINE_TEXT_BYTES, storeBlob, withTaskTexts, type NodeApi } from '../../client/index.ts'
import type { LedgerNode } from '../../ledger/index.ts'
import { injectApi } from '../inject-api.ts'
import { jsonRpcErrorSchema, jsonRpcId } from '../mcp/index.ts'
import { BAD_JSON, errorResponses } from '../openapi.ts'
import { A2A_PATH, A2A_PROTOCOL_VERSION, agentCard, agentCardSchema } from './card.ts'
import { a2aError, invalidParams, objectAt, readSendMessage, RPC, RpcError, signedTxAt, taskIdAt, toRpcError } from './rpc.ts'
import { a2aTask, TERMINAL_STATES, type A2aTask, type BoardTask } from './task.ts'

export { A2A_PATH, A2A_PROTOCOL_VERSION, agentCard, SIGNED_TX_EXTENSION, SIGNED_TX_MEDIA_TYPE, X402_EXTENSION, type AgentCardOptions } from './card.ts'
export { a2aState, a2aTask, type A2aTask, type A2aTaskState } from './task.ts'

export type A2aRoutesOptions = {
  node: LedgerNode
  inference: boolean
  datanets: boolean
  /** Whether this node answers paid calls with x402 (listed in the card). */
  x402: boolean
  /** The x402 schemes the node takes now (listed in the card's x402 extension). */
  x402Schemes?: () => { scheme: string; network: string; asset: string }[]
}

/** v0.3 method names, answered with the 1.0 name to use. */
const LEGACY_METHODS: Record<string, string> = {
  'message/send': 'SendMessage',
  'message/stream': 'SendStreamingMessage',
  'tasks/get': 'GetTask',
  'tasks/cancel': 'CancelTask',
  'tasks/resubscribe': 'SubscribeToTask',
  'tasks/list': 'ListTasks',
}
const PUSH_METHODS = [
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
]

type Id = string | number | null

const baseUrl = (request: FastifyRequest): string => `${request.protocol}://${request.host}`

async function readTask(api: NodeApi, id: string, base: string): Promise<A2aTask> {
  const view = (await withTaskTexts(api, await api.get(`/v1/tasks/${id}`), { maxBytes: INLINE_TEXT_BYTES })) as BoardTask
  return a2aTask(view, base)
}

/** Submits the caller's signed tx (after storing the spec it names, the tx being the upload's permit); returns its task id. */
async function submit(api: NodeApi, tx: TxEnvelope, specText?: string): Promise<string> {
  if (specText !== undefined) await storeBlob(api, utf8(specText), tx)
  const ack = await api.post('/v1/tx', tx)
  return (ack.receipt?.result?.task as string | undefined) ?? ack.hash
}

/** The A2A-Version a request asks for: the header, or 0.3 without one (as the spec and the SDK read it). */
function checkVersion(request: FastifyRequest): void {
  const asked = String(request.headers['a2a-version'] ?? '').trim() || '0.3'
  if (asked !== A2A_PROTOCOL_VERSION && asked !== `${A2A_PROTOCOL_VERSION}.0`) {
    throw a2aError(
      RPC.VERSION_NOT_SUPPORTED,
      'VERSION_NOT_SUPPORTED',
      `A2A version ${asked} is not supported: this node speaks A2A ${A2A_PROTOCOL_VERSION}; send the header A2A-Version: ${A2A_PROTOCOL_VERSION}`,
    )
  }
}

/** Runs one JSON-RPC method that answers with a single result. */
async function call(api: NodeApi, base: string, method: string, params: unknown): Promise<unknown> {
  switch (method) {
    case 'SendMessage': {
      const request = readSendMessage(params)
      if (request.taskId) await readTask(api, request.taskId, base).catch((e) => Promise.reject(toRpcError(e)))
      const id = await submit(api, request.signedTx, request.specText).catch((e) => Promise.reject(toRpcError(e, { txField: request.txField })))
      return { task: await readTask(api, request.taskId ?? id, base) }
    }
    case 'GetTask': {
      const p = objectAt(params, 'params')
      return readTask(api, taskIdAt(p.id, 'params.id'), base)
    }
    case 'CancelTask': {
      const p = objectAt(params, 'params')
      const id = taskIdAt(p.id, 'params.id')
      const task = await readTask(api, id, base)
      if (TERMINAL_STATES.includes(task.status.state) && task.metadata.sinew.boardStatus !== 'past_deadline') {
        throw a2aError(RPC.TASK_NOT_CANCELABLE, 'TASK_NOT_CANCELABLE', `task ${id} is ${task.metadata.sinew.boardStatus}: it can no longer be canceled`)
      }
      const metadata = p.metadata === undefined ? {} : objectAt(p.metadata, 'params.metadata')
      const tx = signedTxAt(metadata.signedTx, 'params.metadata.signedTx', ['CancelTask'])
      if (String(tx.message.task).toLowerCase() !== id)
        throw invalidParams('params.metadata.signedTx.message.task', `must be params.id ${id}, got ${String(tx.message.task)}`)
      await submit(api, tx).catch((e) => Promise.reject(toRpcError(e, { cancel: true, txField: 'params.metadata.signedTx' })))
      return readTask(api, id, base)
    }
    case 'ListTasks':
    case 'GetExtendedAgentCard':
      throw method === 'ListTasks'
        ? a2aError(
            RPC.UNSUPPORTED_OPERATION,
            'UNSUPPORTED_OPERATION',
            'ListTasks is not served: list the board with GET /v1/tasks, follow one task with GetTask',
          )
        : a2aError(
            RPC.EXTENDED_CARD_NOT_CONFIGURED,
            'EXTENDED_AGENT_CARD_NOT_CONFIGURED',
            'this node has no extended agent card: the public card says everything',
          )
  }
  if (PUSH_METHODS.includes(method)) {
    throw a2aError(
      RPC.PUSH_NOTIFICATION_NOT_SUPPORTED,
      'PUSH_NOTIFICATION_NOT_SUPPORTED',
      'push notifications are not supported: follow a task with GetTask or SubscribeToTask',
    )
  }
  const legacy = LEGACY_METHODS[method]
  throw a2aError(
    RPC.METHOD_NOT_FOUND,
    'METHOD_NOT_FOUND',
    legacy ? `Method not found: ${method} is the A2A 0.3 name; this node speaks A2A 1.0: call ${legacy}` : `Method not found: ${method}`,
  )
}

/** Live SSE streams, ended when the server closes so it can. */
type Stream = { end(): void }

/**
 * An SSE stream of a task's changes: the task now, then a statusUpdate (and the artifact
 * before a completed status) after each committed block that changed it, until a terminal
 * state, the client leaving or the server closing.
 */
function streamTask(node: LedgerNode, streams: Set<Stream>, reply: FastifyReply, api: NodeApi, base: string, rpcId: Id, first: A2aTask) {
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
  const send = (result: unknown) => raw.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: rpcId, result })}\n\n`)
  let last = first
  let reading = false
  let again = false
  const stream: Stream = {
    end: () => {
      unsubscribe()
      streams.delete(stream)
      if (!raw.writableEnded) raw.end()
    },
  }
  const done = (t: A2aTask) => TERMINAL_STATES.includes(t.status.state)
  const check = async () => {
    if (reading) {
      again = true
      return
    }
    reading = true
    try {
      do {
        again = false
        const now = await readTask(api, first.id, base)
        if (now.status.state !== last.status.state || now.status.timestamp !== last.status.timestamp) {
          for (const artifact of now.artifacts.filter((a) => !last.artifacts.some((b) => b.artifactId === a.artifactId))) {
            send({ artifactUpdate: { taskId: now.id, contextId: now.contextId, artifact, append: false, lastChunk: true } })
          }
          send({ statusUpdate: { taskId: now.id, contextId: now.contextId, status: now.status } })
          last = now
        }
      } while (again && !done(last))
    } catch (e) {
      raw.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: rpcId, error: toRpcError(e).toJSON() })}\n\n`)
      stream.end()
      return
    } finally {
      reading = false
    }
    if (done(last)) stream.end()
  }
  const unsubscribe = node.chain.onCommit(() => void check())
  streams.add(stream)
  raw.on('close', () => stream.end())
  send({ task: first })
  // A block committed between reading `first` and subscribing would otherwise go unseen.
  void check()
}

const a2aAnswerSchema = z
  .union([z.object({ jsonrpc: z.literal('2.0'), id: jsonRpcId, result: z.record(z.string(), z.unknown()) }), jsonRpcErrorSchema])
  .meta({ id: 'A2aAnswer', description: 'A JSON-RPC 2.0 answer (A2A 1.0): a result (SendMessageResponse {task}, a Task), or an A2A error' })

export const a2aRoutes: FastifyPluginAsync<A2aRoutesOptions> = async (app, o) => {
  const streams = new Set<Stream>()
  app.addHook('preClose', async () => {
    for (const s of [...streams]) s.end()
  })

  app.get(
    '/.well-known/agent-card.json',
    {
      schema: {
        summary: 'A2A agent card: skills, the JSON-RPC interface at /a2a, how writes are signed and calls paid',
        tags: ['a2a'],
        response: { 200: agentCardSchema, ...errorResponses() },
      },
    },
    async (request) =>
      agentCard({
        baseUrl: baseUrl(request),
        chainId: o.node.chain.genesis.chainId,
        inference: o.inference,
        datanets: o.datanets,
        x402: o.x402,
        x402Schemes: o.x402Schemes?.(),
      }),
  )

  app.post(
    A2A_PATH,
    {
      schema: {
        summary:
          'A2A 1.0 JSON-RPC for the task board (SendMessage posts a task from a signed PostTask; GetTask, CancelTask; SSE streams); header A2A-Version: 1.0',
        tags: ['a2a'],
        body: z.unknown().describe('A JSON-RPC 2.0 request (A2A 1.0)'),
        response: {
          200: a2aAnswerSchema,
          ...errorResponses(...BAD_JSON),
        },
      },
      // The method's params are read by the A2A checks, which answer in JSON-RPC.
      validatorCompiler: () => (data: unknown) => ({ value: data }),
    },
    async (request, reply) => {
      const body = request.body
      const id: Id = body !== null && typeof body === 'object' && !Array.isArray(body) ? idOf((body as { id?: unknown }).id) : null
      const answer = (result: unknown) => reply.code(200).send({ jsonrpc: '2.0', id, result })
      const fail = (e: unknown) => reply.code(200).send({ jsonrpc: '2.0', id, error: toRpcError(e).toJSON() })
      try {
        if (Array.isArray(body))
          throw a2aError(RPC.INVALID_REQUEST, 'INVALID_REQUEST', 'Invalid Request: JSON-RPC batches are not served; send one request per call')
        const rpc = (body ?? {}) as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown }
        if (typeof body !== 'object' || rpc.jsonrpc !== '2.0' || typeof rpc.method !== 'string' || !('id' in rpc) || idOf(rpc.id) !== rpc.id) {
          throw a2aError(
            RPC.INVALID_REQUEST,
            'INVALID_REQUEST',
            'Invalid Request: a JSON-RPC 2.0 request {jsonrpc: "2.0", id, method, params} (A2A methods need an id)',
          )
        }
        checkVersion(request)
        const api = injectApi(app, request.ip)
        const base = baseUrl(request)
        if (rpc.method === 'SendStreamingMessage' || rpc.method === 'SubscribeToTask') {
          let first: A2aTask
          if (rpc.method === 'SendStreamingMessage') {
            first = ((await call(api, base, 'SendMessage', rpc.params)) as { task: A2aTask }).task
          } else {
            first = await readTask(api, taskIdAt(objectAt(rpc.params, 'params').id, 'params.id'), base)
            if (TERMINAL_STATES.includes(first.status.state)) {
              throw a2aError(
                RPC.UNSUPPORTED_OPERATION,
                'UNSUPPORTED_OPERATION',
                `task ${first.id} is in a terminal state (${first.status.state}): read it with GetTask`,
              )
            }
          }
          return streamTask(o.node, streams, reply, api, base, id, first)
        }
        return answer(await call(api, base, rpc.method, rpc.params))
      } catch (e) {
        return fail(e)
      }
    },
  )
}

function idOf(v: unknown): Id {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ? v : null
}

export { RPC, RpcError } from './rpc.ts'
