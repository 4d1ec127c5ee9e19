/**
 * Agents routes: the agent registry with reputation, and the task board (with the spec
 * lookup that points a new poster at earlier accepted results). Writes go through POST /v1/tx.
 * One task also says whether its spec and result blobs are in this node's blob store (the
 * Datanets module's, joined here so the agents module stays apart from it).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { addressSchema, countSchema, hash32Schema, SinewError, uintStringSchema, type Hex } from '../../core/index.ts'
import { acceptedResults, agentView, getTask, listAgents, listTasks, taskView } from '../../agents/index.ts'
import { parseAddress, type LedgerNode } from '../../ledger/index.ts'
import { BAD_PARAMS, errorResponses } from '../openapi.ts'
import type { BlobRef } from '../../client/index.ts'

/** What the task view needs of a blob store: is this sha256 (64 hex digits) here, and how big. */
export type BlobLookup = { stat(sha256: string): { size: number } | undefined }

export type AgentsRoutesOptions = { node: LedgerNode; blobs?: BlobLookup }

export function blobRef(blobs: BlobLookup | undefined, hash: Hex): BlobRef {
  const sha = hash.slice(2).toLowerCase()
  const info = blobs?.stat(sha)
  return { hash, stored: info !== undefined, size: info?.size ?? null, url: `/v1/blobs/${sha}` }
}

// ---------- the answers' shapes (the agents module's records and views, src/agents) ----------

const reputationSchema = z
  .object({
    claims: countSchema,
    accepted: countSchema,
    rejected: countSchema,
    expired: countSchema.describe('Claims that ended without a result'),
    unverified: countSchema.describe('Submissions nobody judged before the task expired'),
    earned: uintStringSchema,
    stakeForfeited: uintStringSchema,
    posted: countSchema,
    paid: uintStringSchema,
    cancelled: countSchema,
    leftUnverified: countSchema.describe('Tasks it posted that expired with a submission its verifiers never judged'),
    verdicts: countSchema,
  })
  .meta({ id: 'Reputation', description: 'Counts and amounts derived from task txs (docs/agents.md)' })

const agentSchema = z
  .object({
    address: addressSchema,
    registered: z.boolean(),
    agent: z
      .object({
        address: addressSchema,
        name: z.string(),
        description: z.string(),
        capabilities: z.array(z.string()),
        endpoint: z.string(),
        registeredAt: uintStringSchema,
        registeredHeight: uintStringSchema,
        updatedAt: uintStringSchema,
      })
      .nullable(),
    reputation: reputationSchema,
  })
  .meta({ id: 'Agent' })

const statusSchema = z.enum(['open', 'claimed', 'submitted', 'accepted', 'cancelled', 'expired'])

const taskSchema = z
  .object({
    id: hash32Schema.describe('The hash of its PostTask tx'),
    poster: addressSchema,
    title: z.string(),
    specHash: hash32Schema,
    reward: uintStringSchema,
    deadline: uintStringSchema.describe('ms since the epoch (block time)'),
    leaseMs: uintStringSchema,
    claimStake: uintStringSchema,
    policy: z.enum(['poster', 'k-of-n']),
    verifiers: z.array(addressSchema),
    threshold: countSchema,
    status: statusSchema,
    postedAt: uintStringSchema,
    postedHeight: uintStringSchema,
    claim: z.object({ claimer: addressSchema, stake: uintStringSchema, claimedAt: uintStringSchema, leaseUntil: uintStringSchema }).nullable(),
    submission: z
      .object({
        claimer: addressSchema,
        resultHash: hash32Schema,
        stake: uintStringSchema,
        submittedAt: uintStringSchema,
        txHash: hash32Schema,
        accepts: z.array(addressSchema),
        rejects: z.array(addressSchema),
      })
      .nullable(),
    result: z.object({ claimer: addressSchema, resultHash: hash32Schema, acceptedAt: uintStringSchema, txHash: hash32Schema }).nullable(),
    escrow: uintStringSchema.describe('What the task holds now: the reward (until paid or returned) plus any claimer stake'),
    claims: countSchema,
    rejections: countSchema,
    closedAt: uintStringSchema.nullable(),
    effectiveStatus: z.enum([...statusSchema.options, 'past_deadline']).describe('The status now: a claim whose lease ran out shows as open'),
    claimable: z.boolean(),
    expirable: z.boolean(),
    leaseLapsed: z.boolean(),
  })
  .meta({ id: 'Task' })

const blobRefSchema = z
  .object({
    hash: hash32Schema,
    stored: z.boolean().describe('Whether this node has the bytes'),
    size: countSchema.nullable(),
    url: z.string().describe('Where this node serves them: GET /v1/blobs/<sha256>'),
  })
  .meta({ id: 'BlobRef' })

const acceptedResultSchema = z.object({ task: hash32Schema, resultHash: hash32Schema, claimer: addressSchema, acceptedAt: uintStringSchema })

const page = {
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many (1-1000)'),
  offset: z.coerce.number().int().min(0).default(0),
}
const statuses = ['open', 'claimed', 'submitted', 'accepted', 'cancelled', 'expired', 'past_deadline'] as const

export const agentsRoutes: FastifyPluginAsyncZod<AgentsRoutesOptions> = async (app, { node, blobs }) => {
  const state = () => node.chain.state
  const now = node.now

  app.get('/v1/agents', {
    schema: {
      summary: 'Registered agents with their reputation',
      tags: ['agents'],
      querystring: z.object({ capability: z.string().max(64).optional().describe('Only agents declaring this capability'), ...page }).strict(),
      response: { 200: z.object({ agents: z.array(agentSchema), total: countSchema }), ...errorResponses(...BAD_PARAMS) },
    },
    handler: async (request) => listAgents(state(), request.query),
  })

  app.get('/v1/agents/:address', {
    schema: {
      summary: "An agent's record and its reputation (derived from the ledger)",
      tags: ['agents'],
      params: z.object({ address: z.string() }),
      response: { 200: agentSchema, ...errorResponses('invalid_address', 'not_found') },
    },
    handler: async (request) => {
      const view = agentView(state(), parseAddress(request.params.address, 'address'))
      if (!view.registered && view.reputation.claims === 0 && view.reputation.posted === 0 && view.reputation.verdicts === 0) {
        throw new SinewError({
          code: 'not_found',
          message: `agent not found: ${view.address}`,
          details: { agent: view.address },
          hint: 'Register with a RegisterAgent tx (sinew agent register).',
        })
      }
      return view
    },
  })

  app.get('/v1/tasks', {
    schema: {
      summary: 'Tasks on the board, newest first; with spec=, the earlier accepted results of that spec too',
      tags: ['agents'],
      querystring: z
        .object({
          spec: hash32Schema.optional().describe('Only tasks with this spec hash, plus its accepted results'),
          status: z.enum(statuses).optional().describe('Effective status now (a lapsed lease shows as open)'),
          poster: addressSchema.optional(),
          worker: addressSchema.optional().describe('Claimer, submitter or paid worker'),
          ...page,
        })
        .strict(),
      response: {
        200: z.object({
          tasks: z.array(taskSchema),
          total: countSchema,
          acceptedResults: z.array(acceptedResultSchema).optional().describe("With spec=: that spec's latest accepted results (reuse them)"),
          acceptedTotal: countSchema.optional(),
        }),
        ...errorResponses(...BAD_PARAMS, 'invalid_address'),
      },
    },
    handler: async (request) => {
      const q = request.query
      const spec = q.spec?.toLowerCase() as Hex | undefined
      const result = listTasks(
        state(),
        { ...q, spec, poster: q.poster ? parseAddress(q.poster, 'poster') : undefined, worker: q.worker ? parseAddress(q.worker, 'worker') : undefined },
        now(),
      )
      if (!spec) return result
      const reuse = acceptedResults(state(), spec)
      return { ...result, acceptedResults: reuse.accepted, acceptedTotal: reuse.acceptedTotal }
    },
  })

  app.get('/v1/tasks/:id', {
    schema: {
      summary: 'One task: escrow, claim, submission, verdicts, result; specBlob and resultBlob say whether their bytes are on this node (GET url)',
      tags: ['agents'],
      params: z.object({ id: hash32Schema }),
      response: {
        200: taskSchema.extend({ specBlob: blobRefSchema, resultBlob: blobRefSchema.nullable() }),
        ...errorResponses(...BAD_PARAMS, 'not_found'),
      },
    },
    handler: async (request) => {
      const task = getTask(state(), request.params.id.toLowerCase() as Hex)
      if (!task)
        throw new SinewError({
          code: 'not_found',
          message: `task not found: ${request.params.id}`,
          details: { task: request.params.id },
          hint: 'A task id is the hash of its PostTask tx.',
        })
      // The result waiting for verdicts, or the accepted one (an accepted task keeps its
      // submission too, with the same hash).
      const resultHash = task.submission?.resultHash ?? task.result?.resultHash
      // Only where the bytes are, never the bytes: a spec or result may be megabytes.
      return { ...taskView(task, now()), specBlob: blobRef(blobs, task.specHash), resultBlob: resultHash ? blobRef(blobs, resultHash) : null }
    },
  })
}
