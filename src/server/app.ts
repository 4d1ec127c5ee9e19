/** The HTTP server: fastify with zod schemas, OpenAPI at /openapi.json, one plugin per route group. */
import fastifySwagger from '@fastify/swagger'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { addressMatcher, type Logger } from '../core/index.ts'
import type { LedgerNode } from '../ledger/index.ts'
import { installAccessControl } from './access.ts'
import { clientErrorHandler, frameworkErrors, installErrorHandling } from './errors.ts'
import { installJsonParser } from './json-body.ts'
import { openapiComponents } from './openapi.ts'
import { ledgerRoutes } from './routes/ledger.ts'
import { errorsRoutes } from './routes/errors.ts'
import type { Datanets } from '../datanets/index.ts'
import { blobsRoutes } from './routes/blobs.ts'
import { datanetsRoutes } from './routes/datanets.ts'
import { agentsRoutes } from './routes/agents.ts'
import { mcpRoutes } from './mcp/index.ts'
import { a2aRoutes } from './a2a/index.ts'
import type { Gateway } from '../gateway/index.ts'
import { modelsRoutes } from './routes/models.ts'
import { openaiRoutes } from './routes/openai.ts'
import { openaiProxyRoutes } from './routes/openai-proxy.ts'
import { webAppRoutes } from './web.ts'
import { X402Payments, type ExactSettlement, type X402Settings } from './x402.ts'

/** Hands a request whose body this process has parsed to the node's writer, whole (a serving worker's forwarding). */
export type PassOn = (request: FastifyRequest, reply: FastifyReply) => FastifyReply

export type ServerOptions = {
  node: LedgerNode
  /** The inference gateway (sequencer only): serves the OpenAI-compatible routes. */
  gateway?: Gateway
  /** x402 payments on the gateway's routes (docs/x402.md); undefined: calls need an API key. The A2A agent card lists x402 as a way to pay when set. */
  x402?: X402Settings
  /** With settlement on an EVM chain: x402 also takes the `exact` scheme on its token (the node is its own facilitator). */
  settlement?: ExactSettlement
  /** On a replica, the leader's URL: the OpenAI-compatible routes are passed through to it. */
  leader?: string
  /** The Datanets service (blobs, contributions, versions, search). */
  datanets?: Datanets
  log: Logger
  /** The address the node binds: its name is answered in the Host header (see access.ts). */
  host: string
  /** Names answered in the Host header besides localhost, IP addresses and `host` (`*`: any). */
  allowedHosts: readonly string[]
  /** Web origins whose pages may call the node, besides its own (`*`: any). */
  allowedOrigins: readonly string[]
  /**
   * Peers whose X-Forwarded-For is believed (addresses, CIDRs, `loopback`, `private`): the
   * client is the address nearest the node that is not one of them. Empty: the TCP peer.
   */
  trustProxy: readonly string[]
  bodyLimitBytes: number
  maxBatchTxs: number
  /** The built web app served at `/` (default web/dist). */
  webRoot?: string
  /** Extra fields for GET /v1/status (e.g. replica progress). */
  status?: () => Record<string, unknown>
  /**
   * Hooks installed after access control and before any route (a serving worker's forwarding,
   * a writer's internal-only check); what it returns hands a model call the gateway passes
   * (PassToWriter) on to the writer.
   */
  install?: (app: FastifyInstance) => PassOn | undefined | void
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  // Request lines are logged only at debug: a busy node takes thousands of txs a second.
  const httpLog = options.log.isLevelEnabled('debug') ? options.log : options.log.child({}, { level: 'warn' })
  // request.ip (per-client limits) walks X-Forwarded-For from the right only while each hop is a trusted proxy.
  const trustProxy = options.trustProxy.length > 0 ? addressMatcher(options.trustProxy) : false
  const app = Fastify({
    loggerInstance: httpLog as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    trustProxy,
    clientErrorHandler,
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  // Response schemas document the answers (and type-check the handlers); the answer itself
  // is the handler's value as JSON, exactly, never re-encoded by a schema that could drop or
  // change a field. test/openapi.test.ts checks live answers against the document.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  installErrorHandling(app)
  installAccessControl(app, { boundHost: options.host, allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins }, options.log)
  installJsonParser(app)
  const passOn = options.install?.(app) ?? undefined
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Sinew node API',
        version: '1',
        description:
          'Sinew: an open coordination ledger for AI. Txs are EIP-712 typed messages (GET /v1/types); integers travel as decimal strings; errors are {"error": {"code", "message", "details"}}.',
      },
    },
    transform: jsonSchemaTransform,
    // Schemas with a zod `meta({ id })` become components (#/components/schemas/<id>).
    transformObject: openapiComponents,
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await app.register(errorsRoutes)
  await app.register(ledgerRoutes, { node: options.node, maxBatchTxs: options.maxBatchTxs, status: options.status ?? (() => ({})) })
  if (options.datanets) {
    await app.register(blobsRoutes, { datanets: options.datanets })
    await app.register(datanetsRoutes, { datanets: options.datanets })
  }
  await app.register(agentsRoutes, { node: options.node, blobs: options.datanets?.blobs })
  await app.register(modelsRoutes, { node: options.node })
  const x402 = options.gateway && options.x402 ? new X402Payments(options.gateway, options.x402, options.settlement) : undefined
  if (options.gateway) await app.register(openaiRoutes, { gateway: options.gateway, x402, passOn })
  else if (options.leader) await app.register(openaiProxyRoutes, { leader: options.leader })
  await app.register(mcpRoutes)
  await app.register(a2aRoutes, {
    node: options.node,
    inference: options.gateway !== undefined || options.leader !== undefined,
    datanets: options.datanets !== undefined,
    x402: options.x402 !== undefined,
    ...(x402 ? { x402Schemes: () => x402.schemes() } : {}),
  })
  // The web app at `/` and its paths (web/dist); the API keeps /v1, /mcp and /openapi.json.
  await webAppRoutes(app, { root: options.webRoot })
  return app
}
