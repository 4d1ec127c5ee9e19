/**
 * A node served by several processes on one machine (`--workers N`, docs/scaling.md):
 *
 * - this process is the **writer**: the full node (sequencer, store connection that writes,
 *   gateway, Datanets builds), serving HTTP only on an internal loopback port that refuses
 *   any request without the node's secret;
 * - N **serving workers** (node:cluster) share the public port, answer ledger reads from
 *   their own read-only view and forward everything else to the writer (worker.ts).
 *
 * Every committed block goes to each worker over IPC, with its state writes; a worker
 * that starts (or restarts) loads a snapshot and is sent the blocks after it from a ring
 * of recent ones. A worker that dies is forked again. Acknowledgments come from the
 * writer only after the block is durable, so kill -9 of a worker loses nothing acknowledged.
 */
import cluster, { type Worker } from 'node:cluster'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { SinewError, type Logger, type NodeConfig } from '../../core/index.ts'
import type { Gateway } from '../../gateway/index.ts'
import type { CommittedBlock, LedgerNode } from '../../ledger/index.ts'
import { WriterCalls } from './calls.ts'
import { batchedSender, isMessage, INTERNAL_SECRET_HEADER, unbatch, type ToWorker, type ToWriter } from './messages.ts'

/** Blocks kept for workers that load a snapshot while the chain moves on. */
const RING_BLOCKS = 4096
/** Time a worker gets to stop gracefully before it is killed. */
const STOP_GRACE_MS = 15_000

const repoRoot = join(import.meta.dirname, '..', '..', '..')
const workerEntry = join(import.meta.dirname, 'worker-main.ts')
const tsxLoader = pathToFileURL(join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href

/** How many serving workers `config` asks for: `workers`, or the number of cores when unset. */
export function servingWorkers(config: Pick<NodeConfig, 'workers'>, cores: number): number {
  return config.workers ?? cores
}

/** An onRequest hook for the writer's internal port: only the node's workers (who know `secret`) get in. */
export function internalOnly(secret: string) {
  const expected = Buffer.from(secret)
  return async (request: { headers: Record<string, string | string[] | undefined> }) => {
    const given = request.headers[INTERNAL_SECRET_HEADER]
    const bytes = Buffer.from(typeof given === 'string' ? given : '')
    if (bytes.length !== expected.length || !timingSafeEqual(bytes, expected))
      throw new SinewError({
        code: 'internal_only',
        message: "This is a Sinew writer's internal port: it serves the node's own workers only",
        hint: 'Call the node on its public port.',
      })
  }
}

export const newInternalSecret = (): string => randomBytes(32).toString('hex')

export type WorkerPoolOptions = {
  node: LedgerNode
  config: NodeConfig
  count: number
  writerUrl: string
  secret: string
  log: Logger
  /** The node's gateway: the workers generate model calls, the writer admits and records them (calls.ts). */
  gateway?: Gateway
  /** False while the writer does not record calls itself (a standby of a sequencer lease): workers then forward them. */
  servesCalls?: () => boolean
}

type Member = { worker: Worker; subscribed: boolean; applied: bigint; listening: boolean; startedAt: number; post: (m: ToWorker) => void }
type Waiter = { target: bigint; done: () => void }

export type WorkerStatus = { id: number; pid: number | undefined; applied: string; listening: boolean }

export class WorkerPool {
  private readonly members = new Map<number, Member>()
  private readonly ring: CommittedBlock[] = []
  private waiters: Waiter[] = []
  private stopping = false
  /** The public port, as the workers' listen() got it (the same for all: cluster shares one handle per address and port asked). */
  private port = 0
  private quickFailures = 0
  private unsubscribe: (() => void) | undefined
  private firstListening: ((port: number) => void) | undefined
  private startFailed: ((e: Error) => void) | undefined
  /** Workers forked again after dying. */
  restarts = 0
  private readonly calls: WriterCalls

  constructor(private readonly o: WorkerPoolOptions) {
    this.calls = new WriterCalls({ gateway: o.gateway, serves: o.servesCalls ?? (() => true), log: o.log })
  }

  /** Model calls the workers generate now (admitted by this writer, not yet recorded). */
  get callsInFlight(): number {
    return this.calls.inFlight
  }

  /** Forks the workers; resolves with the public port once all of them listen. */
  async start(): Promise<number> {
    cluster.setupPrimary({
      exec: workerEntry,
      execArgv: ['--max-semi-space-size=32', '--import', tsxLoader],
      serialization: 'advanced',
    })
    this.unsubscribe = this.o.node.chain.onCommit((block) => this.committed(block))
    const first = new Promise<number>((resolve, reject) => {
      this.firstListening = resolve
      this.startFailed = reject
    })
    this.fork()
    this.port = await first
    for (let i = 1; i < this.o.count; i++) this.fork()
    await this.allListening()
    this.startFailed = undefined
    return this.port
  }

  status(): WorkerStatus[] {
    return [...this.members.values()].map((m) => ({ id: m.worker.id, pid: m.worker.process.pid, applied: m.applied.toString(), listening: m.listening }))
  }

  /** Stops every worker (each finishes what it serves), then forgets them. */
  async stop(): Promise<void> {
    this.stopping = true
    this.unsubscribe?.()
    await Promise.all(
      [...this.members.values()].map(
        ({ worker }) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve()
            const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS)
            worker.once('exit', () => {
              clearTimeout(kill)
              resolve()
            })
            worker.process.kill('SIGTERM')
          }),
      ),
    )
    this.members.clear()
    for (const w of this.waiters) w.done()
    this.waiters = []
  }

  private fork(): void {
    const worker = cluster.fork()
    const post = batchedSender<ToWorker>((m) => {
      if (!worker.isConnected()) return
      worker.send(m, undefined, () => {
        /* a worker that just died: its exit handler deals with it */
      })
    })
    const member: Member = { worker, subscribed: false, applied: -1n, listening: false, startedAt: Date.now(), post }
    this.members.set(worker.id, member)
    worker.on('message', (m: unknown) => {
      if (isMessage(m)) for (const one of unbatch(m as ToWriter)) this.receive(member, one)
    })
    worker.on('listening', (address) => {
      member.listening = true
      this.quickFailures = 0
      this.firstListening?.(address.port)
      this.firstListening = undefined
      this.checkListening()
    })
    worker.on('exit', (code, signal) => this.exited(member, code, signal))
    // A send to a worker that is dying fails with EPIPE: its exit handler deals with it; the
    // writer must not fall over for it (an 'error' event without a listener would throw).
    worker.on('error', (e) => this.o.log.debug({ err: e, worker: worker.id }, 'serving worker channel error'))
  }

  private receive(member: Member, m: ToWriter): void {
    switch (m.type) {
      case 'sinew:ready':
        this.send(member, { type: 'sinew:init', config: this.o.config, writerUrl: this.o.writerUrl, secret: this.o.secret, port: this.o.config.port })
        return
      case 'sinew:hello': {
        const head = this.o.node.chain.head.height
        const oldest = this.ring[0]?.header.height
        if (m.height < head && (oldest === undefined || oldest > m.height + 1n)) return this.send(member, { type: 'sinew:reload' })
        for (const block of this.ring) if (block.header.height > m.height) this.sendBlock(member, block)
        member.applied = m.height
        member.subscribed = true
        return
      }
      case 'sinew:applied':
        member.applied = m.height
        this.release()
        return
      case 'sinew:call':
      case 'sinew:call-finish':
      case 'sinew:call-fail':
        return this.calls.receive(
          member.worker.id,
          m,
          () => this.members.has(member.worker.id),
          (a) => this.send(member, a),
        )
      case 'sinew:sync': {
        const id = m.id
        this.waiters.push({ target: this.o.node.chain.head.height, done: () => this.send(member, { type: 'sinew:synced', id, height: member.applied }) })
        this.release()
        return
      }
    }
  }

  private committed(block: CommittedBlock): void {
    this.ring.push(block)
    if (this.ring.length > RING_BLOCKS) this.ring.shift()
    for (const member of this.members.values()) if (member.subscribed) this.sendBlock(member, block)
  }

  private sendBlock(member: Member, block: CommittedBlock): void {
    this.send(member, { type: 'sinew:block', header: block.header, writes: new Map(block.writes) })
  }

  private send(member: Member, m: ToWorker): void {
    if (member.worker.isConnected()) member.post(m)
  }

  /** Answers the syncs whose target every subscribed worker has applied. */
  private release(): void {
    if (this.waiters.length === 0) return
    let min: bigint | undefined
    for (const m of this.members.values()) if (m.subscribed && (min === undefined || m.applied < min)) min = m.applied
    const reached = (w: Waiter) => min === undefined || min >= w.target
    const ready = this.waiters.filter(reached)
    if (ready.length === 0) return
    this.waiters = this.waiters.filter((w) => !reached(w))
    for (const w of ready) w.done()
  }

  private exited(member: Member, code: number | null, signal: string | null): void {
    this.members.delete(member.worker.id)
    this.calls.workerGone(member.worker.id)
    this.release()
    if (this.stopping) return
    const quick = !member.listening || Date.now() - member.startedAt < 5000
    this.quickFailures = quick ? this.quickFailures + 1 : 0
    if (this.startFailed && this.quickFailures >= 3) {
      this.stopping = true
      this.startFailed(
        new SinewError({
          code: 'internal',
          message: `Serving workers exit as they start (last: code ${code}, signal ${signal})`,
          hint: 'Run with --workers 0 to serve from one process, and look at the log above for why.',
        }),
      )
      return
    }
    const delay = Math.min(10_000, 100 * 2 ** Math.min(this.quickFailures, 7))
    this.o.log.warn({ worker: member.worker.id, pid: member.worker.process.pid, code, signal, restartInMs: delay }, 'serving worker exited; starting another')
    setTimeout(() => {
      if (this.stopping) return
      this.restarts++
      this.fork()
    }, delay).unref()
  }

  private listeningWaiter: (() => void) | undefined
  private allListening(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.listeningWaiter = resolve
      const failed = this.startFailed
      this.startFailed = (e) => {
        failed?.(e)
        reject(e)
      }
      this.checkListening()
    })
  }

  private checkListening(): void {
    if (!this.listeningWaiter) return
    const listening = [...this.members.values()].filter((m) => m.listening).length
    if (listening >= this.o.count) {
      this.listeningWaiter()
      this.listeningWaiter = undefined
    }
  }
}
