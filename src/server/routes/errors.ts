/**
 * GET /v1/errors: the error catalogue (src/core/error-codes.ts), so a client can list every
 * code this node answers with, its HTTP status and what it means.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { errorCatalogue, errorCatalogueList, type ErrorCode } from '../../core/index.ts'
import { errorResponses } from '../openapi.ts'

const codes = Object.keys(errorCatalogue) as [ErrorCode, ...ErrorCode[]]

const catalogueSchema = z.object({
  errors: z
    .array(
      z.object({
        code: z.enum(codes).describe('The `code` of an error body `{"error": {"code", "message", "details"}}`'),
        status: z.number().int().describe('The HTTP status an answer with this code has'),
        meaning: z.string().describe('What the code means, in one line'),
      }),
    )
    .describe('Every error code, sorted by code'),
})

export const errorsRoutes: FastifyPluginAsyncZod = async (app) => {
  const body = { errors: errorCatalogueList() }
  app.get('/v1/errors', {
    schema: {
      summary: 'The error catalogue: every error code with its HTTP status and meaning',
      tags: ['ledger'],
      response: { 200: catalogueSchema, ...errorResponses() },
    },
    handler: async () => body,
  })
}
