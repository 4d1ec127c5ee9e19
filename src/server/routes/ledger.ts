/**
 * Ledger routes: submit txs, read blocks, txs, accounts, proofs, types, genesis, status.
 * Tx envelopes are documented here and checked by the ledger's codec (parseTxEnvelope), one
 * by one, so a bad one gets the same error on /v1/tx and in a /v1/txs batch.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  addressSchema,
  countSchema,
  errorObjectSchema,
  hash32Schema,
  hexSchema,
  SinewError,
  txEnvelopeSchema,
  uintStringSchema,
  type Hex,
} from '../../core/index.ts'
import {
  genesisToJson,
  headerJsonSchema,
  headerToJson,
  listDelegations,
  parseAddress,
  StateProver,
  storedDelegator,
  type LedgerNode,
  type SignedHeader,
  type StorageFaultStatus,
} from '../../ledger/index.ts'
import type { TxRow } from '../../store/index.ts'
import { BAD_JSON, BAD_PARAMS, bodyCheckedBy, errorResponses, TX_REFUSALS } from '../openapi.ts'
import { settlementStatusSchema } from './settlement.ts'

// ---------- the answers' shapes ----------

/** What an included tx did: `result` is what its kind's handler returned. */
const receiptSchema = z
  .object({
    txHash: hash32Schema,
    index: countSchema,
    type: z.string(),
    sender: addressSchema,
    nonce: uintStringSchema,
    delegator: addressSchema.optional().describe("A session key's tx: the account it acted for (sender is the session key that signed)"),
    result: z.record(z.string(), z.unknown()).describe("What the tx kind's handler returned (integers as decimal strings)"),
  })
  .meta({ id: 'TxReceipt' })

export const ackSchema = z
  .object({ hash: hash32Schema, height: uintStringSchema, index: countSchema, receipt: receiptSchema })
  .meta({ id: 'TxAck', description: 'A tx in a durably committed block: it can never be lost' })

const txSchema = z
  .object({
    hash: hash32Schema,
    height: uintStringSchema,
    index: countSchema,
    type: z.string(),
    sender: addressSchema,
    nonce: uintStringSchema,
    message: z.record(z.string(), z.unknown()).describe('The signed message in its canonical wire form'),
    signature: hexSchema,
    delegator: addressSchema.optional().describe("A session key's tx: the account it acted for (the signature covers it: ActFor in GET /v1/types)"),
    receipt: receiptSchema,
  })
  .meta({ id: 'Tx' })

const delegationSchema = z
  .object({
    delegator: addressSchema,
    delegate: addressSchema.describe('The session key'),
    kinds: z.array(z.string()).describe('The tx kinds it may sign for the delegator'),
    spendCap: uintStringSchema.describe('Most it may spend of the delegator’s balance in total (base units)'),
    dailyCap: uintStringSchema.describe('Most per UTC day of block time; 0: no daily cap'),
    expiry: uintStringSchema.describe('Block time (ms since the epoch) from which its txs are refused'),
    spent: uintStringSchema,
    day: uintStringSchema.describe('The UTC day (block time / 86 400 000) spentToday counts'),
    spentToday: uintStringSchema,
    grantedAt: uintStringSchema.describe('Block height of the Delegate'),
    revokedAt: uintStringSchema.nullable().describe('Block height of the RevokeDelegate, or null'),
  })
  .meta({ id: 'Delegation' })

const blockSchema = headerJsonSchema
  .extend({
    txHashes: z.array(hash32Schema).optional().describe('With txs=hashes (the default)'),
    txs: z.array(txSchema).optional().describe('With txs=full'),
  })
  .meta({ id: 'Block' })

const stateProofSchema = z.object({
  key: hash32Schema.describe('The keyHash the proof is about'),
  value: hash32Schema.nullable().describe('Its valueHash, or null (non-inclusion)'),
  siblings: z.array(hash32Schema).describe('Sibling hashes from the root down (docs/state-proofs.md)'),
  otherLeaf: z.object({ key: hash32Schema, valueHash: hash32Schema }).optional(),
})

const typedFieldsSchema = z.array(z.object({ name: z.string(), type: z.string() })).readonly()

const genesisSchema = z.object({
  format: z.string(),
  network: z.string(),
  chainId: uintStringSchema,
  timestamp: uintStringSchema,
  sequencer: addressSchema,
  params: z.object({ protocolFeeBps: countSchema, treasury: addressSchema }),
  alloc: z.array(z.object({ address: addressSchema, balance: uintStringSchema, label: z.string().optional() })),
  insecure: z.boolean().optional(),
  note: z.string().optional(),
})

/** A replica's progress (GET /v1/status `replica`): the leader it follows and the blobs it fetches. */
const replicaStatusSchema = z.object({
  following: z.string(),
  height: uintStringSchema,
  leaderHead: uintStringSchema.nullable(),
  halted: z.object({ height: uintStringSchema, field: z.string(), expected: z.string(), actual: z.string() }).nullable(),
  lastError: z.string().nullable(),
  blobs: z
    .object({
      source: z.string(),
      pending: countSchema,
      fetching: countSchema,
      failed: countSchema,
      fetched: countSchema,
      refused: countSchema,
      failures: z.array(
        z.object({
          sha256: z.string(),
          attempts: countSchema,
          error: z.object({ code: z.string(), message: z.string() }),
          at: z.string(),
          retryAt: z.string(),
        }),
      ),
    })
    .optional(),
})

/** What the node adds to GET /v1/status besides the chain: a replica's progress. */
export type StatusExtras = { replica?: z.input<typeof replicaStatusSchema>; settlement?: z.input<typeof settlementStatusSchema> }

export type LedgerRoutesOptions = { node: LedgerNode; maxBatchTxs: number; status: () => StatusExtras }

export function txToJson(row: TxRow): z.input<typeof txSchema> {
  const delegator = storedDelegator(row.receipt)
  return {
    hash: row.hash,
    height: row.height.toString(),
    index: row.index,
    type: row.type,
    sender: row.sender,
    nonce: row.nonce.toString(),
    message: JSON.parse(row.message),
    signature: row.signature,
    ...(delegator ? { delegator } : {}),
    receipt: JSON.parse(row.receipt),
  }
}

export const ledgerRoutes: FastifyPluginAsyncZod<LedgerRoutesOptions> = async (app, { node, maxBatchTxs, status }) => {
  const store = node.store
  const batchBody = (item: z.ZodType) => z.object({ txs: z.array(item).min(1).max(maxBatchTxs).describe(`Up to ${maxBatchTxs} tx envelopes`) }).strict()
  const blockJson = async (header: SignedHeader, txs: string | undefined) => {
    const out: z.input<typeof blockSchema> = headerToJson(header)
    if (txs === 'full') out.txs = (await store.getBlockTxs(header.height)).map(txToJson)
    else if (txs === 'hashes') out.txHashes = (await store.getBlockTxs(header.height)).map((t) => t.hash)
    return out
  }
  // History is read from the store, which may already hold the block being made durable (a
  // SQLite commit is visible to readers before its WAL sync returns: src/store/sqlite.ts).
  // This process's chain head moves only once a block is durable (a serving worker's, once
  // its writer says so), so nothing past it is served: no client, replica or worker sees a
  // block a power cut could still take back.
  const visible = (height: bigint) => height <= node.chain.head.height
  const txsQuery = z.object({ txs: z.enum(['none', 'hashes', 'full']).default('hashes').describe('Include tx hashes (default), full txs, or none') }).strict()

  app.post('/v1/tx', {
    schema: {
      summary: 'Submit one signed tx; answers once its block is durably committed',
      tags: ['ledger'],
      body: txEnvelopeSchema,
      response: { 200: ackSchema, ...errorResponses(...TX_REFUSALS) },
    },
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
      response: {
        200: z.object({
          results: z
            .array(
              z.union([
                z.object({ ok: z.literal(true), hash: hash32Schema, height: uintStringSchema, index: countSchema }),
                z.object({ ok: z.literal(false), error: errorObjectSchema }),
              ]),
            )
            .describe('One per tx, in order: its place in a committed block, or why it was refused (an error body)'),
        }),
        ...errorResponses(...BAD_JSON, ...BAD_PARAMS, 'read_only', 'shutting_down', 'commit_failed'),
      },
    },
    ...bodyCheckedBy(batchBody(z.unknown())),
    handler: async (request) => {
      const outcomes = await node.submitBatch(request.body.txs)
      return {
        results: outcomes.map((o) =>
          o.ok ? { ok: true as const, hash: o.ack.hash, height: o.ack.height.toString(), index: o.ack.index } : { ok: false as const, ...o.error.toJSON() },
        ),
      }
    },
  })

  app.get('/v1/tx/:hash', {
    schema: {
      summary: 'A committed tx with its receipt',
      tags: ['ledger'],
      params: z.object({ hash: hash32Schema }),
      response: { 200: txSchema, ...errorResponses(...BAD_PARAMS, 'not_found') },
    },
    handler: async (request) => {
      const row = await store.getTx(request.params.hash.toLowerCase() as Hex)
      if (!row || !visible(row.height))
        throw new SinewError({ code: 'not_found', message: `tx not found: ${request.params.hash}`, details: { tx: request.params.hash } })
      return txToJson(row)
    },
  })

  app.get('/v1/blocks/latest', {
    schema: {
      summary: 'The latest committed block',
      tags: ['ledger'],
      querystring: txsQuery,
      response: { 200: blockSchema, ...errorResponses(...BAD_PARAMS) },
    },
    handler: async (request) => blockJson(node.chain.head, request.query.txs),
  })

  app.get('/v1/blocks/:height', {
    schema: {
      summary: 'A block by height',
      tags: ['ledger'],
      params: z.object({ height: uintStringSchema }),
      querystring: txsQuery,
      response: { 200: blockSchema, ...errorResponses(...BAD_PARAMS, 'not_found') },
    },
    handler: async (request) => {
      const height = BigInt(request.params.height)
      const header = visible(height) ? await store.getBlock(height) : undefined
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
      response: {
        200: z.object({ blocks: z.array(blockSchema), head: uintStringSchema.describe('The height of the latest block') }),
        ...errorResponses(...BAD_PARAMS),
      },
    },
    handler: async (request) => {
      const headers = (await store.listBlocks(BigInt(request.query.from), request.query.limit)).filter((h) => visible(h.height))
      return { blocks: await Promise.all(headers.map((h) => blockJson(h, request.query.txs))), head: node.chain.head.height.toString() }
    },
  })

  app.get('/v1/accounts/:address', {
    schema: {
      summary: 'Balance (base units, 18 decimals) and next nonce of an account',
      tags: ['ledger'],
      params: z.object({ address: z.string() }),
      response: {
        200: z
          .object({
            address: addressSchema,
            balance: uintStringSchema.describe('SIN base units (18 decimals)'),
            nonce: uintStringSchema.describe('The nonce its next tx must carry'),
            height: uintStringSchema.describe('The block height this is read at'),
          })
          .meta({ id: 'Account' }),
        ...errorResponses('invalid_address'),
      },
    },
    handler: async (request) => {
      const address = parseAddress(request.params.address, 'address')
      const account = node.account(address)
      return { address, balance: account.balance.toString(), nonce: account.nonce.toString(), height: node.chain.head.height.toString() }
    },
  })

  app.get('/v1/accounts/:address/txs', {
    schema: {
      summary: "An account's history: the txs it signed, newest first, paged by cursor (pass a page's next as before)",
      tags: ['ledger'],
      params: z.object({ address: z.string() }),
      querystring: z
        .object({
          before: z
            .string()
            .regex(/^\d{1,19}:\d{1,7}$/, 'a cursor <height>:<index>')
            .optional()
            .describe('Only txs before this position (<height>:<index>): the next of the previous page'),
          limit: z.coerce.number().int().min(1).max(100).default(20).describe('At most this many (1-100)'),
        })
        .strict(),
      response: {
        200: z
          .object({
            address: addressSchema,
            txs: z.array(txSchema),
            total: countSchema.describe('How many txs the account has signed in all'),
            next: z.string().nullable().describe('The cursor of the next (older) page, or null at the first tx'),
            height: uintStringSchema.describe('The block height this is read at'),
          })
          .meta({ id: 'AccountTxs' }),
        ...errorResponses(...BAD_PARAMS, 'invalid_address'),
      },
    },
    handler: async (request) => {
      const address = parseAddress(request.params.address, 'address')
      const { before, limit } = request.query
      const [h, i] = before?.split(':') ?? []
      const height = node.chain.head.height
      // One more than asked says whether an older page exists.
      const [rows, total] = await Promise.all([
        // Newest first from the head's last tx (nothing past the head: see `visible`).
        store.listSenderTxs(address, before ? { height: BigInt(h), index: Number(i) } : { height: height + 1n, index: 0 }, limit + 1),
        store.countSenderTxs(address),
      ])
      const page = rows.filter((r) => visible(r.height)).slice(0, limit)
      const last = page.at(-1)
      return {
        address,
        txs: page.map(txToJson),
        total,
        next: rows.length > limit && last ? `${last.height}:${last.index}` : null,
        height: height.toString(),
      }
    },
  })

  app.get('/v1/accounts/:address/delegations', {
    schema: {
      summary: 'Session-key grants an account made (granted) and received (received), with what each has spent',
      tags: ['ledger'],
      params: z.object({ address: z.string() }),
      response: {
        200: z
          .object({
            address: addressSchema,
            granted: z.array(delegationSchema),
            received: z.array(delegationSchema),
            height: uintStringSchema.describe('The block height this is read at'),
            timestamp: uintStringSchema.describe("That block's timestamp (ms), against which expiry counts"),
          })
          .meta({ id: 'Delegations' }),
        ...errorResponses('invalid_address'),
      },
    },
    handler: async (request) => {
      const address = parseAddress(request.params.address, 'address')
      const head = node.chain.head
      return { address, ...listDelegations(node.chain.state, address), height: head.height.toString(), timestamp: head.timestamp.toString() }
    },
  })

  // Proofs at the head, or at any height the state history covers (a claim proves against a checkpoint).
  const prover = new StateProver(node.chain)
  const proofQuery = z
    .object({
      height: uintStringSchema
        .optional()
        .describe('The block whose stateRoot to prove against (default: the head); any height from meta state_history_from to the head'),
    })
    .strict()
  const prove = async (given: string, height: string | undefined) => {
    const key = /^0x[0-9a-fA-F]{40}$/.test(given) ? `acct/${parseAddress(given)}` : given
    const proof = await prover.prove(key, height === undefined ? undefined : BigInt(height))
    return { ...proof, header: headerToJson(proof.header) }
  }
  app.get('/v1/proof/:key', {
    schema: {
      summary:
        'A Merkle proof of one state key (an address, or a key such as acct/0x…, as is or URL-encoded) against the header at ?height= (default: the latest)',
      description:
        'acct/ keys are canonical with a lower-case address: a mixed-case address is checked (EIP-55) and answered for its lower-case key, so it never gets an absence proof.',
      tags: ['ledger'],
      params: z.object({ key: z.string().min(1).max(512) }),
      querystring: proofQuery,
      response: {
        200: z
          .object({
            key: z.string().describe('The state key (canonical form)'),
            value: hexSchema.nullable().describe('Its value bytes, or null when absent'),
            proof: stateProofSchema,
            header: headerJsonSchema.describe('The header whose stateRoot the proof leads to'),
          })
          .meta({ id: 'StateProof' }),
        ...errorResponses(...BAD_PARAMS, 'invalid_address', 'proof_height_unavailable', 'not_found'),
      },
    },
    handler: async (request) => prove(request.params.key, request.query.height),
  })
  // The same for a key with slashes written as is (`/v1/proof/acct/0x…`); documented above.
  app.get('/v1/proof/*', {
    schema: { hide: true, params: z.object({ '*': z.string().min(1).max(512) }), querystring: proofQuery },
    handler: async (request) => prove(request.params['*'], request.query.height),
  })

  app.get('/v1/types', {
    schema: {
      summary: 'The EIP-712 domain and the types of every tx kind',
      tags: ['ledger'],
      response: {
        200: z
          .object({
            domain: z.object({ name: z.string(), version: z.string(), chainId: uintStringSchema }),
            kinds: z.record(
              z.string(),
              z.object({
                description: z.string(),
                primaryType: z.string(),
                types: z.record(z.string(), typedFieldsSchema).describe('EIP-712 types: the primary type (with nonce) and its structs'),
              }),
            ),
            actFor: z
              .object({ description: z.string(), primaryType: z.string(), fields: typedFieldsSchema })
              .describe("How a session key signs a kind's tx for its delegator (docs/agents.md, session keys)"),
          })
          .meta({ id: 'TxTypes' }),
        ...errorResponses(),
      },
    },
    handler: async () => node.chain.codec.describe(),
  })

  app.get('/v1/genesis', {
    schema: {
      summary: 'The genesis this chain started from',
      tags: ['ledger'],
      response: { 200: z.object({ hash: hash32Schema, genesis: genesisSchema }), ...errorResponses() },
    },
    // genesisToJson is the genesis in canonical JSON (bigints as decimal strings), which genesisSchema describes.
    handler: async () => ({ hash: node.chain.genesisHash, genesis: genesisToJson(node.chain.genesis) as z.input<typeof genesisSchema> }),
  })

  app.get('/v1/status', {
    schema: {
      summary: 'Chain, head and role of this node',
      tags: ['ledger'],
      response: {
        200: z
          .object({
            network: z.string(),
            chainId: uintStringSchema,
            insecure: z.boolean(),
            warning: z.string().optional().describe('On a dev network, whose funded keys are public'),
            genesisHash: hash32Schema,
            sequencer: addressSchema,
            role: z.enum(['sequencer', 'replica', 'standby']).describe('standby: a node of a sequencer lease that forwards writes to the sequencer'),
            height: uintStringSchema,
            headHash: hash32Schema,
            stateRoot: hash32Schema,
            stateKeys: countSchema,
            pendingTxs: countSchema.describe('Txs waiting for a block'),
            replica: replicaStatusSchema.optional().describe('On a replica: the leader it follows and how far it got'),
            failover: failoverStatusSchema.optional().describe('On a node of a sequencer lease (PostgreSQL store shared by several nodes; docs/scaling.md)'),
            storage: storageStatusSchema.optional().describe('On a sequencer: whether its store takes blocks now (docs/reliability.md)'),
            settlement: settlementStatusSchema.optional().describe('With an EVM settlement contract: deposits, checkpoints and the backing invariant'),
          })
          .meta({ id: 'NodeStatus' }),
        ...errorResponses(),
      },
    },
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
        role: !node.readOnly ? ('sequencer' as const) : node.canSequence ? ('standby' as const) : ('replica' as const),
        height: head.height.toString(),
        headHash: head.hash,
        stateRoot: head.stateRoot,
        stateKeys: node.chain.state.size,
        pendingTxs: node.sequencer?.pending ?? 0,
        // Whether the store takes blocks now; `fault` says why not (a full or unwritable disk).
        ...(node.sequencer ? { storage: storageStatus(node.sequencer.storageFault) } : {}),
        ...status(),
      }
    },
  })
}

/** GET /v1/status `failover`: this node's part in the sequencer lease. */
const failoverStatusSchema = z.object({
  role: z.enum(['sequencer', 'standby']),
  name: z.string().describe("This node's name in the lease (host, pid, random suffix)"),
  lease: z
    .object({
      term: uintStringSchema.describe('Raised by each takeover; every block commit checks it (fencing)'),
      holder: z.string().nullable(),
      url: z.string().nullable().describe('Where standbys forward writes'),
      since: z.string().nullable().describe('ISO time the holder took it (database clock)'),
    })
    .nullable(),
  takeover: z.object({ height: uintStringSchema.describe('The head it took over at'), at: z.string() }).nullable(),
  takeovers: countSchema,
  lastError: z.string().nullable(),
})

const storageStatus = (fault: StorageFaultStatus | undefined) => (fault ? { writable: false, fault } : { writable: true })

/** GET /v1/status `storage`: a full or unwritable disk refuses writes (storage_full, storage_unwritable) while reads go on. */
const storageStatusSchema = z
  .object({
    writable: z.boolean(),
    fault: z
      .object({
        code: z.string().describe('storage_full or storage_unwritable'),
        message: z.string(),
        since: z.string().describe('ISO time the store first refused a write'),
        refusedTxs: countSchema.describe('Txs refused since then'),
      })
      .optional()
      .describe('Why writes are refused; gone once the store takes writes again'),
  })
  .meta({ id: 'StorageStatus' })
