/**
 * Blob routes: PUT /v1/blobs (raw body, any content type) stores bytes by sha256, for the
 * signed tx that will refer to them (header x-sinew-upload-tx: the upload permit, within
 * quotas; docs/datanets.md#uploads); GET /v1/blobs/:sha256 serves them to anyone with an
 * ETag and byte ranges, after checking the hash; GET /v1/blobs/policy says the rules.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Readable } from 'node:stream'
import { z } from 'zod'
import { addressSchema, formatUnits, hash32Schema, SinewError, uintStringSchema } from '../../core/index.ts'
import { BLOB_MIN_CHARGE_BYTES, parseSha256, SHA256_HEX, UPLOAD_NONCE_WINDOW, UPLOAD_PERMIT_HEADER, type Datanets } from '../../datanets/index.ts'
import { parseAddress } from '../../ledger/index.ts'
import { BAD_PARAMS, errorResponses } from '../openapi.ts'

export type BlobsRoutesOptions = { datanets: Datanets }

/** One `bytes=` range of a `size`-byte blob: [start, end] inclusive, or 'invalid' / 'unsatisfiable'. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'invalid' | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid'
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || start > end) return 'unsatisfiable'
  return { start, end }
}

const storedSchema = z
  .object({
    sha256: z.string().regex(SHA256_HEX).describe('The sha256 of the bytes, 64 hex digits (the blob URL: GET /v1/blobs/<sha256>)'),
    contentHash: hash32Schema.describe('The same as 0x hex: what a Contribute signs'),
    size: z.number().int().min(0),
    created: z.boolean().describe('False when this node had the bytes already'),
    account: addressSchema.describe("The permit's sender, whose quota the bytes count against"),
    chargedBytes: z
      .number()
      .int()
      .min(0)
      .describe(`What counted against the account's quota: the size, at least ${BLOB_MIN_CHARGE_BYTES}; 0 for a blob the ledger already refers to`),
  })
  .meta({ id: 'StoredBlob' })

/** Bytes answered as they are (OpenAPI: a binary string). */
const bytesSchema = z.custom<Uint8Array>().meta({ type: 'string', format: 'binary' })

export const blobsRoutes: FastifyPluginAsyncZod<BlobsRoutesOptions> = async (app, { datanets }) => {
  // Raw bodies in this plugin only: any content type is streamed to the store untouched.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

  app.put('/v1/blobs', {
    schema: {
      summary: `Store raw bytes (the body, any content type) for the signed tx that will refer to them (Contribute, PostTask, SubmitResult), sent as base64 JSON in the ${UPLOAD_PERMIT_HEADER} header; answers their sha256`,
      tags: ['datanets'],
      querystring: z.object({ sha256: z.string().optional().describe('Optional: the expected sha256; other content is refused (hash_mismatch)') }).strict(),
      headers: z.object({
        [UPLOAD_PERMIT_HEADER]: z
          .string()
          .max(64 * 1024)
          .optional()
          .describe('The signed tx naming the blob: base64 of its JSON envelope'),
      }),
      response: {
        200: storedSchema.describe('This node had the bytes already'),
        201: storedSchema.describe('Stored'),
        ...errorResponses(
          ...BAD_PARAMS,
          'upload_unauthorized',
          'invalid_upload_permit',
          'stale_upload_permit',
          'upload_balance_too_low',
          'permit_mismatch',
          'blob_quota_exceeded',
          'blob_too_large',
          'hash_mismatch',
          'empty_blob',
        ),
      },
    },
    handler: async (request, reply) => {
      const sha256 = request.query.sha256 !== undefined ? parseSha256(request.query.sha256, 'querystring.sha256') : undefined
      const source = (request.body as Readable | undefined) ?? request.raw
      const length = request.headers['content-length']
      const permit = request.headers[UPLOAD_PERMIT_HEADER]
      const info = await datanets.upload(source, {
        // Sent twice it is no permit at all.
        permit: typeof permit === 'string' ? permit : undefined,
        sha256,
        contentLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
      })
      reply.code(info.created ? 201 : 200)
      return {
        sha256: info.sha256,
        contentHash: `0x${info.sha256}`,
        size: info.size,
        created: info.created,
        account: info.account,
        chargedBytes: info.chargedBytes,
      }
    },
  })

  app.get('/v1/blobs/policy', {
    schema: {
      summary:
        "Who may upload blobs and how much: the blob size limit, the permit rule, the minimum balance, the quotas and what a held SIN backs (and an account's use of them), garbage collection",
      tags: ['datanets'],
      querystring: z.object({ account: z.string().optional().describe('An address: its quota use') }).strict(),
      response: {
        200: z
          .object({
            maxBlobBytes: z.number().int().min(0),
            permitHeader: z.string().describe('The header that carries the upload permit'),
            permitKinds: z.array(z.string()).describe('The tx kinds that can be a permit (those that name a blob)'),
            nonceWindow: z.number().int().min(0).describe("How far ahead of its sender's next nonce a permit may be"),
            minBalance: uintStringSchema.describe('SIN base units an uploader must hold (nothing is spent)'),
            minBalanceSin: z.string(),
            quota: z.object({
              accountBytes: z.number().int().min(0).describe('Bytes one account may upload per window (each blob counts at least minChargeBytes)'),
              accountBlobs: z.number().int().min(0).describe('Blobs one account may upload per window'),
              windowMs: z.number().int().min(0),
              minChargeBytes: z.number().int().min(0).describe('What a blob counts at least'),
              bytesPerSin: z.number().int().min(0).describe("Bytes of an account's blobs waiting for their tx that each SIN it holds backs"),
              nodeWaitingBytes: z.number().int().min(0).describe("Bytes of all accounts' waiting blobs this node keeps"),
            }),
            gc: z.object({ graceMs: z.number().int().min(0), intervalMs: z.number().int().min(0) }),
            usage: z
              .object({
                account: addressSchema,
                balance: uintStringSchema,
                usedBytes: z.number().int().min(0),
                usedBlobs: z.number().int().min(0),
                limitBytes: z.number().int().min(0),
                limitBlobs: z.number().int().min(0),
                windowMs: z.number().int().min(0),
                nextReleaseAt: z.number().int().nullable().describe('ms since the epoch when its oldest upload in the window leaves it'),
                waitingBytes: z.number().int().min(0).describe('Charged bytes of its blobs waiting for their tx'),
                waitingBlobs: z.number().int().min(0),
                backedBytes: z.number().int().min(0).describe('What its balance backs of waiting blobs'),
                minChargeBytes: z.number().int().min(0),
              })
              .optional()
              .describe('With account=: its use of its quota'),
          })
          .meta({ id: 'UploadPolicy' }),
        ...errorResponses(...BAD_PARAMS, 'invalid_address'),
      },
    },
    handler: async (request) => {
      const p = datanets.uploads.policy
      return {
        maxBlobBytes: datanets.blobs.maxBytes,
        permitHeader: UPLOAD_PERMIT_HEADER,
        permitKinds: datanets.uploadKinds(),
        nonceWindow: Number(UPLOAD_NONCE_WINDOW),
        minBalance: p.minBalance.toString(),
        minBalanceSin: formatUnits(p.minBalance),
        quota: {
          accountBytes: p.quotaBytes,
          accountBlobs: p.quotaBlobs,
          windowMs: p.quotaWindowMs,
          minChargeBytes: BLOB_MIN_CHARGE_BYTES,
          bytesPerSin: p.bytesPerSin,
          nodeWaitingBytes: p.nodeQuotaBytes,
        },
        gc: datanets.gcSettings(),
        ...(request.query.account ? { usage: datanets.uploads.usage(parseAddress(request.query.account, 'account')) } : {}),
      }
    },
  })

  app.get('/v1/blobs/:sha256', {
    schema: {
      summary: 'The bytes of a blob (hash checked), with ETag, If-None-Match and Range support',
      tags: ['datanets'],
      params: z.object({ sha256: z.string() }),
      response: {
        200: { description: 'The bytes', content: { 'application/octet-stream': { schema: bytesSchema } } },
        206: { description: 'The bytes of the Range asked for (Content-Range says which)', content: { 'application/octet-stream': { schema: bytesSchema } } },
        304: z.undefined().describe('Not modified: the If-None-Match ETag is this blob (no body)'),
        ...errorResponses(...BAD_PARAMS, 'not_found', 'range_not_satisfiable', 'integrity'),
      },
    },
    handler: async (request, reply) => {
      const sha = parseSha256(request.params.sha256, 'params.sha256')
      const etag = `"${sha}"`
      reply.header('etag', etag).header('accept-ranges', 'bytes').header('cache-control', 'public, max-age=31536000, immutable')
      if (request.headers['if-none-match'] === etag && datanets.blobs.has(sha)) return reply.code(304).send()
      const bytes = await datanets.blobs.read(sha)
      reply.type('application/octet-stream')
      const range = request.headers.range
      if (range) {
        const r = parseRange(range, bytes.length)
        if (r === 'invalid' || r === 'unsatisfiable') {
          const e = new SinewError({
            code: 'range_not_satisfiable',
            message: `Range ${range.slice(0, 60)} does not fit a ${bytes.length}-byte blob`,
            details: { field: 'headers.range', size: bytes.length },
          })
          // Answered here, not thrown: a 416 carries the blob's size in Content-Range.
          return reply.code(416).header('content-range', `bytes */${bytes.length}`).type('application/json').send(e.toJSON())
        }
        return reply
          .code(206)
          .header('content-range', `bytes ${r.start}-${r.end}/${bytes.length}`)
          .send(bytes.subarray(r.start, r.end + 1))
      }
      return reply.send(bytes)
    },
  })
}
