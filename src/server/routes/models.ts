/**
 * Models reads in Sinew's own shape: receipts of paid calls and earnings per account.
 * (The OpenAI-compatible routes are in ./openai.ts.) Spec: docs/gateway.md.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { addressSchema, countSchema, hash32Schema, SinewError, uintStringSchema, type Hex } from '../../core/index.ts'
import { parseAddress, type LedgerNode } from '../../ledger/index.ts'
import { BAD_PARAMS, errorResponses } from '../openapi.ts'
import { EarningsIndex, readApiKey, readModel, readModelNames, readModelVersion, readReceiptPointer, receiptView, UsageIndex } from '../../models/index.ts'

export type ModelsRoutesOptions = { node: LedgerNode }

// ---------- the answers' shapes (the models module's records and views, src/models) ----------

const termsSchema = z.object({
  name: z.string(),
  owner: addressSchema,
  version: countSchema,
  backend: z.string().describe('builtin:infinigram, or openai-compatible:<base URL>[#upstream model]'),
  datanets: z.array(z.string()).describe('The Datanet versions it draws on (<datanet>@<version>)'),
  pricePerMillion: uintStringSchema.describe('SIN base units per million output tokens'),
  promptPricePerMillion: uintStringSchema.optional().describe('SIN base units per million prompt tokens (absent = 0)'),
  requestPrice: uintStringSchema.optional().describe('SIN base units per call (absent = 0)'),
  contributorShareBps: countSchema.describe("The contributors' share of the fee after the protocol fee, basis points, times coverage"),
  active: z.boolean(),
  description: z.string(),
})

/** A model's current terms and when it was registered and last changed (ms since the epoch). */
export const modelRecordSchema = termsSchema.extend({ createdAt: uintStringSchema, updatedAt: uintStringSchema }).meta({ id: 'ModelRecord' })

const receiptSchema = z
  .object({
    id: hash32Schema,
    tx: hash32Schema.describe('The RecordReceipt tx'),
    height: uintStringSchema,
    index: countSchema,
    timestamp: uintStringSchema,
    model: z.string(),
    modelVersion: countSchema,
    payer: addressSchema,
    apiKeyHash: hash32Schema,
    authorizedHeight: uintStringSchema.describe('The head height when the node authorised the call (the key is judged there)'),
    authorizedAt: uintStringSchema.describe("The node's time (ms) when it authorised the call (the key's expiry is judged then)"),
    requestHash: hash32Schema,
    outputHash: hash32Schema,
    promptTokens: countSchema,
    outputTokens: countSchema,
    finishReason: z.string(),
    method: z.string().describe('Tokenizer version, index version and parameters of the attribution'),
    coverageBps: countSchema.describe('Output tokens credited to the data, basis points'),
    spans: z
      .array(z.object({ start: countSchema, end: countSchema, tokens: countSchema, contribution: z.string() }))
      .describe('Output offsets traced to contributions'),
    weights: z.array(z.object({ contribution: z.string(), datanet: z.string(), author: addressSchema, bps: countSchema })),
    split: z.object({
      fee: uintStringSchema,
      treasury: addressSchema,
      protocolFee: uintStringSchema,
      contributorPool: uintStringSchema,
      owner: addressSchema,
      ownerAmount: uintStringSchema,
      contributors: z.array(z.object({ contribution: z.string(), author: addressSchema, amount: uintStringSchema })),
    }),
    terms: termsSchema.nullable().describe('The model terms the call was charged under'),
    protocolFeeBps: countSchema,
  })
  .meta({ id: 'InferenceReceipt' })

const amounts = z.record(z.string(), uintStringSchema)
const earningsSchema = z
  .object({
    address: addressSchema,
    total: uintStringSchema,
    receipts: countSchema,
    byRole: amounts.describe('contributor, owner, treasury'),
    byModel: amounts,
    byDatanet: amounts,
    byContribution: z.array(z.object({ contribution: z.string(), datanet: z.string(), amount: uintStringSchema })),
    overTime: z.array(z.object({ day: z.string().describe('YYYY-MM-DD (UTC)'), amount: uintStringSchema })),
    spent: uintStringSchema.describe('As a caller: fees paid'),
    calls: countSchema,
    paidBy: z
      .array(
        z.object({
          receipt: hash32Schema,
          model: z.string(),
          timestamp: uintStringSchema,
          amount: uintStringSchema.describe('What this receipt paid the account, in all its roles'),
          roles: z.array(z.string()),
        }),
      )
      .describe('The receipts that paid the account, newest first: one page (offset, limit) of `receipts`'),
  })
  .meta({ id: 'Earnings' })

const apiKeySchema = z
  .object({
    keyHash: hash32Schema,
    owner: addressSchema,
    label: z.string(),
    spendLimit: uintStringSchema.describe('Base units; "0" = no limit'),
    expiresAt: uintStringSchema.describe('ms since the epoch; "0" = never'),
    spent: uintStringSchema,
    calls: uintStringSchema,
    revoked: z.boolean(),
    revokedHeight: uintStringSchema.optional().describe('The block that revoked it: calls authorised before it are still charged'),
    grantedAt: uintStringSchema,
    controls: z
      .object({
        models: z.array(z.string()).describe('The models the key may call; empty = all'),
        requestsPerMinute: countSchema.optional(),
        tokensPerMinute: countSchema.optional(),
        concurrentCalls: countSchema.optional(),
        budgets: z.object({ day: uintStringSchema, week: uintStringSchema, month: uintStringSchema }).partial().describe('Base units per UTC day, week, month'),
      })
      .optional()
      .describe("The owner's per-key controls (UpdateApiKey); absent = none"),
    periods: z
      .record(z.string(), z.object({ start: uintStringSchema, spent: uintStringSchema }))
      .optional()
      .describe('Spend in the current period of each budget window (start: ms, UTC)'),
  })
  .meta({ id: 'ApiKey' })

export const modelsRoutes: FastifyPluginAsyncZod<ModelsRoutesOptions> = async (app, { node }) => {
  const earnings = new EarningsIndex(node.store)
  const keyIndex = UsageIndex.of(node.store)

  app.get('/v1/receipts/:id', {
    schema: {
      summary: 'A receipt of a paid model call: spans with contribution ids, weights, fee split, method id',
      tags: ['models'],
      params: z.object({ id: hash32Schema }),
      response: { 200: receiptSchema, ...errorResponses(...BAD_PARAMS, 'not_found') },
    },
    handler: async (request) => {
      const pointer = readReceiptPointer(node.chain.state, request.params.id)
      if (!pointer)
        throw new SinewError({
          code: 'not_found',
          message: `Receipt not found: ${request.params.id}`,
          details: { receipt: request.params.id },
          hint: 'A receipt exists once its call has finished and its block is committed.',
        })
      const row = await node.store.getTx(pointer.txHash)
      // Not past this process's head: a block being made durable is not served yet (routes/ledger.ts, `visible`).
      const block = row && row.height <= node.chain.head.height ? await node.store.getBlock(row.height) : undefined
      if (!row || !block)
        throw new SinewError({ code: 'not_found', message: `Receipt not found: ${request.params.id}`, details: { receipt: request.params.id } })
      const view = receiptView(row, block.timestamp)
      return {
        ...view,
        terms: readModelVersion(node.chain.state, view.model, view.modelVersion) ?? null,
        protocolFeeBps: node.chain.genesis.params.protocolFeeBps,
      }
    },
  })

  app.get('/v1/accounts/:address/earnings', {
    schema: {
      summary: 'What an account earned from paid calls: by role, model, Datanet, contribution and day; and what it spent',
      tags: ['models'],
      params: z.object({ address: z.string() }),
      querystring: z
        .object({
          offset: z.coerce.number().int().min(0).default(0).describe('Receipts (paidBy) to skip, newest first'),
          limit: z.coerce.number().int().min(1).max(200).default(20).describe('At most this many receipts in paidBy (1-200)'),
        })
        .strict(),
      response: { 200: earningsSchema, ...errorResponses(...BAD_PARAMS, 'invalid_address') },
    },
    handler: async (request) => {
      const address = parseAddress(request.params.address, 'address')
      await earnings.update()
      return earnings.earnings(address, request.query)
    },
  })

  app.get('/v1/registry/models', {
    schema: {
      summary: 'Every registered model with its current terms, active or not',
      tags: ['models'],
      response: { 200: z.object({ models: z.array(modelRecordSchema) }), ...errorResponses() },
    },
    // Every name in the index has its record (RegisterModel writes both).
    handler: async () => ({ models: readModelNames(node.chain.state).map((n) => readModel(node.chain.state, n)!) }),
  })

  app.get('/v1/apikeys', {
    schema: {
      summary: 'The API keys an account granted, with their records (controls, spend, revocation), in the order granted',
      tags: ['models'],
      querystring: z.object({ owner: addressSchema }),
      response: { 200: z.object({ keys: z.array(apiKeySchema) }), ...errorResponses(...BAD_PARAMS) },
    },
    handler: async (request) => {
      await keyIndex.update()
      return { keys: keyIndex.keys(request.query.owner).map((h) => readApiKey(node.chain.state, h as Hex)!) }
    },
  })

  app.get('/v1/apikeys/:keyHash', {
    schema: {
      summary: 'An API key by its keccak256 hash: owner, spend limit, spent, expiry, revoked',
      tags: ['models'],
      params: z.object({ keyHash: hash32Schema }),
      response: { 200: apiKeySchema, ...errorResponses(...BAD_PARAMS, 'not_found') },
    },
    handler: async (request) => {
      const key = readApiKey(node.chain.state, request.params.keyHash.toLowerCase() as Hex)
      if (!key)
        throw new SinewError({ code: 'not_found', message: `API key not found: ${request.params.keyHash}`, details: { api_key: request.params.keyHash } })
      return key
    },
  })
}
