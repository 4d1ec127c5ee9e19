/**
 * Blob routes: PUT /v1/blobs (raw body, any content type) stores bytes by sha256;
 * GET /v1/blobs/:sha256 serves them with an ETag and byte ranges, after checking the hash.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Readable } from 'node:stream'
import { z } from 'zod'
import { SinewError } from '../../core/index.ts'
import { parseSha256, type Datanets } from '../../datanets/index.ts'

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

export const blobsRoutes: FastifyPluginAsyncZod<BlobsRoutesOptions> = async (app, { datanets }) => {
  // Raw bodies in this plugin only: any content type is streamed to the store untouched.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

  app.put('/v1/blobs', {
    schema: {
      summary: 'Store raw bytes (the body, any content type); answers their sha256, which a Contribute signs as contentHash',
      tags: ['datanets'],
      querystring: z.object({ sha256: z.string().optional().describe('Optional: the expected sha256; other content is refused (hash_mismatch)') }).strict(),
    },
    handler: async (request, reply) => {
      const expected = request.query.sha256 !== undefined ? parseSha256(request.query.sha256, 'querystring.sha256') : undefined
      const source = (request.body as Readable | undefined) ?? request.raw
      const info = await datanets.blobs.put(source, { expected })
      reply.code(info.created ? 201 : 200)
      return { sha256: info.sha256, contentHash: `0x${info.sha256}`, size: info.size, created: info.created }
    },
  })

  app.get('/v1/blobs/:sha256', {
    schema: {
      summary: 'The bytes of a blob (hash checked), with ETag, If-None-Match and Range support',
      tags: ['datanets'],
      params: z.object({ sha256: z.string() }),
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
          return reply.code(e.status).header('content-range', `bytes */${bytes.length}`).type('application/json').send(e.toJSON())
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
