/**
 * The sequencer lease on a real PostgreSQL server (docs/scaling.md, "Failover"):
 * - a second sequencer started by hand on the same database is refused, naming the holder;
 * - with --failover it stands by: serves reads, forwards signed writes to the sequencer
 *   (read-your-writes), and takes over when the sequencer stops;
 * - fencing: a store whose term was taken over cannot commit a block (`sequencer_fenced`);
 * - PostgreSQL cut away from the sequencer (a TCP proxy on port 0, cut): its writes answer
 *   503 with Retry-After, its reads go on, a standby with its own path takes over, and once
 *   the path returns the old sequencer stands by and forwards; nothing acknowledged is lost.
 */
import { createServer, type Socket, connect, type Server } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { openPostgresStore, SequencerLeaseSession } from '../src/store/index.ts'
import { dev, http, signTransfer, startDevNode, tempDir, waitFor } from './helpers.ts'
import { freshPgDatabase } from './pg.ts'

const tmp = tempDir('sinew-lease-')
const nodes: RunningNode[] = []
afterAll(async () => {
  for (const n of nodes.splice(0).reverse()) await n.close().catch(() => {})
  tmp.cleanup()
})

async function start(name: string, store: string, overrides: Record<string, unknown> = {}): Promise<RunningNode> {
  const node = await startDevNode(join(tmp.dir, name), { store, leasePollMs: 50, ...overrides })
  nodes.push(node)
  return node
}

const status = async (url: string) => (await http(`${url}/v1/status`)).json
const transfer = async (url: string, nonce: bigint, amount = 3n) =>
  http(`${url}/v1/tx`, { body: await signTransfer(dev[1].privateKey, { to: dev[6].address, amount, nonce }) })
const balance = async (url: string) => BigInt((await http(`${url}/v1/accounts/${dev[6].address}`)).json.balance)

describe('the sequencer lease', () => {
  it('refuses a second sequencer by hand, naming the holder; a --failover node stands by, forwards, and takes over', async () => {
    const store = await freshPgDatabase()
    const first = await start('first', store)
    const own = await waitFor(
      () => status(first.url),
      (st) => st.failover.lease.url !== null,
    )
    expect(own.failover).toMatchObject({ role: 'sequencer', lease: { term: '1', url: first.url } })

    const refused = await startDevNode(join(tmp.dir, 'second-by-hand'), { store }).then(
      () => undefined,
      (e: { code?: string; message: string; details?: Record<string, unknown> }) => e,
    )
    expect(refused?.code).toBe('sequencer_lease_held')
    expect(refused?.message).toContain(first.url)
    expect(refused?.message).toContain(`pid ${process.pid}`)
    expect(refused?.details).toMatchObject({ url: first.url, term: '1' })

    const standby = await start('standby', store, { failover: true })
    const s = await status(standby.url)
    expect(s.role).toBe('standby')
    expect(s.failover).toMatchObject({ role: 'standby', lease: { term: '1', url: first.url } })

    // A signed write through the standby lands on the sequencer's chain, and the standby shows it at once.
    const before = await balance(first.url)
    const sent = await transfer(standby.url, 0n)
    expect(sent.status, JSON.stringify(sent.json)).toBe(200)
    expect(await balance(standby.url)).toBe(before + 3n)
    expect((await http(`${standby.url}/v1/tx/${sent.json.hash}`)).status).toBe(200)
    const height = BigInt(sent.json.height)

    // The sequencer stops: the standby takes the lease (term 2) and produces on the same chain.
    await first.close()
    const took = await waitFor(
      () => status(standby.url),
      (st) => st.role === 'sequencer',
    )
    expect(took.failover.lease.term).toBe('2')
    expect(BigInt(took.failover.takeover.height)).toBeGreaterThanOrEqual(height)
    const next = await transfer(standby.url, 1n)
    expect(next.status, JSON.stringify(next.json)).toBe(200)
    expect(BigInt(next.json.height)).toBeGreaterThan(height)
    expect(await balance(standby.url)).toBe(before + 6n)
  })

  it('fences a store whose term was taken over: its block is refused with sequencer_fenced and nothing is kept', async () => {
    const url = await freshPgDatabase()
    const node = await start('fenced', url)
    const head = (await status(node.url)).height
    // Someone else takes the lease: it ends the holder's lock session first (as a standby does
    // once the lease runs out), then takes the lock before the holder takes it back.
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      const other = await openPostgresStore(url)
      const session = await SequencerLeaseSession.open(other)
      const got = await waitFor(
        async () => {
          await admin.query("SELECT pg_terminate_backend(backend_pid) FROM sequencer_lease WHERE holder <> 'intruder'")
          const r = await session.tryAcquire({ holder: 'intruder', url: null, ttlMs: 60_000 })
          return { acquired: r.acquired, term: r.lease.term.toString() }
        },
        (r) => r.acquired,
      )
      expect(got.term).toBe('2')
      const refused = await transfer(node.url, 0n)
      expect(refused.status).toBe(503)
      expect(refused.json.error.code).toBe('sequencer_fenced')
      expect((await status(node.url)).height).toBe(head)
      const { rows } = await admin.query<{ n: string }>('SELECT max(height)::text AS n FROM blocks')
      expect(rows[0].n).toBe(head)
      // The fenced node stands by and names the holder to forward to (none with a URL here).
      const st = await waitFor(
        () => status(node.url),
        (x) => x.role === 'standby' && x.failover.lease?.holder === 'intruder',
      )
      expect(st.failover.lease).toMatchObject({ holder: 'intruder', term: '2' })
      await session.close()
      await other.close()
    } finally {
      await admin.end()
    }
  })

  it('with PostgreSQL cut away from the sequencer: 503 with Retry-After on writes, reads go on, a standby takes over, all resumes', async () => {
    const direct = await freshPgDatabase()
    const proxy = await tcpProxy(new URL(direct))
    try {
      const viaProxy = new URL(direct)
      viaProxy.port = String(proxy.port)
      const a = await start('cut-a', viaProxy.toString())
      const b = await start('cut-b', direct, { failover: true })
      const acked: Hex[] = []
      const first = await transfer(a.url, 0n)
      expect(first.status).toBe(200)
      acked.push(first.json.hash)
      const seen = await balance(a.url)

      proxy.cut()
      const refused = await fetch(`${a.url}/v1/tx`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(await signTransfer(dev[1].privateKey, { to: dev[6].address, amount: 3n, nonce: 1n })),
      })
      expect(refused.status).toBe(503)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(['store_unreachable', 'sequencer_fenced', 'commit_failed', 'sequencer_unavailable']).toContain(
        ((await refused.json()) as { error: { code: string } }).error.code,
      )
      expect(await balance(a.url)).toBe(seen)
      // B, with its own path to the database, takes over.
      await waitFor(
        () => status(b.url),
        (st) => st.role === 'sequencer',
      )
      const viaB = await transfer(b.url, 1n)
      expect(viaB.status, JSON.stringify(viaB.json)).toBe(200)
      acked.push(viaB.json.hash)

      proxy.restore()
      // A finds the lease taken, stands by, catches up and forwards.
      await waitFor(
        () => status(a.url),
        (st) => st.role === 'standby' && st.failover.lease?.url === b.url && st.failover.lastError === null,
      )
      const viaA = await transfer(a.url, 2n)
      expect(viaA.status, JSON.stringify(viaA.json)).toBe(200)
      acked.push(viaA.json.hash)
      for (const hash of acked) {
        expect((await http(`${a.url}/v1/tx/${hash}`)).status).toBe(200)
        expect((await http(`${b.url}/v1/tx/${hash}`)).status).toBe(200)
      }
      expect(await balance(a.url)).toBe(seen + 6n)
    } finally {
      proxy.close()
    }
  })
})

/** A TCP proxy on a port from the OS to `target`'s host and port; `cut()` drops every connection and refuses new ones until `restore()`. */
async function tcpProxy(target: URL): Promise<{ port: number; cut(): void; restore(): void; close(): void }> {
  const sockets = new Set<Socket>()
  let open = true
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy()
    const upstream = connect(Number(target.port), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const cutAll = () => {
    for (const s of sockets) s.destroy()
  }
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      open = false
      cutAll()
    },
    restore: () => {
      open = true
    },
    close: () => {
      open = false
      cutAll()
      server.close()
    },
  }
}
