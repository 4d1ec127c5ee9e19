/**
 * What the route plugins share to describe themselves in the OpenAPI document (/openapi.json):
 * their error answers, from the error catalogue, and bodies documented in one shape but
 * checked by the ledger's codec.
 */
import type { FastifySchemaCompiler } from 'fastify'
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js'
import { jsonSchemaTransformObject, validatorCompiler } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import { errorBodySchema, errorCatalogue, type ErrorCode } from '../core/index.ts'

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

/** What any route may answer: the Host/Origin check (access.ts) and a bug. */
const ANY_ROUTE = ['host_not_allowed', 'origin_not_allowed', 'internal'] as const satisfies readonly ErrorCode[]
/** A route with path parameters or a query string: their checks. */
export const BAD_PARAMS = ['invalid_field', 'missing_field', 'unknown_field'] as const satisfies readonly ErrorCode[]
/** A route with a JSON body: the body parser's refusals, before the route reads it. */
export const BAD_JSON = [
  'malformed_json',
  'json_too_deep',
  'forbidden_json_key',
  'body_too_large',
  'unsupported_content_type',
] as const satisfies readonly ErrorCode[]
/**
 * A route that submits txs: the envelope, signature and nonce checks, and every tx kind's
 * refusals, which are too many to list by route: every code of these statuses.
 */
export const TX_REFUSALS = [...BAD_JSON, 400, 404, 409, 422, 'read_only', 'shutting_down', 'commit_failed'] as const

const codesOfStatus = (status: number): ErrorCode[] => (Object.keys(errorCatalogue) as ErrorCode[]).filter((c) => errorCatalogue[c].status === status)

/**
 * Error responses by status, each listing the catalogue codes it can carry with their
 * meaning, and the schema of the body: `answers` are the codes a route answers (a number
 * stands for every code of that status), `status` the HTTP status a code is answered with.
 * What any route may answer is added.
 */
export function describeErrors<S extends z.ZodType>(answers: readonly (ErrorCode | number)[], o: { schema: S; status?: (code: ErrorCode) => number }) {
  const statusOf = o.status ?? ((c: ErrorCode) => errorCatalogue[c].status)
  const byStatus = new Map<number, Set<ErrorCode>>()
  for (const answer of [...answers, ...ANY_ROUTE]) {
    for (const code of typeof answer === 'number' ? codesOfStatus(answer) : [answer]) {
      const status = statusOf(code)
      byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code))
    }
  }
  const out: Record<number, { description: string; content: { 'application/json': { schema: S } } }> = {}
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const lines = [...codes].sort().map((c) => `- \`${c}\`: ${errorCatalogue[c].meaning}`)
    out[status] = { description: `An error; its code is one of:\n${lines.join('\n')}`, content: { 'application/json': { schema: o.schema } } }
  }
  return out
}

/** A route's Sinew error answers (`{ error: { code, message, details } }`), typed by status so `reply.code(416)` type-checks. */
export function errorResponses<const A extends readonly (ErrorCode | number)[]>(...answers: A): ErrorResponses<A[number]> {
  return describeErrors(answers, { schema: errorBodySchema }) as ErrorResponses<A[number]>
}

type ErrorResponse = { description: string; content: { 'application/json': { schema: typeof errorBodySchema } } }
/** The statuses a route's error answers have, read off the catalogue at compile time too. */
type StatusOf<A> = A extends ErrorCode ? (typeof errorCatalogue)[A]['status'] : A extends number ? A : never
type ErrorResponses<A> = { [S in StatusOf<A | (typeof ANY_ROUTE)[number]>]: ErrorResponse }

/**
 * The document's components: those of the schemas with a zod `meta({ id })`, less the ones
 * no operation uses (the transform makes an input and an output variant of each; a response
 * schema's input variant, say, is never referred to).
 */
export const openapiComponents: typeof jsonSchemaTransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as { paths?: unknown; components?: { schemas?: Record<string, unknown> } }
  const schemas = doc.components?.schemas
  if (!schemas) return doc as ReturnType<typeof jsonSchemaTransformObject>
  const used = new Set<string>()
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const v of value) visit(v)
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const id = k === '$ref' && typeof v === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(v)?.[1] : undefined
        if (id !== undefined && !used.has(id)) {
          used.add(id)
          visit(schemas[id])
        } else visit(v)
      }
    }
  }
  visit(doc.paths)
  const kept = Object.fromEntries(Object.entries(schemas).filter(([id]) => used.has(id)))
  return { ...doc, components: { ...doc.components, schemas: kept } } as ReturnType<typeof jsonSchemaTransformObject>
}
