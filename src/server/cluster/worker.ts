/**
 * A serving worker: one of the processes that share the node's HTTP port. It holds its own
 * read-only connection to the node's store (a read-only SQLite connection to the data dir's
 * file, or, on PostgreSQL, a small pool of its own to the same database) and an in-memory
 * view of the chain (loaded from one snapshot, then grown by the blocks the writer sends over
 * IPC, on either engine), answers ledger reads from that view, and forwards everything else
 * to the writer (forward.ts). It never writes the store.
 */
import cluster from 'node:cluster'
import { createLogger, SinewError, type Logger } from '../../core/index.ts'
import { LedgerNode } from '../../ledger/index.ts'
import { createNodeRegistry, storeFile } from '../../node/index.ts'
import { isPostgresUrl, openPostgresStore, openSqliteStore, SqliteStore, type Store } from '../../store/index.ts'
import { Gateway } from '../../gateway/index.ts'
import { buildServer } from '../app.ts'
import { workerCalls } from './calls.ts'
import { installForwarding, isLocalRead } from './forward.ts'
import { batchedSender, isMessage, unbatch, type InitMessage, type ToWorker, type ToWriter } from './messages.ts'

const send = batchedSender<ToWriter>((m) => void process.send?.(m))

/** The process's entry when it is a cluster worker of a Sinew node. */
export async function runServingWorker(): Promise<void> {
  const init = await new Promise<InitMessage>((resolve) => {
    const onMessage = (m: unknown) => {
      const init = isMessage(m) ? unbatch(m as ToWorker).find((one) => one.type === 'sinew:init') : undefined
      if (init) {
        process.off('message', onMessage)
        resolve(init as InitMessage)
      }
    }
    process.on('message', onMessage)
    send({ type: 'sinew:ready' })
  })
  const { config } = init
  const log = createLogger(config.logLevel).child({ worker: cluster.worker?.id })
  // Without its writer a worker has nothing to serve: it goes when the channel closes
  // (the writer stopped, or died with kill -9).
  process.on('disconnect', () => process.exit(0))

  // The writer's store: the same PostgreSQL database (its schema migrated by the writer), or the data dir's SQLite file.
  const store: Store =
    config.store && isPostgresUrl(config.store)
      ? await openPostgresStore(config.store, { readonly: true, poolSize: WORKER_PG_POOL })
      : openSqliteStore(storeFile(config.dataDir), { readonly: true })
  const node = await openView(store, log)
  const view = new ViewLink(node, log)
  // Model calls: admitted and recorded by the writer, generated here (calls.ts).
  const calls = workerCalls(send, () => view.barrier())
  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return
    for (const one of unbatch(m as ToWorker)) {
      if (one.type === 'sinew:call-answer') calls.receive(one)
      else view.receive(one)
    }
  })
  await view.hello()
  const gateway = new Gateway({
    node,
    remote: calls,
    settings: config,
    // Indexes are the writer's: it traces every call, and generates the built-in models' calls itself.
    indexes: () => {
      throw new SinewError({ code: 'internal', message: "A serving worker reads no attribution index: its writer's gateway does" })
    },
    log,
  })

  const app = await buildServer({
    node,
    gateway,
    log,
    host: config.host,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
    trustProxy: config.trustProxy,
    bodyLimitBytes: config.bodyLimitBytes,
    maxBatchTxs: config.maxBatchTxs,
    // Installed before the routes: what this worker does not answer goes to the writer.
    install: (a) =>
      installForwarding(a, {
        target: () => ({ url: init.writerUrl, secret: init.secret }),
        barrier: () => view.barrier(),
        worker: String(process.pid),
        local: (method, url) => isLocalRead(method, url) || isModelCall(method, url),
        unreachable: (code) =>
          new SinewError({
            code: 'writer_unavailable',
            message: `This worker cannot reach the node's writer (${code})`,
            hint: 'The node is restarting or stopping: retry shortly.',
          }),
      }),
  })
  await app.listen({ host: config.host, port: init.port })
  log.info({ height: node.chain.head.height.toString(), ms: Math.round(performance.now()) }, 'serving worker listening')
  const stop = async () => {
    await app.close()
    await store.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void stop())
  process.once('SIGINT', () => {}) // the writer decides when its workers stop
}

/**
 * Model calls a worker generates itself (the writer admits and records them): the rest of the
 * OpenAI-compatible API (models, usage) and calls it passes on go to the writer.
 */
const MODEL_CALLS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/responses'])

function isModelCall(method: string, url: string): boolean {
  if (method !== 'POST') return false
  const q = url.indexOf('?')
  return MODEL_CALLS.has(q < 0 ? url : url.slice(0, q))
}

/** Connections of a worker's own PostgreSQL pool: it only reads (history, blocks, txs by hash). */
const WORKER_PG_POOL = 2

/**
 * The chain as of one snapshot of the store, checked against that block's stateRoot; then
 * the Merkle tree is dropped (roots and proofs are the writer's). On SQLite the snapshot is a
 * read transaction, so the head and every state row are of the same block; on PostgreSQL the
 * chain's open rewinds what blocks committed during the scan wrote, from the state history
 * (as a standby of a shared database does).
 */
async function openView(store: Store, log: Logger): Promise<LedgerNode> {
  const open = () => LedgerNode.open({ store, registry: createNodeRegistry(), blockIntervalMs: 1000, maxBlockTxs: 1, signatureWorkers: 0, log })
  let node: LedgerNode
  if (store instanceof SqliteStore) {
    store.db.exec('BEGIN')
    try {
      node = await open()
    } finally {
      store.db.exec('COMMIT')
    }
  } else node = await open()
  node.chain.state.dropTree()
  return node
}

/** The worker's side of the channel: blocks in, applied heights and sync requests out. */
class ViewLink {
  private nextSync = 1
  private readonly syncs = new Map<number, () => void>()

  constructor(
    private readonly node: LedgerNode,
    private readonly log: Logger,
  ) {}

  /** Tells the writer where the view is; resolves once the blocks since then are applied. */
  hello(): Promise<void> {
    send({ type: 'sinew:hello', height: this.node.chain.head.height })
    // Then a sync: its answer comes after the catch-up blocks on the same channel.
    return this.barrier()
  }

  barrier(): Promise<void> {
    const id = this.nextSync++
    return new Promise((resolve) => {
      this.syncs.set(id, resolve)
      send({ type: 'sinew:sync', id })
    })
  }

  receive(m: ToWorker): void {
    switch (m.type) {
      case 'sinew:block':
        try {
          this.node.chain.followCommitted(m.header, m.writes)
        } catch (e) {
          // A gap: this view can no longer be trusted. A restart loads a fresh snapshot.
          this.log.error({ err: e }, 'serving worker: block out of order; restarting')
          process.exit(1)
        }
        send({ type: 'sinew:applied', height: this.node.chain.head.height })
        return
      case 'sinew:synced':
        this.syncs.get(m.id)?.()
        this.syncs.delete(m.id)
        return
      case 'sinew:reload':
        this.log.warn('serving worker: the writer no longer holds the blocks since this snapshot; restarting')
        process.exit(1)
    }
  }
}
