/**
 * x402's MCP transport (x402 specs/transports-v2/mcp.md) for paid tools: the payment
 * (PaymentPayload) comes in the tools/call request's `_meta["x402/payment"]`; a call that
 * needs payment answers a tool result with `isError: true`, the PaymentRequired as
 * `structuredContent` and, in `content[0].text`, `{"x402/error": {code: 402, message, data}}`;
 * a paid call's result carries the SettleResponse in `_meta["x402/payment-response"]`. The
 * tool calls the node's HTTP route with the same payload as PAYMENT-SIGNATURE, so both
 * transports check and settle payments in one place (src/server/x402.ts).
 */
import { errorFromResponse } from '../../core/index.ts'
import { decodeHeader, encodeHeader, PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, type PaymentRequired } from '../x402.ts'
import { ToolAnswer, toolResult, type McpToolContext } from './tools.ts'

export const MCP_PAYMENT_META = 'x402/payment'
export const MCP_PAYMENT_RESPONSE_META = 'x402/payment-response'

/**
 * POSTs `body` to a paid route with the request's x402 payment, if any, and answers as the
 * MCP transport says: the payment-required result, or `shape` of the answer with the payment response.
 */
export async function paidToolCall(
  ctx: McpToolContext,
  path: string,
  body: object,
  shape: (answer: any) => Record<string, unknown>,
): Promise<ToolAnswer | Record<string, unknown>> {
  const payment = ctx.meta?.[MCP_PAYMENT_META]
  const r = await ctx.api.exchange(path, body, payment === undefined ? {} : { [PAYMENT_SIGNATURE_HEADER.toLowerCase()]: encodeHeader(payment) })
  const required = r.headers[PAYMENT_REQUIRED_HEADER.toLowerCase()]
  if (r.status === 402 && required) {
    const data = decodeHeader(required) as PaymentRequired
    const message = data.error ?? 'Payment required'
    return new ToolAnswer({
      isError: true,
      structuredContent: data,
      content: [{ type: 'text', text: JSON.stringify({ 'x402/error': { code: 402, message, data } }) }],
    })
  }
  if (r.status >= 400) throw errorFromResponse(r.status, r.text)
  const result = toolResult(shape(JSON.parse(r.text)))
  const settled = r.headers[PAYMENT_RESPONSE_HEADER.toLowerCase()]
  return settled ? new ToolAnswer({ ...result, _meta: { [MCP_PAYMENT_RESPONSE_META]: decodeHeader(settled) } }) : result
}
