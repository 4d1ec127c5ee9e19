/**
 * A node assembled in one process: the data dir lock, store, ledger (every module's tx
 * kinds), Datanets, the inference gateway (on the sequencer) and, with `follow`, replica
 * sync. Serving it over HTTP is the server's job (src/server `startNode`), which builds on
 * this; `sinew verify` takes the registry and the store's file from here.
 */
import { createLogger, parseUnits, type Clock, type Hex, type Logger, type NodeConfig } from '../core/index.ts'
import { createLedgerRegistry, LedgerNode, type Genesis, type TxKindRegistry } from '../ledger/index.ts'
import { agentBlobReferences, registerAgentKinds } from '../agents/index.ts'
import { registerModelKinds, type ContributionResolver } from '../models/index.ts'
import { Gateway, type IndexProvider } from '../gateway/index.ts'
import { datanetIndexProvider, Datanets, datanetsResolver, registerDatanetKinds } from '../datanets/index.ts'
import { registerSettlementKinds, Settlement } from '../settlement/index.ts'
import { lockDataDir, openStore, PostgresStore, storeFile, storeLocation } from '../store/index.ts'
import { Failover } from './failover.ts'
import { Follower } from './follower.ts'

export type AssembleNodeOptions = {
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
  /** The node's time (default: the system clock); tests move it forward instead of sleeping. */
  clock?: Clock
  /**
   * Called once if a block cannot be made durable: the sequencer has refused that block's
   * txs and takes no more. Whoever runs the node decides what follows (`sinew node` exits
   * with code 70); without it the node keeps serving reads.
   */
  onFatal?: (error: unknown) => void
}

export type AssembledNode = {
  config: NodeConfig
  log: Logger
  node: LedgerNode
  datanets: Datanets
  /** On a replica: the URL of the node it follows (no trailing slash). */
  leader?: string
  /** On a replica: the sync from `leader`, started by `start()`. */
  follower?: Follower
  /** On a node that may sequence: the inference gateway (used while it is the sequencer). */
  gateway?: Gateway
  /**
   * On a node with the sequencer key over a PostgreSQL store: its part in the sequencer lease
   * (src/node/failover.ts). The server starts its rounds once it listens (`failover.start(url)`).
   */
  failover?: Failover
  /** With settlementRpcUrl and settlementContract: the EVM deposit watcher and checkpointer (docs/settlement.md). */
  settlement?: Settlement
  /** Extra fields for GET /v1/status: on a replica, its sync and blob-fetch progress. */
  status(): Record<string, unknown>
  /** Registers something built on the node (an HTTP server) to be closed before everything opened so far. */
  onClose(close: () => Promise<void> | void): void
  /** Starts the background work: replica sync (stopped first on close), blob fetches and index builds. */
  start(): void
  /** Closes everything in the reverse of opening, the data dir lock last; every step runs even if one before it throws. Idempotent. */
  close(): Promise<void>
}

export { storeFile }

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
  registerSettlementKinds(registry)
  return registry
}

export async function assembleNode(options: AssembleNodeOptions): Promise<AssembledNode> {
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
    const store = await openStore(storeLocation(config))
    opened.push(() => store.close())
    // Set once the Datanets service exists; a tx can only arrive after the server listens.
    let admitter: Datanets | undefined
    // Nodes with the sequencer key sharing a PostgreSQL database take turns under a lease:
    // each starts as a standby and becomes the sequencer only once it holds the lease.
    const leased = store instanceof PostgresStore && !config.follow && options.sequencerKey !== undefined
    let failover: Failover | undefined
    const node = await LedgerNode.open({
      store,
      registry: options.registry ?? createNodeRegistry(),
      genesis: options.genesis,
      sequencerKey: config.follow ? undefined : options.sequencerKey,
      blockIntervalMs: config.blockIntervalMs,
      maxBlockTxs: config.maxBlockTxs,
      signatureWorkers: config.signatureWorkers,
      log,
      admit: (tx) => admitter?.admit(tx),
      clock: options.clock,
      standby: leased,
      // Under a lease, a commit that fails (fenced, or the database lost) hands the lease on.
      onFatal: leased ? (e) => failover?.lost(e) : options.onFatal,
    })
    opened.push(() => node.close())
    if (leased) {
      failover = new Failover({
        node,
        store: store as PostgresStore,
        demand: !config.failover,
        ttlMs: config.leaseMs,
        pollMs: config.leasePollMs,
        log,
      })
      const f = failover
      opened.push(() => f.stop())
      await f.begin()
    }
    const leader = config.follow?.replace(/\/$/, '')
    // A replica gets the blobs of the contributions it applies from its leader, so it can
    // build the same version indexes and answer the same searches.
    const datanets = new Datanets({
      node,
      dataDir: config.dataDir,
      log,
      maxBlobBytes: config.maxBlobBytes,
      blobSource: leader,
      sharedBlobs: store.blobs ? { location: store.location, table: store.blobs, own: leader !== undefined } : undefined,
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
    admitter = datanets
    opened.push(() => datanets.stop())
    const follower = leader ? new Follower(node, leader, config.followPollMs, log, { onBlock: (_header, txs) => datanets.blocksApplied(txs) }) : undefined
    const gateway =
      node.canSequence && options.sequencerKey
        ? new Gateway({
            node,
            sequencerKey: options.sequencerKey,
            indexes: options.indexes ?? datanetIndexProvider(datanets),
            resolver: options.resolver ?? datanetsResolver,
            backendTimeoutMs: options.backendTimeoutMs,
            settings: config,
            log,
          })
        : undefined
    // The node's own txs (receipts, deposits) share the gateway's queue, which keeps the sequencer's nonces consecutive.
    const settlement =
      config.settlementRpcUrl && config.settlementContract
        ? new Settlement({
            settings: { ...config, settlementRpcUrl: config.settlementRpcUrl, settlementContract: config.settlementContract },
            node,
            sequencerKey: gateway ? options.sequencerKey : undefined,
            submit: gateway ? (type, wire) => gateway.submitter.submit(type, wire) : undefined,
            // Under a sequencer lease, only the holder credits deposits and posts checkpoints.
            leads: leaseHolder(failover),
            clock: node.now,
            log,
          })
        : undefined
    let closing: Promise<void> | undefined
    return {
      config,
      log,
      node,
      datanets,
      leader,
      follower,
      gateway,
      settlement,
      failover,
      status: () => ({
        ...(failover ? { failover: failover.status() } : {}),
        ...(follower ? { replica: { ...follower.status(), blobs: datanets.blobFetchStatus() } } : {}),
        ...(settlement ? { settlement: settlement.status() } : {}),
      }),
      onClose: (close) => void opened.push(close),
      start: () => {
        if (follower) opened.push(() => follower.stop()) // first to stop: no more blocks to apply
        follower?.start()
        datanets.start()
        if (settlement) {
          opened.push(() => settlement.stop())
          settlement.start()
        }
      },
      // The reverse of opening: follower, what was built on the node (the HTTP server), Datanets, ledger and store, lock.
      close: () => (closing ??= closeAll()),
    }
  } catch (e) {
    await closeAll()
    throw e
  }
}

/** Under a sequencer lease: whether this node holds it now (what only the sequencer may do, like settlement). */
const leaseHolder = (failover: Failover | undefined): (() => boolean) | undefined => (failover ? () => failover.isSequencer : undefined)
