/**
 * A serving worker's forwarding: every request the worker does not answer from its own view
 * (writes, model calls, MCP, proofs, Datanets and blobs, status) goes to the node's writer
 * over loopback HTTP, byte for byte, with the node's internal secret and the client's
 * address as this worker judged it. The answer streams back unchanged (SSE included); its
 * end is held until every worker has applied the writer's head (`barrier`), so whatever the
 * client does next, on any worker, sees what this answer acknowledged (read-your-writes).
 */
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SinewError } from '../../core/index.ts'
import { INTERNAL_SECRET_HEADER, WORKER_HEADER } from './messages.ts'

export type ForwardOptions = {
  /** The writer's internal base URL (http://127.0.0.1:PORT). */
  writerUrl: string
  secret: string
  /** Resolves once every live worker has applied the writer's head. */
  barrier: () => Promise<void>
  /** This worker's id, sent in WORKER_HEADER on every answer. */
  worker: string
}

/**
 * GET and HEAD routes a worker answers from its own view: pure reads of ledger state and
 * history. Anything else (and anything a worker does not register) is forwarded.
 */
const LOCAL_READS = [
  /^\/v1\/accounts\/[^/]+(\/earnings)?$/,
  /^\/v1\/tx\/[^/]+$/,
  /^\/v1\/blocks(\/[^/]+)?$/,
  /^\/v1\/types$/,
  /^\/v1\/genesis$/,
  /^\/v1\/receipts\/[^/]+$/,
  /^\/v1\/apikeys\/[^/]+$/,
  /^\/v1\/registry\/models$/,
  /^\/v1\/agents(\/[^/]+)?$/,
  /^\/v1\/tasks$/,
  /^\/v1\/errors$/,
]

export function isLocalRead(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  return LOCAL_READS.some((r) => r.test(path))
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer', 'host', 'origin'])

export function installForwarding(app: FastifyInstance, o: ForwardOptions): void {
  const base = new URL(o.writerUrl)
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 64 })
  app.addHook('onClose', async () => agent.destroy())
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.setHeader(WORKER_HEADER, o.worker)
    if (isLocalRead(request.method, request.url)) return
    reply.hijack()
    forward(request, reply.raw)
  })

  function forward(request: FastifyRequest, res: ServerResponse): void {
    const headers: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === INTERNAL_SECRET_HEADER || name === 'x-forwarded-for') continue
      headers[name] = value
    }
    headers[INTERNAL_SECRET_HEADER] = o.secret
    // The client as this worker judged it (its trustProxy applied), never what the client wrote.
    headers['x-forwarded-for'] = request.ip
    // The body is read once, so that a request sent on a kept-alive socket the writer had
    // just closed (the documented race of idle sockets: ECONNRESET before any answer) can
    // be sent again on a new one; the writer never saw the first.
    const chunks: Buffer[] = []
    request.raw.on('data', (c: Buffer) => chunks.push(c))
    request.raw.on('end', () => send(Buffer.concat(chunks), true))
    request.raw.on('error', () => res.destroy())

    const send = (body: Buffer, mayRetry: boolean): void => {
      const upstream = httpRequest(
        { host: base.hostname, port: base.port, path: request.url, method: request.method, headers, agent },
        (answer: IncomingMessage) => {
          const out: Record<string, string | string[]> = {}
          for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
          res.writeHead(answer.statusCode ?? 502, out)
          answer.pipe(res, { end: false })
          answer.on('error', () => res.destroy())
          answer.on('end', () => {
            o.barrier().then(
              () => res.end(),
              () => res.end(),
            )
          })
        },
      )
      upstream.on('error', (e) => {
        if (res.headersSent) return void res.destroy()
        if (mayRetry && upstream.reusedSocket && (e as NodeJS.ErrnoException).code === 'ECONNRESET') return send(body, false)
        const error = new SinewError({
          code: 'writer_unavailable',
          message: `This worker cannot reach the node's writer (${(e as NodeJS.ErrnoException).code ?? e.message})`,
          hint: 'The node is restarting or stopping: retry shortly.',
        })
        res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' })
        res.end(JSON.stringify({ error: { code: error.code, message: error.shortMessage, details: {} } }))
      })
      // The client hung up before the answer ended: hang up on the writer too (a stream is
      // then charged for what reached the client, as on any disconnect).
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy()
      })
      upstream.end(body)
    }
  }
}
