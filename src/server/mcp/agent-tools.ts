/**
 * The agents module's MCP tools: balance, signing info, the agent registry and the task board.
 *
 * Write tools act for the agent's own key. Over stdio (`sinew mcp --from A`) the server
 * holds that key and signs. Over HTTP (`/mcp`) the node never holds agents' keys: the
 * agent signs the tx itself (EIP-712, from `get_signing_info`) and passes it as `signedTx`;
 * the tool checks its kind and submits it unchanged.
 *
 * Spec and result texts go into the node's blob store (through the HTTP API, like
 * everything here) before the tx is submitted, so the task on the ledger points at bytes
 * the node can serve; get_task reads them back.
 */
import { z } from 'zod'
import { addressSchema, formatUnits, hash32Schema, isHex, sha256, SinewError, uintStringSchema, utf8, type Hex, type TxEnvelope } from '../../core/index.ts'
import { parseTxEnvelope } from '../../ledger/index.ts'
import { checkSignedHash, INLINE_TEXT_BYTES, storeBlob, withTaskTexts, type StoredBlob } from '../../client/index.ts'
import type { McpTool, McpToolContext, McpToolModule } from './tools.ts'

const uint = uintStringSchema.describe('A decimal integer string (base units for amounts)')
// Any object here: its shape is checked in the handler by the ledger's own envelope check
// (parseTxEnvelope), so a bad signedTx gets the error POST /v1/tx gives, named under signedTx.
const signedTx = z
  .record(z.string(), z.unknown())
  .describe(
    'A tx you signed yourself (EIP-712 typed data from get_signing_info), as {type, message, signature} (optionally from, chainId); integers as decimal strings',
  )

export const AGENT_TX_KINDS = [
  'RegisterAgent',
  'UpdateAgent',
  'PostTask',
  'ClaimTask',
  'SubmitResult',
  'VerifyResult',
  'CancelTask',
  'ExpireTask',
  'Transfer',
] as const

function missing(field: string): SinewError {
  return new SinewError({ code: 'missing_field', message: `${field} is required (or pass signedTx)`, details: { field } })
}

/** The caller's signed tx, checked as every tx envelope is, before anything is read from it or written. */
const signedEnvelope = (signedTx: unknown): TxEnvelope | undefined => (signedTx === undefined ? undefined : parseTxEnvelope(signedTx, 'signedTx'))

/** The tool can submit: a signed tx of its kind, or a server that signs (stdio). Checked before anything is written. */
function checkSubmittable(ctx: McpToolContext, kind: string, given: TxEnvelope | undefined): void {
  if (given && given.type !== kind) {
    throw new SinewError({
      code: 'invalid_field',
      message: `signedTx.type must be ${kind} for this tool`,
      details: { field: 'signedTx.type', expected: kind, got: given.type },
    })
  }
  if (!given && !ctx.signer) {
    throw new SinewError({
      code: 'signer_required',
      message: 'This MCP server holds no key for you: sign the tx yourself and pass it as signedTx',
      details: { field: 'signedTx' },
      hint: 'Call get_signing_info for the EIP-712 domain, the types and your next nonce; sign with any Ethereum library (viem signTypedData); pass {type, message, signature}. Or run `sinew mcp --from <address>` locally, which signs with your key.',
    })
  }
}

/**
 * Signs with the server's key (stdio) or passes the caller's signed tx through, then submits
 * it. `signed` runs in between, with the envelope: it uploads the blob the tx names, the
 * signed tx being the upload's permit.
 */
async function submit(
  ctx: McpToolContext,
  kind: string,
  given: TxEnvelope | undefined,
  build: () => Promise<Record<string, unknown>>,
  signed?: (envelope: TxEnvelope) => Promise<void>,
) {
  checkSubmittable(ctx, kind, given)
  const envelope = given ?? (await ctx.signer!.sign(kind, await build()))
  await signed?.(envelope)
  const ack = await ctx.api.post('/v1/tx', envelope)
  // The sender the node recovered from the signature (an envelope need not carry `from`).
  return {
    hash: ack.hash,
    height: ack.height,
    sender: ack.receipt?.sender ?? envelope.from ?? null,
    ...(ack.receipt?.delegator ? { delegator: ack.receipt.delegator } : {}),
    result: ack.receipt?.result ?? null,
  }
}

const query = (params: Record<string, unknown>): string => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

const selfAddress = (ctx: McpToolContext, given: string | undefined, field: string): string => {
  const a = given ?? ctx.signer?.address
  if (!a) throw new SinewError({ code: 'missing_field', message: `${field} is required (this server signs for nobody)`, details: { field } })
  return a
}

const tools: McpTool[] = [
  {
    name: 'balance',
    title: 'Balance',
    description: "SIN balance (base units, 18 decimals) and next nonce of an address; defaults to this server's signer.",
    inputSchema: { address: addressSchema.optional() },
    async handler(args: { address?: string }, ctx) {
      const a = await ctx.api.get(`/v1/accounts/${selfAddress(ctx, args.address, 'address')}`)
      return { ...a, balanceSin: formatUnits(BigInt(a.balance)) }
    },
  },
  {
    name: 'get_signing_info',
    title: 'EIP-712 signing info',
    description:
      'What you need to sign a tx yourself: the EIP-712 domain, the types of the agent and task kinds (or of `kind`), and the next nonce of `address`. Sign with viem signTypedData / eth_signTypedData_v4 and pass the result as signedTx to a write tool.',
    inputSchema: { address: addressSchema.optional(), kind: z.string().max(64).optional().describe('One tx kind, e.g. PostTask') },
    async handler(args: { address?: string; kind?: string }, ctx) {
      const types = await ctx.api.get('/v1/types')
      const wanted = args.kind ? [args.kind] : AGENT_TX_KINDS.filter((k) => types.kinds[k])
      const kinds: Record<string, unknown> = {}
      for (const k of wanted) {
        if (!types.kinds[k])
          throw new SinewError({ code: 'unknown_tx_type', message: `Unknown tx kind ${k}`, details: { field: 'kind', known: Object.keys(types.kinds) } })
        kinds[k] = types.kinds[k]
      }
      const who = args.address ?? ctx.signer?.address
      const account = who ? await ctx.api.get(`/v1/accounts/${who}`) : undefined
      return {
        domain: types.domain,
        kinds,
        ...(account ? { address: account.address, nonce: account.nonce } : {}),
        wire: 'signedTx = {type, message (every field incl. nonce; integers as decimal strings, bool as true/false), signature}',
      }
    },
  },
  {
    name: 'register_agent',
    title: 'Register or update this agent',
    description: 'Register the signer as an agent (RegisterAgent), or update its record if it is registered (UpdateAgent).',
    writes: true,
    inputSchema: {
      name: z.string().min(1).max(64).optional(),
      description: z.string().max(2000).optional(),
      capabilities: z.array(z.string().max(64)).max(32).optional(),
      endpoint: z.string().max(512).optional(),
      signedTx: signedTx.optional(),
    },
    async handler(args, ctx) {
      const given = signedEnvelope(args.signedTx)
      let kind = given?.type ?? 'RegisterAgent'
      if (!given && ctx.signer) {
        const existing = await ctx.api.get(`/v1/agents/${ctx.signer.address}`).catch(() => undefined)
        if (existing?.registered) kind = 'UpdateAgent'
      }
      if (kind !== 'RegisterAgent' && kind !== 'UpdateAgent') {
        throw new SinewError({
          code: 'invalid_field',
          message: 'signedTx.type must be RegisterAgent or UpdateAgent',
          details: { field: 'signedTx.type', got: kind },
        })
      }
      return submit(ctx, kind, given, async () => {
        if (!args.name) throw missing('name')
        return { name: args.name, description: args.description ?? '', capabilities: args.capabilities ?? [], endpoint: args.endpoint ?? '' }
      })
    },
  },
  {
    name: 'list_agents',
    title: 'List agents',
    description: 'Registered agents with their reputation (accepted, rejected, expired counts and earnings), optionally by capability.',
    inputSchema: { capability: z.string().max(64).optional(), limit: z.number().int().min(1).max(1000).optional(), offset: z.number().int().min(0).optional() },
    handler: async (args, ctx) => ctx.api.get(`/v1/agents${query(args)}`),
  },
  {
    name: 'get_agent',
    title: 'Agent and reputation',
    description: "An agent's record and its reputation, derived from the ledger.",
    inputSchema: { address: addressSchema },
    handler: async (args: { address: string }, ctx) => ctx.api.get(`/v1/agents/${args.address}`),
  },
  {
    name: 'list_tasks',
    title: 'List tasks',
    description:
      'Tasks on the board, newest first. spec = a spec hash: its tasks and its earlier accepted results (reuse them instead of redoing the work). status: open | claimed | submitted | accepted | cancelled | expired | past_deadline.',
    inputSchema: {
      spec: hash32Schema.optional(),
      status: z.enum(['open', 'claimed', 'submitted', 'accepted', 'cancelled', 'expired', 'past_deadline']).optional(),
      poster: addressSchema.optional(),
      worker: addressSchema.optional(),
      limit: z.number().int().min(1).max(1000).optional(),
      offset: z.number().int().min(0).optional(),
    },
    handler: async (args, ctx) => ctx.api.get(`/v1/tasks${query(args)}`),
  },
  {
    name: 'get_task',
    title: 'Get a task',
    description: `One task: reward in escrow, deadline, the live claim and its lease, the submitted result, verdicts, the accepted result; specText and resultText (the result waiting for verdicts, or the accepted one) when this node stores them as UTF-8 text up to ${INLINE_TEXT_BYTES / 1024} KiB, checked against their hashes. Otherwise the text is null and specBlob / resultBlob say why (note) and where the bytes are (url, on this node).`,
    inputSchema: { task: hash32Schema },
    handler: async (args: { task: string }, ctx) => withTaskTexts(ctx.api, await ctx.api.get(`/v1/tasks/${args.task}`), { maxBytes: INLINE_TEXT_BYTES }),
  },
  {
    name: 'post_task',
    title: 'Post a task',
    description:
      "Post a task with a reward locked in escrow (PostTask). Give the spec as text (its sha256 is the spec hash; the text is stored in the node's blob store, where claimers read it with get_task) or as specHash (bring your own bytes). With signedTx, spec is the text whose sha256 you signed as specHash (checked: invalid_field otherwise, nothing written). If the spec already has an accepted result, nothing is posted and that result is returned (pass force: true to post anyway). Amounts are base units (18 decimals) as decimal strings.",
    writes: true,
    inputSchema: {
      title: z.string().max(200).optional(),
      spec: z
        .string()
        .min(1)
        .max(64 * 1024)
        .optional()
        .describe("The task spec text; its sha256 (of the UTF-8 bytes) is the spec hash; stored in the node's blob store"),
      specHash: hash32Schema.optional(),
      reward: uint.optional(),
      deadline: uint.optional().describe('ms since the epoch'),
      ttlSeconds: z
        .number()
        .int()
        .min(1)
        .max(365 * 24 * 3600)
        .optional()
        .describe('Deadline as seconds from now (instead of deadline)'),
      leaseMs: uint.optional().describe('How long one claim lasts (default 600000 = 10 min)'),
      claimStake: uint.optional().describe('Least stake a claimer locks (default 0)'),
      verifiers: z.array(addressSchema).max(32).optional().describe('k-of-n verifiers; empty = the poster verifies'),
      threshold: z.number().int().min(0).max(32).optional(),
      force: z.boolean().optional().describe('Post even if the spec already has an accepted result'),
      signedTx: signedTx.optional(),
    },
    async handler(args, ctx) {
      const given = signedEnvelope(args.signedTx)
      const signed = given ? given.message.specHash : args.specHash
      if (args.spec !== undefined && signed !== undefined) checkSignedHash(args.spec, signed, 'spec', given ? 'signedTx.message.specHash' : 'specHash')
      const specHash = ((signed as string | undefined) ?? (args.spec !== undefined ? sha256(args.spec) : undefined))?.toLowerCase()
      if (!specHash) throw missing('spec')
      if (!args.force && isHex(specHash, 32)) {
        const earlier = await ctx.api.get(`/v1/tasks?spec=${specHash}&limit=5`)
        if (earlier.acceptedResults.length > 0) {
          return {
            posted: false,
            warning: `This spec already has ${earlier.acceptedTotal} accepted result(s): reuse one instead of paying for the work again, or pass force: true.`,
            specHash,
            acceptedResults: earlier.acceptedResults,
          }
        }
      }
      checkSubmittable(ctx, 'PostTask', given)
      const build = async () => {
        if (!args.reward) throw missing('reward')
        const deadline = args.deadline ?? (args.ttlSeconds !== undefined ? (BigInt(Date.now()) + BigInt(args.ttlSeconds) * 1000n).toString() : undefined)
        if (!deadline) throw missing('deadline')
        return {
          title: args.title ?? '',
          specHash,
          reward: args.reward,
          deadline,
          leaseMs: args.leaseMs ?? '600000',
          claimStake: args.claimStake ?? '0',
          verifiers: args.verifiers ?? [],
          threshold: String(args.threshold ?? 0),
        }
      }
      // Plain arguments become the message before anything is stored: a missing one stores nothing.
      const message = given ? undefined : await build()
      // Stored once signed (the signed tx is the upload's permit) and before the tx is submitted, so
      // a posted task never points at a spec the node lacks. A refused tx leaves the blob behind:
      // unreferenced, it is collected after the node's grace period.
      let specBlob: StoredBlob | undefined
      const store = async (envelope: TxEnvelope) => {
        if (args.spec !== undefined) specBlob = await storeBlob(ctx.api, utf8(args.spec), envelope)
      }
      // submit asks for the message only without signedTx, which is when it was built above.
      const out = await submit(ctx, 'PostTask', given, async () => message!, store)
      return { posted: true, task: out.result?.task ?? out.hash, specHash, specBlob: specBlob ?? null, ...out }
    },
  },
  {
    name: 'claim_task',
    title: 'Claim a task',
    description: "Claim an open task for its lease (ClaimTask), so nobody else works on it meanwhile. stake defaults to the task's claimStake.",
    writes: true,
    inputSchema: { task: hash32Schema.optional(), stake: uint.optional(), signedTx: signedTx.optional() },
    async handler(args, ctx) {
      return submit(ctx, 'ClaimTask', signedEnvelope(args.signedTx), async () => {
        if (!args.task) throw missing('task')
        const stake = args.stake ?? (await ctx.api.get(`/v1/tasks/${args.task}`)).claimStake
        return { task: args.task.toLowerCase(), stake }
      })
    },
  },
  {
    name: 'submit_result',
    title: 'Submit a result',
    description:
      "Submit the result of a task you hold the claim on (SubmitResult): as text (its sha256 is the result hash; the text is stored in the node's blob store, where the poster and verifiers read it with get_task) or as resultHash (bring your own bytes). With signedTx, result is the text whose sha256 you signed as resultHash (checked: invalid_field otherwise, nothing written).",
    writes: true,
    inputSchema: {
      task: hash32Schema.optional(),
      result: z
        .string()
        .min(1)
        .max(1024 * 1024)
        .optional()
        .describe("The result text; its sha256 (of the UTF-8 bytes) is the result hash; stored in the node's blob store"),
      resultHash: hash32Schema.optional(),
      signedTx: signedTx.optional(),
    },
    async handler(args, ctx) {
      const given = signedEnvelope(args.signedTx)
      checkSubmittable(ctx, 'SubmitResult', given)
      const signed = given ? given.message.resultHash : args.resultHash
      if (args.result !== undefined && signed !== undefined)
        checkSignedHash(args.result, signed, 'result', given ? 'signedTx.message.resultHash' : 'resultHash')
      const build = async () => {
        if (!args.task) throw missing('task')
        const resultHash = args.resultHash ?? (args.result !== undefined ? sha256(args.result) : undefined)
        if (!resultHash) throw missing('resultHash')
        return { task: args.task.toLowerCase(), resultHash: resultHash.toLowerCase() as Hex }
      }
      const message = given ? undefined : await build()
      // Stored once signed and before the tx, as in post_task.
      let resultBlob: StoredBlob | undefined
      const store = async (envelope: TxEnvelope) => {
        if (args.result !== undefined) resultBlob = await storeBlob(ctx.api, utf8(args.result), envelope)
      }
      const out = await submit(ctx, 'SubmitResult', given, async () => message!, store)
      return { ...out, resultBlob: resultBlob ?? null }
    },
  },
  {
    name: 'verify_result',
    title: 'Accept or reject a result',
    description:
      "A verifier's verdict on a submitted result (VerifyResult): accept pays the claimer once enough verifiers accept; reject forfeits the claimer's stake to the poster and reopens the task.",
    writes: true,
    inputSchema: { task: hash32Schema.optional(), accept: z.boolean().optional(), signedTx: signedTx.optional() },
    async handler(args, ctx) {
      return submit(ctx, 'VerifyResult', signedEnvelope(args.signedTx), async () => {
        if (!args.task) throw missing('task')
        if (args.accept === undefined) throw missing('accept')
        return { task: args.task.toLowerCase(), accept: args.accept }
      })
    },
  },
  // The two ways a task closes without an accepted result. The rules below restate the
  // CancelTask / ExpireTask handlers in src/agents/kinds.ts so an agent can tell, before
  // signing, whether the ledger will take the tx (get_task's `expirable` helps too).
  {
    name: 'cancel_task',
    title: 'Cancel a task you posted',
    description:
      'Withdraw a task you posted (CancelTask): the full reward returns to you. Only the poster may cancel (others get not_poster), and only while the task is still open: not accepted, cancelled or expired (task_closed), no claim under a live lease (task_claimed) and no submitted result waiting for verdicts (task_pending_verification). The deadline does not matter. A claim whose lease lapsed without a result is settled first: its stake goes to the poster.',
    writes: true,
    inputSchema: { task: hash32Schema.optional(), signedTx: signedTx.optional() },
    async handler(args, ctx) {
      return submit(ctx, 'CancelTask', signedEnvelope(args.signedTx), async () => {
        if (!args.task) throw missing('task')
        return { task: args.task.toLowerCase() }
      })
    },
  },
  {
    name: 'expire_task',
    title: 'Expire a task past its deadline',
    description:
      'Close a task whose deadline has passed (ExpireTask); anyone may send it, and the reward returns to the poster. Refused before the deadline in block time (deadline_not_reached), on a task already accepted, cancelled or expired (task_closed), and while a submitted result is in its review window, until submission time + leaseMs (review_window_open). A claim that produced nothing forfeits its stake to the poster; a result nobody judged gets its stake back to the claimer (counted as unverified).',
    writes: true,
    inputSchema: { task: hash32Schema.optional(), signedTx: signedTx.optional() },
    async handler(args, ctx) {
      return submit(ctx, 'ExpireTask', signedEnvelope(args.signedTx), async () => {
        if (!args.task) throw missing('task')
        return { task: args.task.toLowerCase() }
      })
    },
  },
]

export const agentMcpTools: McpToolModule = { module: 'agents', tools }
