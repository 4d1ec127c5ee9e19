/**
 * The wire shapes every layer shares, defined once as zod schemas: the ledger's codec
 * validates with them, the HTTP routes and MCP tools declare their inputs with them, and
 * the OpenAPI document (/openapi.json) is generated from them.
 *
 *   hash32Schema      0x and 64 hex digits (tx hashes, ids, content hashes as bytes32)
 *   addressSchema     0x and 40 hex digits
 *   uintStringSchema  an unsigned integer as a decimal string (how every integer travels)
 *   hexSchema         0x and hex bytes (signatures, state values)
 *   countSchema       a count, index or size that fits a JSON number (never money)
 *   txEnvelopeSchema  { type, message, signature, from?, chainId? } (the ledger's
 *                     parseTxEnvelope checks every tx against it, src/ledger/tx.ts)
 *   errorBodySchema   { error: { code, message, details } }, code from the catalogue
 *
 * and the one mapping of a zod issue to a catalogue error (`invalid_field`,
 * `missing_field`, `unknown_field`, naming the field by its path).
 */
import { z } from 'zod'
import { SinewError } from './errors.ts'
import { errorCatalogue, type ErrorCode } from './error-codes.ts'

export const hash32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x and 64 hex digits')
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address (0x and 40 hex digits)')
export const uintStringSchema = z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal integer string')
export const hexSchema = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x and hex bytes')
export const countSchema = z.number().int().min(0)

/** A path as the node's errors name fields: `tx.message.to`, `txs[3].signature`. */
export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`
  return out
}

/** What the catalogue needs of a zod issue (zod's own, or as fastify-type-provider-zod passes it on). */
export type FieldIssue = { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] }

/**
 * The catalogue error for one zod issue at `root`: an unknown key is `unknown_field`, a
 * value that is not there `missing_field`, anything else `invalid_field`; `details.field`
 * names it (an unknown key by its own name). Every zod-checked input (HTTP bodies, queries
 * and params, tx envelopes) is refused through here.
 */
export function fieldIssueError(issue: FieldIssue, root: string, extra: Record<string, unknown> = {}): SinewError {
  const unknown = issue.code === 'unrecognized_keys' && issue.keys !== undefined && issue.keys.length > 0
  const field = fieldPath(root, unknown ? [...issue.path, issue.keys![0]] : issue.path)
  const code: ErrorCode = unknown
    ? 'unknown_field'
    : issue.code === 'invalid_type' && /received undefined/.test(issue.message)
      ? 'missing_field'
      : 'invalid_field'
  return new SinewError({ code, message: `${field}: ${issue.message}`, details: { field, ...extra } })
}

/**
 * The wire form of a signed tx. `type` is the EIP-712 primary type (GET /v1/types lists the
 * kinds); the message's integers are decimal strings; `from` and `chainId` are optional
 * cross-checks that let the node refuse, by name, a signature made for another key or chain.
 */
export const txEnvelopeSchema = z
  .object({
    type: z.string().describe('Tx kind, the EIP-712 primary type, e.g. "Transfer" (GET /v1/types lists them)'),
    message: z.record(z.string(), z.unknown()).describe('The signed message, every field including nonce; integers as decimal strings'),
    signature: z.string().describe('65-byte r‖s‖v signature as 0x hex, from eth_signTypedData_v4 / viem signTypedData'),
    from: z.string().optional().describe('Optional: the signer address, checked against the recovered one'),
    chainId: z.string().optional().describe('Optional: the chainId signed for (decimal string), checked against this chain'),
    delegator: z
      .string()
      .optional()
      .describe(
        'For a session key: the account it signs for (a Delegate grant). The signature then covers ActFor {delegator, tx: <message>} (GET /v1/types `actFor`)',
      ),
  })
  .strict()
  .meta({ id: 'TxEnvelope', description: 'A signed tx: {type, message, signature}, as any Ethereum library signs it (EIP-712)' })

export type TxEnvelope = z.output<typeof txEnvelopeSchema>

const catalogueCodes = Object.keys(errorCatalogue) as [ErrorCode, ...ErrorCode[]]

/** The `error` of an error answer: its catalogue code, a one-sentence message, and details. */
export const errorObjectSchema = z
  .object({
    code: z.enum(catalogueCodes).describe('A code of the error catalogue (GET /v1/errors), which also gives its HTTP status and meaning'),
    message: z.string().describe('What went wrong, in one sentence'),
    details: z
      .record(z.string(), z.unknown())
      .describe('Facts about the failure: details.field names the field at fault; details.hint, when present, says what to do'),
  })
  .meta({ id: 'ErrorObject' })

/** Every error answer of the node's own API: `{ error: { code, message, details } }` (core/errors.ts `ErrorBody`). */
export const errorBodySchema = z
  .object({ error: errorObjectSchema })
  .meta({ id: 'Error', description: 'An error answer: {"error": {"code", "message", "details"}}' })
