/**
 * The node's MCP server: `/mcp` (Streamable HTTP, stateless: one server per request) and
 * `sinew mcp` (stdio) serve the same tools, built from `mcpToolModules`.
 *
 * To add tools, a module exports an `McpToolModule` and appends it to `mcpToolModules`
 * below (one line). Tools the design promises but whose module is not on this node yet
 * (`FEATURE_TOOLS`) are listed and answer a `feature_unavailable` error — never a fake —
 * until a module registers a tool of the same name, which then replaces the placeholder.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { errorBodySchema, SINEW_VERSION, SinewError } from '../../core/index.ts'
import { BAD_JSON, errorResponses } from '../openapi.ts'
import { agentMcpTools } from './agent-tools.ts'
import { dataMcpTools, modelMcpTools } from './data-tools.ts'
import { injectApi } from '../inject-api.ts'
import { ToolAnswer, toolError, toolResult, type McpTool, type McpToolContext, type McpToolModule } from './tools.ts'

export { agentMcpTools } from './agent-tools.ts'
export * from './tools.ts'
export { injectApi } from '../inject-api.ts'

/** The registration point: every module's MCP tools. */
export const mcpToolModules: McpToolModule[] = [agentMcpTools, dataMcpTools, modelMcpTools]

/** Tools backed by modules that may be missing on a node: [name, feature, description]. */
export const FEATURE_TOOLS: [string, string, string][] = [
  ['search_datanets', 'Datanets', 'Find Datanets by name or description.'],
  ['search_data', 'Datanets', 'Search the accepted contributions of a Datanet version for text.'],
  ['list_models', 'Models', 'Models served by this node, with prices and the Datanets they draw on.'],
  ['chat', 'Models', 'Run inference on a model; the answer comes with its attribution receipt.'],
  ['get_receipt', 'Models', 'An inference receipt: spans, contributions, fee split.'],
]

export function mcpTools(modules: McpToolModule[] = mcpToolModules): McpTool[] {
  const tools = modules.flatMap((m) => m.tools)
  const names = new Set(tools.map((t) => t.name))
  for (const [name, feature, description] of FEATURE_TOOLS) {
    if (names.has(name)) continue
    tools.push({
      name,
      title: name,
      placeholder: true,
      description: `${description} (Not available on this node: it has no ${feature} module; calling it returns feature_unavailable.)`,
      inputSchema: { query: z.string().optional() },
      handler: async () => {
        throw new SinewError({
          code: 'feature_unavailable',
          message: `${feature} are not available on this node`,
          details: { tool: name, feature },
          hint: `This node has no ${feature} module; ask a node that serves ${feature}.`,
        })
      },
    })
  }
  return tools
}

export const MCP_SERVER_INFO = { name: 'sinew', version: SINEW_VERSION }

export function createMcpServer(ctx: McpToolContext, modules?: McpToolModule[]): McpServer {
  const server = new McpServer(MCP_SERVER_INFO, {
    instructions:
      'Sinew node: an open coordination ledger for AI. Post tasks with escrowed rewards, claim and submit work, verify results, cancel or expire tasks, check balances and reputation. Amounts are SIN base units (18 decimals) as decimal strings. Before posting, list_tasks with spec= finds earlier accepted results to reuse.',
  })
  for (const tool of mcpTools(modules)) {
    server.registerTool(
      tool.name,
      { title: tool.title, description: tool.description, inputSchema: tool.inputSchema, annotations: { readOnlyHint: !tool.writes } },
      (async (args: unknown, extra: { _meta?: Record<string, unknown> } | undefined) => {
        try {
          const field = illFormedString(args)
          if (field !== undefined) {
            throw new SinewError({
              code: 'invalid_field',
              message: `${field || 'arguments'} holds a lone UTF-16 surrogate: not a Unicode string`,
              details: { field },
              hint: 'Send well-formed Unicode text (a JSON \\ud800 escape without its pair is not).',
            })
          }
          const answer = await tool.handler(args ?? {}, extra?._meta ? { ...ctx, meta: extra._meta } : ctx)
          return answer instanceof ToolAnswer ? answer.result : toolResult(answer)
        } catch (e) {
          return toolError(e)
        }
      }) as any,
    )
  }
  return server
}

/** The path of the first string in `value` that is not well-formed UTF-16 (a lone surrogate), or undefined. */
export function illFormedString(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value) ? path : undefined
  if (value === null || typeof value !== 'object') return undefined
  for (const [k, v] of Object.entries(value)) {
    const found = illFormedString(v, path ? `${path}.${k}` : k)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * A `tools/call` whose params are not `{name: string, arguments?: object}` as the JSON-RPC
 * error it is (-32602 Invalid params, with the typed error as data), or undefined. The MCP
 * SDK answers these with -32603 Internal error, which tells a client the node failed.
 */
export function malformedToolCall(body: unknown): object | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined
  const { method, params, id } = body as { method?: unknown; params?: unknown; id?: unknown }
  if (method !== 'tools/call') return undefined
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v)
  const p = params as { name?: unknown; arguments?: unknown }
  const field = !isObject(params)
    ? 'params'
    : typeof p.name !== 'string'
      ? 'params.name'
      : p.arguments !== undefined && !isObject(p.arguments)
        ? 'params.arguments'
        : undefined
  if (!field) return undefined
  const e = new SinewError({
    code: 'invalid_field',
    message: field === 'params.name' ? 'tools/call needs params.name, a tool name' : `tools/call needs ${field} to be an object`,
    details: { field },
    hint: 'Call a tool as {"method": "tools/call", "params": {"name": "<tool>", "arguments": {...}}}; tools/list names the tools.',
  })
  return {
    jsonrpc: '2.0',
    id: typeof id === 'string' || typeof id === 'number' ? id : null,
    error: { code: -32602, message: e.shortMessage, data: e.toJSON().error },
  }
}

// ---------- what /mcp and the agent card answer, for the OpenAPI document ----------

// The JSON-RPC shapes, shared with the A2A endpoint (src/server/a2a).
export const jsonRpcId = z.union([z.string(), z.number().int(), z.null()])
export const jsonRpcErrorSchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: jsonRpcId,
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }),
  })
  .meta({ id: 'JsonRpcError' })
const jsonRpcAnswerSchema = z
  .union([z.object({ jsonrpc: z.literal('2.0'), id: jsonRpcId, result: z.record(z.string(), z.unknown()) }), jsonRpcErrorSchema])
  .meta({
    id: 'JsonRpcAnswer',
    description: 'A JSON-RPC 2.0 answer (MCP): a result, or an error; a tool that fails answers a result with isError and the Sinew error body',
  })

const mcpErrors = errorResponses(...BAD_JSON)

/** `/mcp` (Streamable HTTP, stateless, JSON responses). */
export const mcpRoutes: FastifyPluginAsync = async (app) => {
  app.post(
    '/mcp',
    {
      schema: {
        summary: 'MCP over Streamable HTTP (JSON-RPC); write tools take a signed tx (signedTx)',
        tags: ['mcp'],
        body: z.record(z.string(), z.unknown()).describe('A JSON-RPC 2.0 request or notification (MCP)'),
        response: {
          200: jsonRpcAnswerSchema,
          202: z.undefined().describe('A notification, accepted (no body)'),
          ...mcpErrors,
          400: {
            description: `A body that is not JSON (a Sinew error: ${mcpErrors[400].description.replace(/^An error; /, '')}), or not a JSON-RPC request (a JSON-RPC error)`,
            content: { 'application/json': { schema: z.union([errorBodySchema, jsonRpcErrorSchema]) } },
          },
          406: {
            description: 'The Accept header lacks application/json and text/event-stream (a JSON-RPC error)',
            content: { 'application/json': { schema: jsonRpcErrorSchema } },
          },
        },
      },
      // The MCP transport checks the JSON-RPC message itself and answers in JSON-RPC.
      validatorCompiler: () => (data: unknown) => ({ value: data }),
    },
    async (request, reply) => {
      const refused = malformedToolCall(request.body)
      if (refused) return reply.code(200).send(refused)
      const server = createMcpServer({ api: injectApi(app, request.ip), transport: 'http' })
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
      reply.hijack()
      reply.raw.on('close', () => {
        void transport.close()
        void server.close()
      })
      await server.connect(transport)
      await transport.handleRequest(request.raw, reply.raw, request.body)
    },
  )
  const notAllowed = async (_request: unknown, reply: any) =>
    reply
      .code(405)
      .header('allow', 'POST')
      .send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; POST JSON-RPC to it' }, id: null })
  app.get('/mcp', { schema: { hide: true } }, notAllowed)
  app.delete('/mcp', { schema: { hide: true } }, notAllowed)
}
