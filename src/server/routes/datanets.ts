/**
 * Datanets routes: Datanets, contributions (with the pre-submit checks of a Contribute),
 * the review queue, contributor stats, versions with their index build, and search in a
 * version's index. Other writes are plain signed txs through POST /v1/tx.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Datanets, DatanetRecord } from '../../datanets/index.ts'
import { txEnvelopeSchema } from '../../core/index.ts'
import { parseAddress, parseTxEnvelope } from '../../ledger/index.ts'
import { bodyCheckedBy } from '../openapi.ts'

export type DatanetsRoutesOptions = { datanets: Datanets }

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
    },
    handler: async (request) => {
      const q = request.query
      const r = datanets.list({ ...q, owner: q.owner && parseAddress(q.owner, 'owner') })
      return { datanets: r.datanets.map(summary), total: r.total }
    },
  })

  app.get('/v1/datanets/:id', {
    schema: { summary: 'One Datanet: owner, curators, rules, counts, stakes, latest version', tags: ['datanets'], params: datanetParam },
    handler: async (request) => summary(datanets.resolve(request.params.id)),
  })

  app.get('/v1/datanets/:id/contributions', {
    schema: {
      summary: 'Contributions, newest first, by author and status; pending ones carry their near-duplicate check',
      tags: ['datanets'],
      params: datanetParam,
      querystring: z.object({ author: z.string().optional(), status: z.enum(['pending', 'accepted', 'rejected']).optional(), ...page }).strict(),
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
    },
    handler: async (request) => datanets.queue(datanets.resolve(request.params.id), request.query.limit),
  })

  app.get('/v1/datanets/:id/contributors', {
    schema: {
      summary: 'Per-contributor stats: contributions by status, stakes locked, returned and forfeited, bytes accepted',
      tags: ['datanets'],
      params: datanetParam,
    },
    handler: async (request) => {
      const d = datanets.resolve(request.params.id)
      return { datanet: d.id, contributors: datanets.contributors(d) }
    },
  })

  app.get('/v1/datanets/:id/versions', {
    schema: { summary: 'Published versions with their index build status, newest first', tags: ['datanets'], params: datanetParam },
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
    },
    handler: async (request) => datanets.versionView(datanets.resolve(request.params.id), request.params.n),
  })

  app.post('/v1/datanets/:id/versions/:n/build', {
    schema: { summary: 'Retry the index build of a version whose build failed', tags: ['datanets'], params: versionParams },
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
    },
    handler: async (request) => datanets.search(datanets.resolve(request.params.id), request.params.n, request.query.q, request.query.limit),
  })

  app.get('/v1/contributions/:id', {
    schema: {
      summary: 'One contribution: author, content hash, status, verdict, records, blob presence',
      tags: ['datanets'],
      params: z.object({ id: z.string() }),
    },
    handler: async (request) => datanets.view(datanets.contribution(request.params.id), { nearDuplicate: true }),
  })
}
