/**
 * One error shape for every HTTP answer: `{ error: { code, message, details } }`, with a
 * 4xx status for the caller's faults and 5xx for ours.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { isSinewError } from '../core/index.ts'

type ErrorBody = { error: { code: string; message: string; details: Record<string, unknown> } }

const body = (code: string, message: string, details: Record<string, unknown> = {}): ErrorBody => ({ error: { code, message, details } })

export function installErrorHandling(app: FastifyInstance, limits: { bodyLimitBytes: number }): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isSinewError(err)) return reply.code(err.status).send(err.toJSON())
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0]
      const where = err.validationContext ?? 'body'
      const path = first?.instancePath ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') : ''
      const keys = (first?.params as { keys?: string[] } | undefined)?.keys
      const field = [where, path, keys?.[0]].filter(Boolean).join('.')
      const code =
        first?.keyword === 'unrecognized_keys'
          ? 'unknown_field'
          : first?.keyword === 'invalid_type' && /undefined/.test(first.message ?? '')
            ? 'missing_field'
            : 'invalid_field'
      return reply.code(400).send(
        body(code, `${field}: ${first?.message ?? 'invalid'}`, {
          field,
          issues: err.validation.map((v) => ({ path: v.instancePath, message: v.message })),
        }),
      )
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send(
          body('body_too_large', `The request body is over the ${limits.bodyLimitBytes}-byte limit`, {
            limitBytes: limits.bodyLimitBytes,
            hint: 'Split the batch into smaller requests.',
          }),
        )
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply
          .code(415)
          .send(body('unsupported_media_type', 'Send JSON with Content-Type: application/json', { contentType: request.headers['content-type'] ?? null }))
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.code(400).send(body('malformed_json', 'The JSON body is empty'))
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return reply.code(400).send(body('malformed_json', `The body is not valid JSON: ${err.message}`))
    }
    if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
      return reply.code(400).send(body('malformed_json', `The body is not valid JSON: ${err.message}`))
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(body(err.code ? err.code.toLowerCase() : 'bad_request', err.message))
    }
    request.log.error({ err }, 'unhandled error')
    return reply.code(500).send(body('internal', 'Internal error', { requestId: request.id }))
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(body('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`, { hint: 'GET /openapi.json lists every route.' }))
  })
}
