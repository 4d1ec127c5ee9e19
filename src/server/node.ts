/**
 * A whole node in one process: store, ledger, HTTP API, and (with `follow`) replica sync.
 * The CLI and the tests start nodes through here.
 */
import type { FastifyInstance } from 'fastify'
import { join } from 'node:path'
import { createLogger, parseUnits, SinewError, type Hex, type Logger, type NodeConfig } from '../core/index.ts'
import { createLedgerRegistry, LedgerNode, type Genesis, type TxKindRegistry } from '../ledger/index.ts'
import { agentBlobReferences, registerAgentKinds } from '../agents/index.ts'
import { registerModelKinds, type ContributionResolver } from '../models/index.ts'
import { Gateway, type IndexProvider } from '../gateway/index.ts'
import { datanetIndexProvider, Datanets, datanetsResolver, registerDatanetKinds } from '../datanets/index.ts'
import { lockDataDir, openSqliteStore } from '../store/index.ts'
import { buildServer } from './app.ts'
import { Follower } from './follower.ts'

export type StartNodeOptions = {
  config: NodeConfig
  /** Initialises an empty data dir; must match a non-empty one. */
  genesis?: Genesis
  /** The sequencer key; without it the node is a read-only replica (needs config.follow to grow). */
  sequencerKey?: Hex
  /** Default: createNodeRegistry() (models checked against Datanets state). */
  registry?: TxKindRegistry
  log?: Logger
  /** Attribution indexes of Datanet versions for the gateway (default: the Datanets module's, `<dataDir>/indexes/<id>/<n>/index`). */
  indexes?: IndexProvider
  /** Where the gateway looks up contribution authors; must be the one `registry` was made with (default: datanetsResolver). */
  resolver?: ContributionResolver
  /** Timeout of openai-compatible model backends (default 60 s). */
  backendTimeoutMs?: number
}

export type RunningNode = {
  url: string
  node: LedgerNode
  app: FastifyInstance
  follower?: Follower
  gateway?: Gateway
  datanets: Datanets
  close(): Promise<void>
}

export const storeFile = (dataDir: string): string => join(dataDir, 'sinew.db')

/**
 * Every tx kind a node accepts: the ledger's own plus each domain module's. The node and
 * `sinew verify` both use this. Models are checked against Datanets state (strict): a
 * RegisterModel/UpdateModel must name published versions, a receipt accepted contributions
 * and their authors.
 */
export function createNodeRegistry(resolver: ContributionResolver = datanetsResolver): TxKindRegistry {
  const registry = createLedgerRegistry()
  registerAgentKinds(registry)
  registerModelKinds(registry, resolver)
  registerDatanetKinds(registry)
  return registry
}

export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const { config } = options
  const log = options.log ?? createLogger(config.logLevel)
  const lock = lockDataDir(config.dataDir)
  // What is open so far, closed in reverse (by a failed start, or by close()), so the process
  // neither hangs on open handles nor keeps the data dir locked. Every step runs even if
  // one before it throws; the lock goes last.
  const opened: (() => Promise<void> | void)[] = [() => lock.release()]
  const closeAll = async (): Promise<void> => {
    for (const close of opened.splice(0).reverse()) {
      try {
        await close()
      } catch (e) {
        log.error({ err: e }, 'error while closing the node')
      }
    }
  }
  try {
    const store = openSqliteStore(storeFile(config.dataDir))
    opened.push(() => store.close())
    // Set once the Datanets service exists; a tx can only arrive after the server listens.
    let datanets: Datanets | undefined
    const node = await LedgerNode.open({
      store,
      registry: options.registry ?? createNodeRegistry(),
      genesis: options.genesis,
      sequencerKey: config.follow ? undefined : options.sequencerKey,
      blockIntervalMs: config.blockIntervalMs,
      maxBlockTxs: config.maxBlockTxs,
      signatureWorkers: config.signatureWorkers,
      log,
      admit: (tx) => datanets?.admit(tx),
    })
    opened.push(() => node.close())
    const leader = config.follow?.replace(/\/$/, '')
    // A replica gets the blobs of the contributions it applies from its leader, so it can
    // build the same version indexes and answer the same searches.
    datanets = new Datanets({
      node,
      dataDir: config.dataDir,
      log,
      maxBlobBytes: config.maxBlobBytes,
      blobSource: leader,
      blobReferences: [agentBlobReferences],
      uploads: {
        minBalance: parseUnits(config.blobMinBalance, 18, 'blobMinBalance'),
        bytesPerSin: config.blobBytesPerSin,
        quotaBytes: config.blobQuotaBytes,
        quotaBlobs: config.blobQuotaBlobs,
        nodeQuotaBytes: config.blobNodeQuotaBytes,
        quotaWindowMs: config.blobQuotaWindowMs,
      },
      blobGcGraceMs: config.blobGcGraceMs,
      blobGcIntervalMs: config.blobGcIntervalMs,
      ingestTimeoutMs: config.ingestTimeoutMs,
      buildLanes: config.buildLanes,
    })
    const dn = datanets
    opened.push(() => dn.stop())
    const follower = leader ? new Follower(node, leader, config.followPollMs, log, { onBlock: (_header, txs) => dn.blocksApplied(txs) }) : undefined
    const gateway =
      node.sequencer && options.sequencerKey
        ? new Gateway({
            node,
            sequencerKey: options.sequencerKey,
            indexes: options.indexes ?? datanetIndexProvider(dn),
            resolver: options.resolver ?? datanetsResolver,
            backendTimeoutMs: options.backendTimeoutMs,
            settings: config,
            log,
          })
        : undefined
    const app = await buildServer({
      node,
      datanets: dn,
      gateway,
      leader,
      log,
      host: config.host,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      bodyLimitBytes: config.bodyLimitBytes,
      maxBatchTxs: config.maxBatchTxs,
      status: () => (follower ? { replica: { ...follower.status(), blobs: dn.blobFetchStatus() } } : {}),
    })
    opened.push(() => closeHttpServer(app))
    if (follower) opened.push(() => follower.stop()) // first to stop: no more blocks to apply
    const address = await listen(app, config.host, config.port)
    follower?.start()
    dn.start()
    let closing: Promise<void> | undefined
    return {
      url: address.replace('[::1]', 'localhost'),
      node,
      app,
      follower,
      gateway,
      datanets: dn,
      // The reverse of opening: follower, HTTP server, Datanets, ledger and store, lock.
      close: () => (closing ??= closeAll()),
    }
  } catch (e) {
    await closeAll()
    throw e
  }
}

/** `app.listen`, with a port someone else holds (or may not be bound) said plainly. */
/** How long close() lets calls in flight finish before it cuts their connections. */
const SHUTDOWN_GRACE_MS = 10_000

/**
 * Stops taking requests and waits for those in flight, up to SHUTDOWN_GRACE_MS, then cuts
 * what is left (a stream cut this way is charged for what reached its caller, as on any
 * disconnect). A keep-alive connection whose call ends during the wait is closed as soon as
 * it is idle: the server closes only the connections idle when close() begins, so without
 * this a client's keep-alive socket would hold the node open for the whole keep-alive timeout.
 */
async function closeHttpServer(app: FastifyInstance): Promise<void> {
  const closing = app.close()
  const idle = setInterval(() => app.server.closeIdleConnections(), 50)
  const cut = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS)
  try {
    await closing
  } finally {
    clearInterval(idle)
    clearTimeout(cut)
  }
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port })
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') {
      throw new SinewError({
        code: 'port_in_use',
        message: `Port ${port} on ${host} is already in use`,
        details: { host, port },
        hint: 'Another process (perhaps another Sinew node) listens there: stop it, or pass --port (or set SINEW_PORT) to use another.',
        cause: e,
      })
    }
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new SinewError({
        code: 'cannot_listen',
        message: `Cannot listen on ${host}:${port} (${code})`,
        details: { host, port, reason: code },
        hint: code === 'EACCES' ? 'Ports below 1024 need privileges: pass a --port of 1024 or more.' : 'That --host is not an address of this machine.',
        cause: e,
      })
    }
    throw e
  }
}
