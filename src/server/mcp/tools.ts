/**
 * MCP tool plumbing shared by every module's tools. A tool is a name, a description, a zod
 * input shape (the SDK validates arguments against it before the handler runs: malformed
 * arguments are an MCP error and nothing is written) and a handler that talks to the node
 * through `NodeApi` — the node's own HTTP API, in-process (`/mcp`) or over the network
 * (`sinew mcp` on stdio) — so both transports run the very same code.
 */
import type { ZodRawShape } from 'zod'
import { isSinewError, SinewError, wireJson, type TxEnvelope } from '../../core/index.ts'
import type { NodeApi } from '../../client/index.ts'
import type { Address } from '../../ledger/index.ts'

export type { TxEnvelope } from '../../core/index.ts'
export type { NodeApi } from '../../client/index.ts'

/** Signs for the agent's own key (stdio only): fills in the nonce, returns the wire envelope. */
export type McpSigner = {
  address: Address
  sign(type: string, message: Record<string, unknown>): Promise<TxEnvelope>
}

export type McpToolContext = {
  api: NodeApi
  /** Present when the server holds the agent's key (stdio); over HTTP write tools take a signed tx. */
  signer?: McpSigner
  transport: 'http' | 'stdio'
  /** The `_meta` of the tools/call request (x402's `x402/payment` travels there). */
  meta?: Record<string, unknown>
}

export type McpToolResult = {
  content: { type: 'text'; text: string }[]
  structuredContent?: Record<string, unknown>
  isError?: boolean
  _meta?: Record<string, unknown>
}

export type McpTool = {
  name: string
  title: string
  description: string
  inputSchema: ZodRawShape
  /** True for tools that submit txs. */
  writes?: boolean
  /** A promised tool whose module this node lacks: it answers feature_unavailable. */
  placeholder?: boolean
  handler(args: any, ctx: McpToolContext): Promise<Record<string, unknown> | ToolAnswer>
}

/** A handler's whole MCP result, as it is to be sent (e.g. x402's payment-required result, or a result with `_meta`). */
export class ToolAnswer {
  constructor(readonly result: McpToolResult) {}
}

/** What a module contributes: its tools. Registered once in ./index.ts (`mcpToolModules`). */
export type McpToolModule = { module: string; tools: McpTool[] }

export function toolResult(value: Record<string, unknown>): McpToolResult {
  return { content: [{ type: 'text', text: wireJson(value, 2) }], structuredContent: JSON.parse(wireJson(value)) }
}

/** A failed tool call: the Sinew error shape `{error: {code, message, details}}` as the MCP error result. */
export function toolError(e: unknown): McpToolResult {
  const body = (isSinewError(e) ? e : new SinewError({ code: 'internal', message: (e as Error)?.message ?? String(e) })).toJSON()
  return { content: [{ type: 'text', text: wireJson(body, 2) }], structuredContent: body, isError: true }
}
