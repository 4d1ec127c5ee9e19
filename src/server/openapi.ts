/**
 * What the route plugins share to describe themselves in the OpenAPI document (/openapi.json).
 */
import type { FastifySchemaCompiler } from 'fastify'
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js'
import { validatorCompiler } from 'fastify-type-provider-zod'
import type { z } from 'zod'

/**
 * Route options that validate the body with `check` while the route's `schema.body`
 * documents it. For bodies whose items the ledger's codec checks one by one (tx envelopes):
 * the document shows their shape, and each bad one gets the codec's error, the same on
 * every route (src/ledger/tx.ts parseTxEnvelope).
 */
export function bodyCheckedBy(check: z.ZodType): { validatorCompiler: FastifySchemaCompiler<unknown> } {
  return {
    validatorCompiler: (route) => validatorCompiler(route.httpPart === 'body' ? { ...route, schema: check } : (route as FastifyRouteSchemaDef<z.ZodType>)),
  }
}
