/**
 * The OpenAI-compatible routes of a replica: passed through to its leader.
 *
 * Inference needs the sequencer (it reserves the caller's money against the head and signs
 * each call's RecordReceipt), so a replica does not answer calls itself: it forwards the
 * request as it came (method, path, Authorization, body bytes) to the node it follows and
 * streams the answer back unchanged, SSE included. The receipt reaches the replica with the
 * next blocks it follows. A client that hangs up mid-stream hangs up on the leader too, so
 * the leader charges only for what was delivered, as if the client had called it directly.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { SinewError } from '../../core/index.ts'
import { openaiError, openaiRouteSchemas } from './openai-wire.ts'
import { responsesRouteSchema } from './openai-responses.ts'

export type OpenAIProxyOptions = {
  /** Base URL of the leader node (no trailing slash). */
  leader: string
}

/** Request headers worth passing on; hop-by-hop ones (connection, keep-alive, …) are not. */
const FORWARDED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'accept-encoding',
  'user-agent',
  'openai-organization',
  'openai-project',
  'x-request-id',
  // x402 (docs/x402.md): the leader checks and settles the payment.
  'payment-signature',
]
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'])

export const openaiProxyRoutes: FastifyPluginAsync<OpenAIProxyOptions> = async (app, { leader }) => {
  const base = new URL(leader)
  const secure = base.protocol === 'https:'
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true })
  app.addHook('onClose', async () => agent.destroy())

  // The body is forwarded byte for byte: parse nothing (this plugin's scope only).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  const forward = (request: FastifyRequest, reply: FastifyReply): void => {
    const headers: Record<string, string> = {}
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const v = request.headers[name]
      if (typeof v === 'string') headers[name] = v
    }
    const body = Buffer.isBuffer(request.body) ? request.body : undefined
    if (body) headers['content-length'] = String(body.length)
    // The client as this node judged it (its own trustProxy applied), and nothing the client
    // wrote itself: a leader that trusts this replica then counts the client's failures.
    headers['x-forwarded-for'] = request.ip
    const target = new URL(base.pathname.replace(/\/$/, '') + request.url, base)

    reply.hijack()
    const res = reply.raw
    const upstream = (secure ? httpsRequest : httpRequest)(target, { method: request.method, headers, agent }, (answer: IncomingMessage) => {
      res.writeHead(answer.statusCode ?? 502, passHeaders(answer.headers))
      answer.pipe(res)
      answer.on('error', () => res.destroy())
    })
    upstream.on('error', (e) => {
      if (res.headersSent) return void res.destroy()
      const message = `This node is a replica and passes model calls to its leader at ${leader}, which is unreachable (${(e as NodeJS.ErrnoException).code ?? e.message}). Retry, or call the leader directly.`
      const { status, body } = openaiError(new SinewError({ code: 'leader_unavailable', message }))
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify(body))
    })
    // The caller hung up before the answer ended: hang up on the leader too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy()
    })
    upstream.end(body)
  }

  // The leader's answers, passed on as they are: documented as the leader documents them.
  const schemas = openaiRouteSchemas(['leader_unavailable'])
  const passed = (schema: { summary: string }) => ({
    schema: { ...schema, summary: `${schema.summary} (this node is a replica: passed through to its leader)` },
    // The bytes go to the leader unread: nothing is validated here.
    validatorCompiler: () => (data: unknown) => ({ value: data }),
  })
  app.get('/v1/models', passed(schemas.models), forward)
  app.get('/v1/models/:model', passed(schemas.model), forward)
  app.post('/v1/chat/completions', passed(schemas.chat), forward)
  app.post('/v1/completions', passed(schemas.completion), forward)
  app.post('/v1/responses', passed(responsesRouteSchema(['leader_unavailable'])), forward)
}

function passHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v
  out['x-sinew-served-by'] = 'leader'
  return out
}
