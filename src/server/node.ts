/**
 * A node serving its HTTP API: assembles one (src/node), builds the app on it and listens.
 * The CLI and the tests start nodes through here.
 */
import { createServer } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { SinewError, type NodeConfig } from '../core/index.ts'
import type { Datanets } from '../datanets/index.ts'
import type { Gateway } from '../gateway/index.ts'
import type { LedgerNode } from '../ledger/index.ts'
import type { Settlement } from '../settlement/index.ts'
import { assembleNode, type AssembleNodeOptions, type Failover, type Follower } from '../node/index.ts'
import { buildServer } from './app.ts'
import { installForwarding, internalOnly, isLocalRead, newInternalSecret, WorkerPool, type ForwardOptions } from './cluster/index.ts'
import type { X402Settings } from './x402.ts'

export type StartNodeOptions = AssembleNodeOptions & {
  /** The built web app served at `/` (default web/dist). */
  webRoot?: string
}

export type RunningNode = {
  url: string
  node: LedgerNode
  app: FastifyInstance
  follower?: Follower
  gateway?: Gateway
  datanets: Datanets
  /** With `config.workers` > 0: the serving worker processes on the public port (this process is their writer). */
  workers?: WorkerPool
  /** With an EVM settlement contract configured: the deposit watcher and checkpointer. */
  settlement?: Settlement
  close(): Promise<void>
}

/**
 * Assembles the node and serves it. With `config.workers` > 0 (a node with the sequencer
 * key, not a replica; unset means 0 here, the CLI resolves it to the number of cores) this
 * process becomes the writer: its own HTTP server listens on an internal loopback port for
 * its workers only, and that many serving workers share the public port (src/server/cluster).
 * Under a sequencer lease (PostgreSQL) the writer is the lease's standby or sequencer: as a
 * standby it passes what its workers forward on to the sequencer, and the URL it puts in the
 * lease is the workers' public one.
 */
export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const assembled = await assembleNode(options)
  try {
    const { config, node, datanets, gateway, leader, follower, failover, log } = assembled
    const workers = config.follow || !options.sequencerKey ? 0 : (config.workers ?? 0)
    const secret = workers > 0 ? newInternalSecret() : undefined
    // The writer's internal port lets in its workers only; under a lease, while it stands by,
    // it forwards what is not its to answer to the sequencer (itself reached through a worker).
    const install = (a: FastifyInstance) => {
      if (secret) a.addHook('onRequest', internalOnly(secret))
      if (failover) installForwarding(a, standbyForwarding(failover))
    }
    const app = await buildServer({
      node,
      datanets,
      gateway,
      x402: x402Settings(config, node.chain.genesis.insecure === true),
      settlement: assembled.settlement,
      leader,
      log,
      host: secret ? INTERNAL_HOST : config.host,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      // The writer's clients are its workers, each naming its client in X-Forwarded-For.
      trustProxy: secret ? ['loopback'] : config.trustProxy,
      bodyLimitBytes: config.bodyLimitBytes,
      maxBatchTxs: config.maxBatchTxs,
      status: assembled.status,
      webRoot: options.webRoot,
      install: secret || failover ? install : undefined,
    })
    assembled.onClose(() => closeHttpServer(app))
    if (secret && config.port !== 0) await probePort(config.host, config.port)
    let address = await listen(app, secret ? INTERNAL_HOST : config.host, secret ? 0 : config.port)
    assembled.start()
    const advertised = config.advertiseUrl?.replace(/\/$/, '')
    // With workers the public URL is known once they listen: the lease's rounds start now
    // (a held lease must be renewed) and the URL goes into the lease as soon as it is known.
    failover?.start(advertised ?? (secret ? null : address.replace('[::1]', 'localhost')))
    let pool: WorkerPool | undefined
    if (secret) {
      pool = new WorkerPool({
        node,
        config,
        count: workers,
        writerUrl: address,
        secret,
        log,
        gateway,
        // A standby records no calls: its workers pass them on, and it forwards them to the sequencer.
        servesCalls: () => !failover || failover.isSequencer,
      })
      assembled.onClose(() => pool!.stop()) // first to stop: no more requests come in
      const port = await pool.start()
      address = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
      if (!advertised) failover?.advertise(address.replace('[::1]', 'localhost'))
    }
    return {
      url: address.replace('[::1]', 'localhost'),
      node,
      app,
      follower,
      gateway,
      datanets,
      workers: pool,
      settlement: assembled.settlement,
      // The reverse of opening: follower, HTTP server, Datanets, ledger and store, lock.
      close: assembled.close,
    }
  } catch (e) {
    await assembled.close()
    throw e
  }
}

/**
 * A standby of a sequencer lease answers reads of its own chain (and its status) and forwards
 * everything else (writes, model calls, MCP, uploads) to the node that holds the lease; the
 * answer's end waits until this node has applied the blocks committed by then. While it holds
 * the lease itself, it answers everything.
 */
function standbyForwarding(failover: Failover): ForwardOptions {
  return {
    target: () => failover.target(),
    barrier: () => failover.catchUp().catch(() => {}),
    local: (method, url) => failover.isSequencer || isLocalRead(method, url) || (method === 'GET' && url.split('?')[0] === '/v1/status'),
    unreachable: (code) =>
      new SinewError({
        code: 'sequencer_unavailable',
        message: `This node cannot reach the sequencer (${code}): a takeover may be under way`,
        details: { retryAfterS: 1 },
        hint: 'Retry shortly: a standby takes the lease within a second or two.',
      }),
  }
}

/** x402 on the gateway: as configured, else on for a dev network (its keys are public, its SIN worthless). */
export function x402Settings(config: NodeConfig, devNetwork: boolean): X402Settings | undefined {
  return (config.x402 ?? devNetwork) ? { maxTimeoutSeconds: config.x402MaxTimeoutSeconds } : undefined
}

/** Where a writer listens for its serving workers. */
const INTERNAL_HOST = '127.0.0.1'

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

/** `app.listen`, with a port someone else holds (or may not be bound) said plainly. */
async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port })
  } catch (e) {
    throw listenError(e, host, port)
  }
}

/**
 * Binds the public port for a moment and lets it go: with workers, the port is bound by the
 * cluster for them, and a worker that cannot bind would only die and be forked again, so the
 * node checks first and refuses to start with the same errors as a one-process node.
 */
async function probePort(host: string, port: number): Promise<void> {
  const server = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port }, () => resolve())
    })
  } catch (e) {
    throw listenError(e, host, port)
  }
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** A listen error said plainly: a port someone else holds, or one this process may not bind. */
function listenError(e: unknown, host: string, port: number): unknown {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') {
    return new SinewError({
      code: 'port_in_use',
      message: `Port ${port} on ${host} is already in use`,
      details: { host, port },
      hint: 'Another process (perhaps another Sinew node) listens there: stop it, or pass --port (or set SINEW_PORT) to use another.',
      cause: e,
    })
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new SinewError({
      code: 'cannot_listen',
      message: `Cannot listen on ${host}:${port} (${code})`,
      details: { host, port, reason: code },
      hint: code === 'EACCES' ? 'Ports below 1024 need privileges: pass a --port of 1024 or more.' : 'That --host is not an address of this machine.',
      cause: e,
    })
  }
  return e
}
