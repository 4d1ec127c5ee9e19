/**
 * Datanets routes: Datanets, contributions (with the pre-submit checks of a Contribute),
 * the review queue, contributor stats, versions with their index build, and search in a
 * version's index. Other writes are plain signed txs through POST /v1/tx.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Datanets, DatanetRecord } from '../../datanets/index.ts'
import { addressSchema, countSchema, errorObjectSchema, hash32Schema, txEnvelopeSchema, uintStringSchema } from '../../core/index.ts'
import { parseAddress, parseTxEnvelope } from '../../ledger/index.ts'
import { BAD_PARAMS, bodyCheckedBy, errorResponses, TX_REFUSALS } from '../openapi.ts'
import { ackSchema } from './ledger.ts'

export type DatanetsRoutesOptions = { datanets: Datanets }

// ---------- the answers' shapes (the Datanets module's records and views, src/datanets) ----------

const atBlock = z.object({ height: uintStringSchema, timestamp: uintStringSchema })
const buildStateSchema = z.enum(['queued', 'building', 'ready', 'failed'])

const datanetSchema = z
  .object({
    id: hash32Schema.describe('The hash of its CreateDatanet tx'),
    name: z.string(),
    description: z.string(),
    license: z.string(),
    owner: addressSchema,
    curators: z.array(addressSchema),
    rules: z.object({
      mediaTypes: z.array(z.string()).describe('Accepted media types'),
      maxSize: uintStringSchema.describe('Largest contribution, bytes'),
      stake: uintStringSchema.describe('SIN base units locked by each Contribute'),
    }),
    createdAt: atBlock,
    updatedAt: uintStringSchema.describe('Height of the last change'),
    counts: z.object({ contributions: countSchema, pending: countSchema, accepted: countSchema, rejected: countSchema }),
    contributors: countSchema,
    stakeLocked: uintStringSchema.describe('Stakes of pending contributions, held until their verdict'),
    stakeForfeited: uintStringSchema.describe('Stakes of rejected contributions paid to the owner so far'),
    versions: countSchema,
    excluded: countSchema.optional().describe('Accepted contributions the owner excluded from later versions (absent until the first)'),
    latestVersion: z
      .object({ version: countSchema, contributions: countSchema, root: hash32Schema, build: buildStateSchema })
      .nullable()
      .describe('The latest published version, or null before the first'),
  })
  .meta({ id: 'Datanet' })

const contributionSchema = z
  .object({
    id: hash32Schema.describe('The hash of its Contribute tx'),
    datanet: hash32Schema,
    seq: countSchema,
    author: addressSchema,
    contentHash: hash32Schema.describe('sha256 of the bytes'),
    title: z.string(),
    mediaType: z.string(),
    size: uintStringSchema,
    stake: uintStringSchema,
    status: z.enum(['pending', 'accepted', 'rejected']),
    submittedAt: atBlock,
    acceptedIndex: countSchema.nullable().describe('Position in the accepted list: the order of documents in every version index'),
    review: z
      .object({ by: addressSchema, verdict: z.enum(['accept', 'reject']), reason: z.string(), height: uintStringSchema, txHash: hash32Schema })
      .nullable(),
    excluded: z
      .object({ by: addressSchema, reason: z.string(), height: uintStringSchema, txHash: hash32Schema })
      .optional()
      .describe('Set by ExcludeContribution: left out of every version published after `height`'),
    blob: z
      .enum(['present', 'missing', 'size_mismatch', 'unparseable'])
      .describe("Whether this node has the contribution's bytes, and whether they are what was declared"),
    blobSize: countSchema.nullable().describe("The blob's size on this node (null when missing): compare with the declared size"),
    records: countSchema.nullable().describe('Records the bytes ingest into, when they are here and parse'),
    ingestError: errorObjectSchema.pick({ code: true, message: true }).optional(),
    nearDuplicate: z
      .object({
        flagged: z.boolean(),
        coverageBps: countSchema,
        tokens: countSchema,
        overlaps: z.array(z.object({ contribution: hash32Schema, author: z.string(), title: z.string(), tokens: countSchema })),
        against: z.object({ version: countSchema.nullable(), unpublished: countSchema }),
      })
      .optional()
      .describe('Pending contributions: how much of it accepted data already holds'),
  })
  .meta({ id: 'Contribution' })

const buildStatusSchema = z
  .object({
    state: buildStateSchema,
    phase: z.string().optional(),
    done: countSchema.optional(),
    total: countSchema.optional(),
    attempts: countSchema,
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).optional(),
    retryAt: z
      .string()
      .optional()
      .describe("A failure that is this node's own (ingest_timeout, ingest_failed, build_failed): when the build is tried again by itself"),
    index: z
      .object({
        documents: countSchema,
        tokens: countSchema,
        bytesOnDisk: countSchema,
        indexId: z.string(),
        tokenizerVersion: z.string(),
        ingestRules: z.string().optional().describe('The ingestion rules and the parser versions the texts were read with'),
        buildId: hash32Schema
          .optional()
          .describe('sha256 of the index id, the ingestion rules and the report (skip codes): equal on every node that built the same'),
      })
      .optional(),
    check: z
      .union([
        z.object({ state: z.literal('pending'), attempts: countSchema, lastError: z.string().optional() }),
        z.object({ state: z.literal('agrees'), leaderBuildId: z.string(), at: z.string() }),
      ])
      .optional()
      .describe("On a replica, once ready: whether the leader's build has the same build id"),
    waitingFor: z.array(hash32Schema).optional().describe('While waiting for blobs (phase `blobs`): the contributions whose blob this node lacks (at most 20)'),
    report: z
      .object({
        documents: countSchema.describe('Documents in the index'),
        excluded: z.array(hash32Schema).describe('Contributions the owner had excluded when the version was published'),
        skipped: z
          .array(z.object({ contribution: hash32Schema, code: z.string(), message: z.string() }))
          .describe('Contributions left out because of their bytes (size_mismatch, unparseable_content), in index order'),
      })
      .optional()
      .describe('Once ready: what the index holds, and what it left out and why (the same on every node)'),
  })
  .meta({ id: 'IndexBuild' })

const versionSchema = z
  .object({
    datanet: hash32Schema,
    version: countSchema,
    contributions: countSchema.describe('The first `contributions` entries of the accepted list, frozen'),
    excluded: z.array(hash32Schema).describe('Those of them the owner had excluded when it was published, in acceptance order'),
    documents: countSchema.describe('The contributions it holds: contributions less excluded'),
    root: hash32Schema.describe("Merkle root over listLeaf(i, contributionId) of the version's documents"),
    bytes: uintStringSchema,
    publisher: addressSchema,
    txHash: hash32Schema,
    height: uintStringSchema,
    timestamp: uintStringSchema,
    ref: z.string().describe('<datanet id>@<version>, as models name it'),
    build: buildStatusSchema,
  })
  .meta({ id: 'DatanetVersion' })

const contributionsSchema = z.object({ contributions: z.array(contributionSchema), total: countSchema })

const page = {
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many (1-1000)'),
  offset: z.coerce.number().int().min(0).default(0),
}
const datanetParam = z.object({ id: z.string().min(1).max(200).describe('Datanet id (0x…, the CreateDatanet tx hash) or name') })
const versionParams = datanetParam.extend({ n: z.coerce.number().int().min(1).describe('Version number (1, 2, …)') })

export const datanetsRoutes: FastifyPluginAsyncZod<DatanetsRoutesOptions> = async (app, { datanets }) => {
  const summary = (d: DatanetRecord) => {
    const latest = d.versions > 0 ? datanets.versionView(d, d.versions) : null
    return { ...d, latestVersion: latest && { version: latest.version, contributions: latest.contributions, root: latest.root, build: latest.build.state } }
  }

  app.get('/v1/datanets', {
    schema: {
      summary: 'Datanets, newest first; q= searches name, description and license',
      tags: ['datanets'],
      querystring: z.object({ q: z.string().max(200).optional(), owner: z.string().optional(), ...page }).strict(),
      response: { 200: z.object({ datanets: z.array(datanetSchema), total: countSchema }), ...errorResponses(...BAD_PARAMS, 'invalid_address') },
    },
    handler: async (request) => {
      const q = request.query
      const r = datanets.list({ ...q, owner: q.owner && parseAddress(q.owner, 'owner') })
      return { datanets: r.datanets.map(summary), total: r.total }
    },
  })

  app.get('/v1/datanets/:id', {
    schema: {
      summary: 'One Datanet: owner, curators, rules, counts, stakes, latest version',
      tags: ['datanets'],
      params: datanetParam,
      response: { 200: datanetSchema, ...errorResponses(...BAD_PARAMS, 'datanet_not_found') },
    },
    handler: async (request) => summary(datanets.resolve(request.params.id)),
  })

  app.get('/v1/datanets/:id/contributions', {
    schema: {
      summary: 'Contributions, newest first, by author and status; pending ones carry their near-duplicate check',
      tags: ['datanets'],
      params: datanetParam,
      querystring: z.object({ author: z.string().optional(), status: z.enum(['pending', 'accepted', 'rejected']).optional(), ...page }).strict(),
      response: { 200: contributionsSchema, ...errorResponses(...BAD_PARAMS, 'invalid_address', 'datanet_not_found') },
    },
    handler: async (request) => {
      const q = request.query
      return datanets.contributions(datanets.resolve(request.params.id), { ...q, author: q.author && parseAddress(q.author, 'author') })
    },
  })

  app.post('/v1/datanets/:id/contributions', {
    schema: {
      summary: 'Submit a signed Contribute after checking its blob (uploaded, size, parses as its media type); answers once committed',
      tags: ['datanets'],
      params: datanetParam,
      body: txEnvelopeSchema,
      response: {
        200: ackSchema.extend({
          contribution: hash32Schema.describe('The contribution id (the tx hash)'),
          records: countSchema.describe('Records the bytes ingested into'),
        }),
        ...errorResponses(...BAD_PARAMS, ...TX_REFUSALS),
      },
    },
    ...bodyCheckedBy(z.unknown()),
    handler: async (request) => {
      const ack = await datanets.submitContribution(request.params.id, parseTxEnvelope(request.body, 'tx'))
      return { hash: ack.hash, height: ack.height.toString(), index: ack.index, receipt: ack.receipt, contribution: ack.hash, records: ack.records }
    },
  })

  app.get('/v1/datanets/:id/queue', {
    schema: {
      summary: 'The review queue: pending contributions, oldest first, flagged when >= 90 % of their tokens are in accepted data',
      tags: ['datanets'],
      params: datanetParam,
      querystring: z.object({ limit: page.limit }).strict(),
      response: { 200: contributionsSchema, ...errorResponses(...BAD_PARAMS, 'datanet_not_found') },
    },
    handler: async (request) => datanets.queue(datanets.resolve(request.params.id), request.query.limit),
  })

  app.get('/v1/datanets/:id/contributors', {
    schema: {
      summary: 'Per-contributor stats: contributions by status, stakes locked, returned and forfeited, bytes accepted',
      tags: ['datanets'],
      params: datanetParam,
      response: {
        200: z.object({
          datanet: hash32Schema,
          contributors: z.array(
            z.object({
              author: addressSchema,
              contributions: countSchema,
              pending: countSchema,
              accepted: countSchema,
              rejected: countSchema,
              stakeLocked: uintStringSchema.describe('Locked now in pending contributions'),
              stakeReturned: uintStringSchema,
              stakeForfeited: uintStringSchema,
              bytesAccepted: uintStringSchema,
            }),
          ),
        }),
        ...errorResponses(...BAD_PARAMS, 'datanet_not_found'),
      },
    },
    handler: async (request) => {
      const d = datanets.resolve(request.params.id)
      return { datanet: d.id, contributors: datanets.contributors(d) }
    },
  })

  app.get('/v1/datanets/:id/versions', {
    schema: {
      summary: 'Published versions with their index build status, newest first',
      tags: ['datanets'],
      params: datanetParam,
      response: { 200: z.object({ datanet: hash32Schema, versions: z.array(versionSchema) }), ...errorResponses(...BAD_PARAMS, 'datanet_not_found') },
    },
    handler: async (request) => {
      const d = datanets.resolve(request.params.id)
      const versions = []
      for (let n = d.versions; n >= 1; n--) versions.push(datanets.versionView(d, n))
      return { datanet: d.id, versions }
    },
  })

  app.get('/v1/datanets/:id/versions/:n', {
    schema: {
      summary: 'One version: Merkle root, contributions, and its index build (queued, building with progress, ready, failed)',
      tags: ['datanets'],
      params: versionParams,
      response: { 200: versionSchema, ...errorResponses(...BAD_PARAMS, 'datanet_not_found', 'version_not_found') },
    },
    handler: async (request) => datanets.versionView(datanets.resolve(request.params.id), request.params.n),
  })

  app.post('/v1/datanets/:id/versions/:n/build', {
    schema: {
      summary: 'Retry the index build of a version whose build failed',
      tags: ['datanets'],
      params: versionParams,
      response: {
        200: z.object({ datanet: hash32Schema, version: countSchema, build: buildStatusSchema }),
        ...errorResponses(...BAD_PARAMS, 'datanet_not_found', 'version_not_found'),
      },
    },
    handler: async (request) => {
      const d = datanets.resolve(request.params.id)
      return { datanet: d.id, version: request.params.n, build: datanets.retryBuild(d, request.params.n) }
    },
  })

  app.get('/v1/datanets/:id/versions/:n/search', {
    schema: {
      summary: 'Find a phrase in a ready version: occurrences with snippets and the contributions holding them',
      tags: ['datanets'],
      params: versionParams,
      querystring: z.object({ q: z.string().min(1).max(2000), limit: z.coerce.number().int().min(1).max(1000).default(20) }).strict(),
      response: {
        200: z.object({
          datanet: hash32Schema,
          version: countSchema,
          query: z.string(),
          count: countSchema.describe('Occurrences in the version'),
          matches: z.array(
            z.object({
              contribution: z.string().describe('The contribution holding the occurrence'),
              author: addressSchema.nullable(),
              title: z.string().nullable(),
              position: countSchema.describe('Token offset in the version index'),
              snippet: z.string(),
            }),
          ),
        }),
        ...errorResponses(...BAD_PARAMS, 'datanet_not_found', 'version_not_found', 'index_not_ready', 'index_corrupt'),
      },
    },
    handler: async (request) => datanets.search(datanets.resolve(request.params.id), request.params.n, request.query.q, request.query.limit),
  })

  app.get('/v1/contributions/:id', {
    schema: {
      summary: 'One contribution: author, content hash, status, verdict, records, blob presence',
      tags: ['datanets'],
      params: z.object({ id: z.string() }),
      response: { 200: contributionSchema, ...errorResponses(...BAD_PARAMS, 'contribution_not_found') },
    },
    handler: async (request) => datanets.view(datanets.contribution(request.params.id), { nearDuplicate: true }),
  })
}
