/**
 * MCP tools over Datanets and models: find data, search it, list models, run an attributed
 * inference call, read its receipt. They call the node's own HTTP API, like every tool.
 * `chat` pays with the caller's API key (an account's GrantApiKey): the key is the
 * agent's own, so every charge is tied to a signature of its account.
 */
import { z } from 'zod'
import { paidToolCall } from './x402.ts'
import { hash32Schema } from '../../core/index.ts'
import type { McpToolModule } from './tools.ts'

const q = (params: Record<string, string | number | undefined>): string => {
  const s = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') s.set(k, String(v))
  const text = s.toString()
  return text ? `?${text}` : ''
}

export const dataMcpTools: McpToolModule = {
  module: 'datanets',
  tools: [
    {
      name: 'search_datanets',
      title: 'Search Datanets',
      description: 'Find Datanets by name or description; each with its owner, rules, stake, versions and counts.',
      inputSchema: {
        query: z.string().max(200).optional().describe('words to look for; omit to list all'),
        limit: z.number().int().min(1).max(100).optional(),
      },
      handler: async (args: { query?: string; limit?: number }, { api }) => api.get(`/v1/datanets${q({ q: args.query, limit: args.limit })}`),
    },
    {
      name: 'search_data',
      title: 'Search data',
      description: 'Search the accepted contributions of a Datanet version for a text: matches with snippets, contribution ids and authors.',
      inputSchema: {
        datanet: z.string().min(1).max(200).describe('Datanet id (0x…) or name'),
        version: z.number().int().min(1).describe('published version number'),
        query: z.string().min(1).max(2000),
        limit: z.number().int().min(1).max(1000).optional(),
      },
      handler: async (args: { datanet: string; version: number; query: string; limit?: number }, { api }) =>
        api.get(`/v1/datanets/${encodeURIComponent(args.datanet)}/versions/${args.version}/search${q({ q: args.query, limit: args.limit })}`),
    },
  ],
}

export const modelMcpTools: McpToolModule = {
  module: 'models',
  tools: [
    {
      name: 'list_models',
      title: 'List models',
      description:
        'Models registered on this node with their owner, backend, price per million output tokens, contributor share and the Datanet versions they draw on.',
      inputSchema: {},
      handler: async (_args, { api }) => api.get('/v1/registry/models'),
    },
    {
      name: 'chat',
      title: 'Chat (attributed, paid)',
      description:
        'Run a chat completion on a model through the gateway, paid with your API key or, without one on a node that takes x402, with an x402 payment in the request\'s _meta["x402/payment"] (without it the result is the PaymentRequired). The answer comes with its receipt id (get_receipt): the Datanet spans it reproduces and how the fee was split.',
      writes: true,
      inputSchema: {
        model: z.string().min(1).max(100),
        messages: z
          .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().max(100_000) }))
          .min(1)
          .max(100),
        maxTokens: z.number().int().min(1).max(4096).optional(),
        apiKey: z
          .string()
          .min(8)
          .max(200)
          .optional()
          .describe("your Sinew API key (sk-sinew-…), granted by your account's GrantApiKey; leave it out to pay with x402"),
      },
      handler: async (args: { model: string; messages: { role: string; content: string }[]; maxTokens?: number; apiKey?: string }, ctx) => {
        const body = { model: args.model, messages: args.messages, ...(args.maxTokens ? { max_tokens: args.maxTokens } : {}) }
        const shape = (r: any) => ({ content: r.choices?.[0]?.message?.content ?? '', usage: r.usage, sinew: r.sinew })
        if (args.apiKey === undefined) return paidToolCall(ctx, '/v1/chat/completions', body, shape)
        return shape(await ctx.api.post('/v1/chat/completions', body, { authorization: `Bearer ${args.apiKey}` }))
      },
    },
    {
      name: 'get_receipt',
      title: 'Get a receipt',
      description: 'An inference receipt: model, token counts, method id, traced spans with contribution ids, and the fee split.',
      inputSchema: { id: hash32Schema.describe('The receipt id (0x and 64 hex digits)') },
      handler: async (args: { id: string }, { api }) => api.get(`/v1/receipts/${args.id}`),
    },
  ],
}
