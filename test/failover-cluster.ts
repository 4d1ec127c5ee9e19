/**
 * Several `sinew node --failover` processes on one PostgreSQL database, a client that keeps
 * submitting signed transfers through any live node, and kill -9 of whichever node is the
 * sequencer. Used by test/failover.pg.test.ts and bench/failover.bench.ts (outside vitest too).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import type { Hex } from '../src/core/index.ts'
import { makeDevGenesis, writeGenesisFile } from '../src/cli/data-dir.ts'
import { dev, signTransfer } from './helpers.ts'
import { startNodeProcess, type NodeProcess } from './node-process.ts'

type Status = { role: string; height: string; failover?: { role: string; lease: { term: string } | null; takeover: { height: string; at: string } | null } }

async function status(url: string): Promise<Status | undefined> {
  try {
    const r = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(2000) })
    return r.ok ? ((await r.json()) as Status) : undefined
  } catch {
    return undefined
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20))

/** A node of the cluster; `restarting` while it is being started again after a kill. */
export type Member = { dir: string; process: NodeProcess; restarting?: Promise<void> }

export class FailoverCluster {
  readonly members: Member[] = []
  private constructor(
    readonly store: string,
    private readonly root: string,
    /** Serving workers of each node (`--workers`; 0: one process). */
    readonly workers: number,
  ) {}

  /** `count` data dirs on one dev genesis and the same database, each node started with --failover (and `workers` serving workers, default 0). */
  static async start(o: { root: string; store: string; count: number; workers?: number }): Promise<FailoverCluster> {
    const cluster = new FailoverCluster(o.store, o.root, o.workers ?? 0)
    const genesis = makeDevGenesis()
    for (let i = 0; i < o.count; i++) {
      const dir = join(o.root, `node-${i}`)
      mkdirSync(dir, { recursive: true })
      writeGenesisFile(dir, genesis)
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ store: o.store }))
      // One at a time: the first makes the chain in the empty database.
      cluster.members.push({ dir, process: await cluster.launch(dir) })
    }
    return cluster
  }

  launch(dir: string): Promise<NodeProcess> {
    return startNodeProcess({
      dataDir: dir,
      args: ['--failover', '--workers', String(this.workers)],
      env: { SINEW_LEASE_POLL_MS: '50', SINEW_BLOCK_INTERVAL_MS: '20' },
    })
  }

  urls(): string[] {
    return this.members.filter((m) => !m.restarting).map((m) => m.process.url)
  }

  /** Waits until exactly one live node says it is the sequencer and the others stand by; that one. */
  async sequencer(timeoutMs = 60_000): Promise<{ member: Member; status: Status }> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const live = this.members.filter((m) => !m.restarting)
      const all = await Promise.all(live.map(async (m) => ({ member: m, status: await status(m.process.url) })))
      const seqs = all.filter((a) => a.status?.role === 'sequencer')
      // A sequencer and at least one standby ready to take over.
      if (seqs.length === 1 && all.length >= 2 && all.every((a) => a.status)) return seqs[0] as { member: Member; status: Status }
      if (Date.now() > deadline) throw new Error(`no single sequencer: ${JSON.stringify(all.map((a) => a.status?.failover ?? null))}`)
      await tick()
    }
  }

  /**
   * kill -9 of the sequencer; resolves once another node took over and committed its first
   * block, with the time from the kill to that block's timestamp (node clock = this machine's).
   * The killed node is started again (as a standby) after that.
   */
  async killSequencer(timeoutMs = 60_000): Promise<{ takeoverMs: number; firstBlockMs: number; term: bigint }> {
    const { member, status: before } = await this.sequencer()
    const oldTerm = BigInt(before.failover?.lease?.term ?? '0')
    const killedAt = Date.now()
    await member.process.stop('SIGKILL')
    const deadline = Date.now() + timeoutMs
    let taken: { url: string; status: Status; at: number } | undefined
    while (!taken) {
      // Every live node each time round: one killed before may finish restarting now and,
      // as a standby, take the lease before the others do.
      for (const m of this.members.filter((m) => m !== member && !m.restarting)) {
        const s = await status(m.process.url)
        if (s?.role === 'sequencer' && BigInt(s.failover?.lease?.term ?? '0') > oldTerm) taken = { url: m.process.url, status: s, at: Date.now() }
      }
      if (Date.now() > deadline) throw new Error(`no standby took over the lease after term ${oldTerm}`)
      if (!taken) await tick()
    }
    const from = BigInt(taken.status.failover!.takeover!.height) + 1n
    let first: { timestamp: string } | undefined
    while (!first) {
      const r = await fetch(`${taken.url}/v1/blocks/${from}`).catch(() => undefined)
      if (r?.ok) first = (await r.json()) as { timestamp: string }
      else if (Date.now() > deadline) throw new Error(`no block ${from} from the new sequencer`)
      else await tick()
    }
    // Started again as a standby in the background; the next kill waits only for a standby.
    member.restarting = this.launch(member.dir).then((p) => {
      member.process = p
      member.restarting = undefined
    })
    return {
      takeoverMs: Date.parse(taken.status.failover!.takeover!.at) - killedAt,
      firstBlockMs: Number(BigInt(first.timestamp) - BigInt(killedAt)),
      term: BigInt(taken.status.failover!.lease!.term),
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.restarting?.catch(() => {})))
    await Promise.all(this.members.map((m) => m.process.stop('SIGTERM')))
  }
}

/**
 * Signed transfers from `senders` dev accounts (each its own nonce sequence), each sent
 * through a live node in turn and retried (same signed tx) until acknowledged. Every
 * acknowledged hash is kept: none may be missing from the chain afterwards.
 */
export class TransferLoad {
  readonly acked: Hex[] = []
  /** Refusals and network errors retried. */
  retries = 0
  private running = true
  private loops: Promise<void>[] = []

  constructor(
    private readonly urls: () => string[],
    senders = 4,
  ) {
    for (let s = 0; s < senders; s++) this.loops.push(this.run(dev[1 + s].privateKey))
  }

  private async run(key: Hex): Promise<void> {
    let k = 0
    for (let nonce = 0n; this.running; nonce++) {
      const body = JSON.stringify(await signTransfer(key, { to: dev[9].address, amount: 1n, nonce }))
      for (;;) {
        if (!this.running) return
        const urls = this.urls()
        const url = urls[k++ % urls.length]
        try {
          const r = await fetch(`${url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) })
          const json = (await r.json()) as { hash?: Hex; error?: { code: string } }
          if (r.status === 200 && json.hash) {
            this.acked.push(json.hash)
            break
          }
          // In a block already (its ack was lost with the node that made it): the next nonce.
          if (json.error?.code === 'tx_already_included') break
        } catch {
          // the node died under the request: try the next one
        }
        this.retries++
        await tick()
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
  }
}

/** The chain as the database holds it: heights contiguous from 0, each parent hash the previous block's hash; every tx hash. */
export async function readChain(store: string): Promise<{ heights: bigint[]; links: boolean; txs: Set<string> }> {
  const client = new pg.Client({ connectionString: store })
  await client.connect()
  try {
    const blocks = (await client.query<{ height: string; hash: string; parent_hash: string }>('SELECT height, hash, parent_hash FROM blocks ORDER BY height'))
      .rows
    const txs = (await client.query<{ hash: Buffer }>('SELECT hash FROM txs')).rows
    let links = true
    for (let i = 1; i < blocks.length; i++) if (blocks[i].parent_hash !== blocks[i - 1].hash) links = false
    return { heights: blocks.map((b) => BigInt(b.height)), links, txs: new Set(txs.map((t) => `0x${t.hash.toString('hex')}`)) }
  } finally {
    await client.end()
  }
}
