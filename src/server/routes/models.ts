/**
 * Models reads in Sinew's own shape: receipts of paid calls and earnings per account.
 * (The OpenAI-compatible routes are in ./openai.ts.) Spec: docs/gateway.md.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { hash32Schema, SinewError, type Hex } from '../../core/index.ts'
import { parseAddress, type LedgerNode } from '../../ledger/index.ts'
import { EarningsIndex, readApiKey, readModel, readModelNames, readModelVersion, readReceiptPointer, receiptView } from '../../models/index.ts'

export type ModelsRoutesOptions = { node: LedgerNode }

export const modelsRoutes: FastifyPluginAsyncZod<ModelsRoutesOptions> = async (app, { node }) => {
  const earnings = new EarningsIndex(node.store)

  app.get('/v1/receipts/:id', {
    schema: {
      summary: 'A receipt of a paid model call: spans with contribution ids, weights, fee split, method id',
      tags: ['models'],
      params: z.object({ id: hash32Schema }),
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
      const block = row ? await node.store.getBlock(row.height) : undefined
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
    },
    handler: async (request) => {
      const address = parseAddress(request.params.address, 'address')
      await earnings.update()
      return earnings.earnings(address)
    },
  })

  app.get('/v1/registry/models', {
    schema: { summary: 'Every registered model with its current terms, active or not', tags: ['models'] },
    handler: async () => ({ models: readModelNames(node.chain.state).map((n) => readModel(node.chain.state, n)) }),
  })

  app.get('/v1/apikeys/:keyHash', {
    schema: {
      summary: 'An API key by its keccak256 hash: owner, spend limit, spent, expiry, revoked',
      tags: ['models'],
      params: z.object({ keyHash: hash32Schema }),
    },
    handler: async (request) => {
      const key = readApiKey(node.chain.state, request.params.keyHash.toLowerCase() as Hex)
      if (!key)
        throw new SinewError({ code: 'not_found', message: `API key not found: ${request.params.keyHash}`, details: { api_key: request.params.keyHash } })
      return key
    },
  })
}
