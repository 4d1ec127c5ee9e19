/** JSON-RPC 2.0 shapes shared by the node's JSON-RPC front ends (MCP at /mcp, A2A at /a2a), for the OpenAPI document. */
import { z } from 'zod'

export const jsonRpcId = z.union([z.string(), z.number().int(), z.null()])
export const jsonRpcErrorSchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: jsonRpcId,
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }),
  })
  .meta({ id: 'JsonRpcError' })
