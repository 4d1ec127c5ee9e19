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
import type { PassOn } from '../app.ts'
import { SinewError } from '../../core/index.ts'
import { INTERNAL_SECRET_HEADER, WORKER_HEADER } from './messages.ts'

export type ForwardOptions = {
  /**
   * Where to forward now: a base URL (a serving worker: its writer's internal one, with the
   * node's secret; a standby of a sequencer lease: the sequencer's public one), or the error
   * to answer instead (no sequencer right now).
   */
  target: () => { url: string; secret?: string } | SinewError
  /** Resolves once what the forwarded answer acknowledged is visible here (read-your-writes). */
  barrier: () => Promise<void>
  /** This process's id, sent in WORKER_HEADER on every answer. */
  worker?: string
  /** True for a request this process answers itself now (default: isLocalRead). */
  local?: (method: string, url: string) => boolean
  /** The error when the target cannot be reached (with its errno). */
  unreachable: (code: string) => SinewError
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

/**
 * Installs the forwarding hook; returns how to forward a request whose body this process
 * has already parsed (sent on as its JSON): a worker passes on a model call that its writer
 * says it serves itself.
 */
export function installForwarding(app: FastifyInstance, o: ForwardOptions): PassOn {
  // As many idle sockets kept as streams a burst opens (100 and more): a socket closed after one
  // burst is a new TCP connection, and a new connection on the writer, at the next.
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 1024 })
  const local = o.local ?? isLocalRead
  app.addHook('onClose', async () => agent.destroy())
  app.addHook('onRequest', async (request, reply) => {
    if (o.worker) reply.raw.setHeader(WORKER_HEADER, o.worker)
    if (local(request.method, request.url)) return
    const target = o.target()
    if (target instanceof SinewError) throw target
    reply.hijack()
    forward(request, reply.raw, new URL(target.url), target.secret)
  })

  return (request, reply) => {
    const target = o.target()
    if (target instanceof SinewError) throw target
    reply.hijack()
    forward(request, reply.raw, new URL(target.url), target.secret, Buffer.from(JSON.stringify(request.body)))
    return reply
  }

  function forward(request: FastifyRequest, res: ServerResponse, base: URL, secret: string | undefined, parsed?: Buffer): void {
    const headers: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === INTERNAL_SECRET_HEADER || name === 'x-forwarded-for') continue
      headers[name] = value
    }
    if (secret) headers[INTERNAL_SECRET_HEADER] = secret
    // The client as this worker judged it (its trustProxy applied), never what the client wrote.
    headers['x-forwarded-for'] = request.ip

    const send = (body: Buffer, mayRetry: boolean): void => {
      const upstream = httpRequest(
        { host: base.hostname, port: base.port, path: request.url, method: request.method, headers, agent },
        (answer: IncomingMessage) => {
          const out: Record<string, string | string[]> = {}
          for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
          res.writeHead(answer.statusCode ?? 502, out)
          answer.on('error', () => res.destroy())
          // With a content-length the client has the whole answer with its last byte, before
          // any end of the response: such an answer is held whole until the barrier. A stream
          // (chunked) passes through as it comes; its closing chunk waits for the barrier.
          const whole = answer.headers['content-length'] !== undefined
          const held: Buffer[] = []
          if (whole) answer.on('data', (c: Buffer) => held.push(c))
          else answer.pipe(res, { end: false })
          answer.on('end', () => {
            const end = () => res.end(whole ? Buffer.concat(held) : undefined)
            o.barrier().then(end, end)
          })
        },
      )
      upstream.on('error', (e) => {
        if (res.headersSent) return void res.destroy()
        if (mayRetry && upstream.reusedSocket && (e as NodeJS.ErrnoException).code === 'ECONNRESET') return send(body, false)
        const error = o.unreachable((e as NodeJS.ErrnoException).code ?? e.message)
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
    // The body is read once, so that a request sent on a kept-alive socket the writer had
    // just closed (the documented race of idle sockets: ECONNRESET before any answer) can
    // be sent again on a new one; the writer never saw the first.
    if (parsed) {
      headers['content-length'] = String(parsed.length)
      send(parsed, true)
    } else {
      const chunks: Buffer[] = []
      request.raw.on('data', (c: Buffer) => chunks.push(c))
      request.raw.on('end', () => send(Buffer.concat(chunks), true))
      request.raw.on('error', () => res.destroy())
    }
  }
}
