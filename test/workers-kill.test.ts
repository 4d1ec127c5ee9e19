/**
 * `sinew node --workers 2` in a child process, under a stream of transfers:
 * - kill -9 of a serving worker: another is forked in its place, the stream goes on (a
 *   client whose connection died retries), and every tx acknowledged before, during and
 *   after is on the chain;
 * - SIGTERM of the node stops every one of its processes;
 * - kill -9 of the writer: its workers go too (nothing is left holding the port), and a
 *   restart finds every acknowledged tx; `sinew verify` replays the chain.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { WORKER_HEADER } from '../src/server/index.ts'
import { dev, http, runCli, signTransfer, spawnNode, tempDir, waitFor, type SpawnedNode } from './helpers.ts'

const tmp = tempDir('sinew-workers-kill-')
let node: SpawnedNode | undefined

beforeAll(async () => {
  expect((await runCli(['init', '--dev', '--data-dir', tmp.dir])).code).toBe(0)
})

afterAll(() => {
  node?.child.kill('SIGKILL')
  tmp.cleanup()
})

/** The worker that answers a request on a new connection (round-robin: the next one each time). */
const workerOf = (url: string) =>
  new Promise<number>((resolve, reject) =>
    request(`${url}/v1/genesis`, { agent: false, timeout: 5000 }, (res) => {
      res.resume()
      resolve(Number(res.headers[WORKER_HEADER]))
    })
      .on('error', reject)
      .on('timeout', function (this: import('node:http').ClientRequest) {
        this.destroy(new Error('timeout'))
      })
      .end(),
  )

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Every worker pid seen on `count` new connections. */
async function workerPids(url: string, count = 8): Promise<Set<number>> {
  const seen = new Set<number>()
  for (let i = 0; i < count; i++) seen.add(await workerOf(url).catch(() => 0))
  seen.delete(0)
  return seen
}

/** One sender streaming transfers until told to stop; a failed connection re-reads the nonce and goes on. */
async function stream(url: string, sender: number, stop: { now: boolean }, acked: Hex[]): Promise<void> {
  const key = dev[sender].privateKey
  const nonceNow = async () => BigInt((await http(`${url}/v1/accounts/${dev[sender].address}`)).json.nonce)
  let nonce = await nonceNow()
  while (!stop.now) {
    const txs = await Promise.all(Array.from({ length: 5 }, (_, i) => signTransfer(key, { to: dev[9].address, amount: 1n, nonce: nonce + BigInt(i) })))
    try {
      const r = await http(`${url}/v1/txs`, { body: { txs } })
      // A worker whose writer is gone says so (and is about to exit): nothing was acknowledged.
      if (r.status === 503 && r.json.error.code === 'writer_unavailable') throw new Error('writer gone')
      if (r.status !== 200) throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.json)}`)
      for (const x of r.json.results) {
        // Sent again after a worker died mid-batch: the nonce read from a worker's view can lag
        // the writer by the block it was committing, so a tx may already be in (its ack lost).
        if (!x.ok && x.error.code === 'tx_already_included') continue
        if (!x.ok) throw new Error(`unexpected ${JSON.stringify(x)}`)
        acked.push(x.hash)
      }
      nonce += 5n
    } catch (e) {
      if ((e as Error).message.startsWith('unexpected')) throw e
      // The worker holding this connection died: whatever it had sent is either committed
      // (then the nonce moved) or not; either way the account's nonce says where to go on.
      const next = await waitFor(
        () => nonceNow().catch(() => undefined),
        (n) => n !== undefined || stop.now,
      )
      if (next === undefined) return
      nonce = next
    }
  }
}

describe('serving workers die; nothing acknowledged is lost', () => {
  it('kill -9 of a worker under load: it is replaced, the stream goes on, every acknowledged tx is on the chain', async () => {
    node = await spawnNode(['--data-dir', tmp.dir, '--workers', '2'])
    const url = node.url
    const before = await waitFor(
      () => workerPids(url),
      (s) => s.size === 2,
    )
    expect(before.has(node.child.pid!)).toBe(false)

    const stop = { now: false }
    const acked: Hex[] = []
    const streams = [0, 1, 2, 3].map((s) => stream(url, s, stop, acked))
    await waitFor(
      async () => acked.length,
      (n) => n >= 100,
    )
    const victim = [...before][0]
    process.kill(victim, 'SIGKILL')
    const ackedAtKill = acked.length
    // A new worker takes the dead one's place on the same port.
    const after = await waitFor(
      () => workerPids(url),
      (s) => s.size === 2 && !s.has(victim),
      // A worker's start (tsx, the snapshot) takes seconds, more on a loaded machine.
      150_000,
    )
    const replacement = [...after].find((p) => !before.has(p))!
    expect(replacement).toBeDefined()
    expect(alive(victim)).toBe(false)
    await waitFor(
      async () => acked.length,
      (n) => n >= ackedAtKill + 100,
    )
    stop.now = true
    await Promise.all(streams)

    // Every acknowledged tx is on the chain, read through either worker.
    expect(new Set(acked).size).toBe(acked.length)
    for (const hash of acked) expect((await http(`${url}/v1/tx/${hash}`)).status).toBe(200)

    // SIGTERM: the node stops all of its processes and exits cleanly.
    node.child.kill('SIGTERM')
    const code = await new Promise<number | null>((r) => node!.child.once('exit', (c) => r(c)))
    expect(code).toBe(0)
    for (const pid of after) expect(alive(pid)).toBe(false)
    node = undefined
  }, 300_000)

  it('kill -9 of the writer takes its workers with it; a restart has every acknowledged tx and verifies', async () => {
    node = await spawnNode(['--data-dir', tmp.dir, '--workers', '2'])
    const url = node.url
    const pids = await waitFor(
      () => workerPids(url),
      (s) => s.size === 2,
    )
    const stop = { now: false }
    const acked: Hex[] = []
    const streams = [0, 1].map((s) => stream(url, s, stop, acked))
    await waitFor(
      async () => acked.length,
      (n) => n >= 50,
    )
    node.child.kill('SIGKILL')
    stop.now = true
    await Promise.all(streams)
    await waitFor(async () => [...pids].every((p) => !alive(p)))
    node = undefined

    node = await spawnNode(['--data-dir', tmp.dir, '--workers', '2'])
    for (const hash of acked) expect((await http(`${node.url}/v1/tx/${hash}`)).status).toBe(200)
    node.child.kill('SIGTERM')
    await new Promise((r) => node!.child.once('exit', r))
    node = undefined
    const verify = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(JSON.parse(verify.stdout).ok).toBe(true)
  }, 300_000)
})
