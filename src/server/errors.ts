/**
 * One error shape for every HTTP answer: `{ error: { code, message, details } }`, with a
 * 4xx status for the caller's faults and 5xx for ours; every code is in the catalogue
 * (src/core/error-codes.ts), which GET /v1/errors serves.
 */
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { dirname } from 'node:path'
import { fieldIssueError, isSinewError, SinewError } from '../core/index.ts'
import { storageFault } from '../store/index.ts'

/**
 * The SinewError for what a route or the framework threw: a SinewError as it is; fastify's
 * own refusals (bad JSON, a body over the limit, a Content-Type no parser reads, a bad URL)
 * by their catalogue code; anything else is `internal` (a bug: the caller logs it).
 */
export function httpError(err: unknown, request: FastifyRequest): SinewError {
  if (isSinewError(err)) return err
  const e = err as FastifyError
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limitBytes = request.routeOptions.bodyLimit
      return new SinewError({
        code: 'body_too_large',
        message: `The request body is over the ${limitBytes}-byte limit`,
        details: { limitBytes },
        hint: "Send a smaller body (split a batch into several requests); the limit is the node's bodyLimitBytes setting.",
      })
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SinewError({
        code: 'unsupported_content_type',
        message: 'Send JSON with Content-Type: application/json',
        details: { contentType: request.headers['content-type'] ?? null },
      })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SinewError({ code: 'malformed_json', message: 'The JSON body is empty' })
  }
  if (e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError || (e?.statusCode === 400 && /JSON/i.test(e.message))) {
    return new SinewError({ code: 'malformed_json', message: `The body is not valid JSON: ${e.message}` })
  }
  // A full or unwritable disk met by some write of the node (a blob, a log): said as such.
  const path = (err as { path?: unknown })?.path
  const fault = typeof path === 'string' ? storageFault(err, dirname(path), 'the write was refused') : undefined
  if (fault) return fault
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new SinewError({ code: 'bad_request', message: e.message, details: e.code ? { reason: e.code } : {} })
  }
  return new SinewError({ code: 'internal', message: 'Internal error', details: { requestId: request.id }, cause: err })
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0]
      const path = first.instancePath.split('/').filter(Boolean)
      const keys = (first.params as { keys?: string[] } | undefined)?.keys
      const e = fieldIssueError({ code: first.keyword, path, message: first.message ?? 'invalid', keys }, err.validationContext ?? 'body', {
        issues: err.validation.map((v) => ({ path: v.instancePath, message: v.message })),
      })
      return reply.code(e.status).send(e.toJSON())
    }
    const e = httpError(err, request)
    if (e !== err && e.code === 'internal') request.log.error({ err }, 'unhandled error')
    // A fault that ends by itself (a store gone away) says when to try again.
    if (typeof e.details.retryAfterS === 'number') reply.header('retry-after', String(e.details.retryAfterS))
    return reply.code(e.status).send(e.toJSON())
  })

  app.setNotFoundHandler((request, reply) => {
    const e = new SinewError({
      code: 'route_not_found',
      message: `No route ${request.method} ${request.url.split('?')[0]}`,
      hint: 'GET /openapi.json lists every route.',
    })
    reply.code(e.status).send(e.toJSON())
  })
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs (a URL
 * that does not decode, a path parameter over `maxParamLength`) as typed errors, where
 * fastify would answer its own `{error, code, statusCode}` shape.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const e = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? pathParamTooLong(request) : httpError(err, request)
  reply.code(e.status).send(e.toJSON())
}

/** The longest path parameter a route takes (fastify's `maxParamLength`). */
export const maxParamLength = (request: FastifyRequest): number => request.server.initialConfig.maxParamLength ?? 100

/**
 * A path parameter over `maxParamLength`: the router refuses it (frameworkErrors), and so does
 * a catch-all route that would otherwise take the URL (the web app's, src/server/web.ts).
 */
export function pathParamTooLong(request: FastifyRequest): SinewError {
  return new SinewError({
    code: 'path_param_too_long',
    message: `A path parameter is over ${maxParamLength(request)} characters`,
    details: { path: request.url.split('?')[0].slice(0, 200) },
    hint: 'No id, address, hash or name this node serves is that long: check the URL.',
  })
}

/**
 * Fastify's `clientErrorHandler`: what the HTTP parser refuses before there is a request (a
 * request line and headers over Node's 16 KiB, malformed HTTP, a client too slow) gets the
 * same typed error body as everything else, not fastify's own shape, and the connection
 * is closed (the parser cannot find where the next request would start).
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new SinewError({
          code: 'headers_too_large',
          message: 'The request line and headers are over 16 KiB',
          hint: 'Send a shorter URL and smaller headers (a blob upload permit is a few KiB).',
        })
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new SinewError({ code: 'request_timeout', message: 'The request did not arrive in time' })
        : new SinewError({ code: 'bad_request', message: 'The request is not valid HTTP', details: { reason: err.code ?? 'unknown' } })
  if (socket.writable) {
    const body = JSON.stringify(e.toJSON())
    const reason = e.status === 431 ? 'Request Header Fields Too Large' : e.status === 408 ? 'Request Timeout' : 'Bad Request'
    socket.write(
      `HTTP/1.1 ${e.status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
