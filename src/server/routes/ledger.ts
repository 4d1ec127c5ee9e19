/**
 * Ledger routes: submit txs, read blocks, txs, accounts, proofs, types, genesis, status.
 * Tx envelopes are documented here and checked by the ledger's codec (parseTxEnvelope), one
 * by one, so a bad one gets the same error on /v1/tx and in a /v1/txs batch.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { hash32Schema, SinewError, txEnvelopeSchema, uintStringSchema, type Hex } from '../../core/index.ts'
import { genesisToJson, headerToJson, parseAddress, type LedgerNode, type SignedHeader } from '../../ledger/index.ts'
import type { TxRow } from '../../store/index.ts'
import { bodyCheckedBy } from '../openapi.ts'

export type LedgerRoutesOptions = { node: LedgerNode; maxBatchTxs: number; status: () => Record<string, unknown> }

export function txToJson(row: TxRow): Record<string, unknown> {
  return {
    hash: row.hash,
    height: row.height.toString(),
    index: row.index,
    type: row.type,
    sender: row.sender,
    nonce: row.nonce.toString(),
    message: JSON.parse(row.message),
    signature: row.signature,
    receipt: JSON.parse(row.receipt),
  }
}

export const ledgerRoutes: FastifyPluginAsyncZod<LedgerRoutesOptions> = async (app, { node, maxBatchTxs, status }) => {
  const store = node.store
  const batchBody = (item: z.ZodType) => z.object({ txs: z.array(item).min(1).max(maxBatchTxs).describe(`Up to ${maxBatchTxs} tx envelopes`) }).strict()
  const blockJson = async (header: SignedHeader, txs: string | undefined) => {
    const out: Record<string, unknown> = headerToJson(header)
    if (txs === 'full') out.txs = (await store.getBlockTxs(header.height)).map(txToJson)
    else if (txs === 'hashes') out.txHashes = (await store.getBlockTxs(header.height)).map((t) => t.hash)
    return out
  }
  const txsQuery = z.object({ txs: z.enum(['none', 'hashes', 'full']).default('hashes').describe('Include tx hashes (default), full txs, or none') }).strict()

  app.post('/v1/tx', {
    schema: { summary: 'Submit one signed tx; answers once its block is durably committed', tags: ['ledger'], body: txEnvelopeSchema },
    ...bodyCheckedBy(z.unknown()),
    handler: async (request) => {
      const ack = await node.submit(request.body)
      return { hash: ack.hash, height: ack.height.toString(), index: ack.index, receipt: ack.receipt }
    },
  })

  app.post('/v1/txs', {
    schema: {
      summary: 'Submit a batch of signed txs; one result per item, in order',
      tags: ['ledger'],
      body: batchBody(txEnvelopeSchema),
    },
    ...bodyCheckedBy(batchBody(z.unknown())),
    handler: async (request) => {
      const outcomes = await node.submitBatch(request.body.txs)
      return {
        results: outcomes.map((o) =>
          o.ok ? { ok: true, hash: o.ack.hash, height: o.ack.height.toString(), index: o.ack.index } : { ok: false, ...o.error.toJSON() },
        ),
      }
    },
  })

  app.get('/v1/tx/:hash', {
    schema: { summary: 'A committed tx with its receipt', tags: ['ledger'], params: z.object({ hash: hash32Schema }) },
    handler: async (request) => {
      const row = await store.getTx(request.params.hash.toLowerCase() as Hex)
      if (!row) throw new SinewError({ code: 'not_found', message: `tx not found: ${request.params.hash}`, details: { tx: request.params.hash } })
      return txToJson(row)
    },
  })

  app.get('/v1/blocks/latest', {
    schema: { summary: 'The latest committed block', tags: ['ledger'], querystring: txsQuery },
    handler: async (request) => blockJson(node.chain.head, request.query.txs),
  })

  app.get('/v1/blocks/:height', {
    schema: { summary: 'A block by height', tags: ['ledger'], params: z.object({ height: uintStringSchema }), querystring: txsQuery },
    handler: async (request) => {
      const header = await store.getBlock(BigInt(request.params.height))
      if (!header) throw new SinewError({ code: 'not_found', message: `block not found: ${request.params.height}`, details: { block: request.params.height } })
      return blockJson(header, request.query.txs)
    },
  })

  app.get('/v1/blocks', {
    schema: {
      summary: 'Blocks from a height, in order (replicas use this with txs=full)',
      tags: ['ledger'],
      querystring: z
        .object({
          from: uintStringSchema.default('0'),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          txs: z.enum(['none', 'hashes', 'full']).default('hashes'),
        })
        .strict(),
    },
    handler: async (request) => {
      const headers = await store.listBlocks(BigInt(request.query.from), request.query.limit)
      return { blocks: await Promise.all(headers.map((h) => blockJson(h, request.query.txs))), head: node.chain.head.height.toString() }
    },
  })

  app.get('/v1/accounts/:address', {
    schema: { summary: 'Balance (base units, 18 decimals) and next nonce of an account', tags: ['ledger'], params: z.object({ address: z.string() }) },
    handler: async (request) => {
      const address = parseAddress(request.params.address, 'address')
      const account = node.account(address)
      return { address, balance: account.balance.toString(), nonce: account.nonce.toString(), height: node.chain.head.height.toString() }
    },
  })

  const prove = (given: string) => {
    const key = /^0x[0-9a-fA-F]{40}$/.test(given) ? `acct/${parseAddress(given)}` : given
    const header = node.chain.head
    return { ...node.chain.state.prove(key), header: headerToJson(header) }
  }
  app.get('/v1/proof/:key', {
    schema: {
      summary: 'A Merkle proof of one state key (an address, or a key such as acct/0x…, as is or URL-encoded) against the latest header',
      tags: ['ledger'],
      params: z.object({ key: z.string().min(1).max(512) }),
    },
    handler: async (request) => prove(request.params.key),
  })
  // The same for a key with slashes written as is (`/v1/proof/acct/0x…`); documented above.
  app.get('/v1/proof/*', {
    schema: { hide: true, params: z.object({ '*': z.string().min(1).max(512) }) },
    handler: async (request) => prove(request.params['*']),
  })

  app.get('/v1/types', {
    schema: { summary: 'The EIP-712 domain and the types of every tx kind', tags: ['ledger'] },
    handler: async () => node.chain.codec.describe(),
  })

  app.get('/v1/genesis', {
    schema: { summary: 'The genesis this chain started from', tags: ['ledger'] },
    handler: async () => ({ hash: node.chain.genesisHash, genesis: genesisToJson(node.chain.genesis) }),
  })

  app.get('/v1/status', {
    schema: { summary: 'Chain, head and role of this node', tags: ['ledger'] },
    handler: async () => {
      const head = node.chain.head
      const g = node.chain.genesis
      return {
        network: g.network,
        chainId: g.chainId.toString(),
        insecure: g.insecure === true,
        ...(g.insecure ? { warning: 'INSECURE dev network: its funded keys are public' } : {}),
        genesisHash: node.chain.genesisHash,
        sequencer: g.sequencer,
        role: node.readOnly ? 'replica' : 'sequencer',
        height: head.height.toString(),
        headHash: head.hash,
        stateRoot: head.stateRoot,
        stateKeys: node.chain.state.size,
        pendingTxs: node.sequencer?.pending ?? 0,
        ...status(),
      }
    },
  })
}
