/**
 * Durability: the node is killed with SIGKILL at random moments while clients stream
 * submissions (single txs and batches); after each restart every tx it acknowledged is
 * still there, and the whole chain still verifies. Then the crash loop of issue #11 in
 * small (test/crash-loop.ts, a fixed seed, 3 kills; `npm run bench crash-loop` runs 100):
 * a mixed load of transfers, uploads and contributions, reviews, publishes and their index
 * builds, paid model calls and tasks.
 */
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { runCrashLoop } from './crash-loop.ts'
import { dev, http, runCli, signTransfer, spawnNode, tempDir, waitFor } from './helpers.ts'

const tmp = tempDir()
let child: ChildProcess | undefined

afterAll(() => {
  child?.kill('SIGKILL')
  tmp.cleanup()
})

/** One sender streaming txs until the node dies; adds the hashes acknowledged to `acked`. */
async function stream(url: string, sender: number, batch: number, stop: { dead: boolean }, acked: Hex[]): Promise<void> {
  const key = dev[sender].privateKey
  let nonce = BigInt((await http(`${url}/v1/accounts/${dev[sender].address}`)).json.nonce)
  while (!stop.dead) {
    const txs = await Promise.all(Array.from({ length: batch }, (_, i) => signTransfer(key, { to: dev[9].address, amount: 1n, nonce: nonce + BigInt(i) })))
    try {
      if (batch === 1) {
        const r = await http(`${url}/v1/tx`, { body: txs[0] })
        if (r.status !== 200) throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.json)}`)
        acked.push(r.json.hash)
      } else {
        const r = await http(`${url}/v1/txs`, { body: { txs } })
        for (const x of r.json.results) {
          if (!x.ok) throw new Error(`unexpected ${JSON.stringify(x)}`)
          acked.push(x.hash)
        }
      }
      nonce += BigInt(batch)
    } catch (e) {
      if ((e as Error).message.startsWith('unexpected')) throw e
      break // connection refused or reset: the node is gone
    }
  }
}

describe('kill -9 during a stream of submissions', () => {
  it('loses no acknowledged tx, over repeated kills', async () => {
    expect((await runCli(['init', '--dev', '--data-dir', tmp.dir])).code).toBe(0)
    const allAcked: Hex[] = []
    for (let round = 0; round < 4; round++) {
      let url: string
      ;({ child, url } = await spawnNode(['--data-dir', tmp.dir]))
      const stop = { dead: false }
      const acked: Hex[] = []
      const streams = [stream(url, 0, 1, stop, acked), stream(url, 1, 1, stop, acked), stream(url, 2, 25, stop, acked), stream(url, 3, 50, stop, acked)]
      // Kill at a random point of the stream, counted in acknowledged txs rather than time.
      const target = 1 + Math.floor(Math.random() * 300)
      await waitFor(
        async () => acked.length,
        (n) => n >= target,
        60_000,
      )
      child.kill('SIGKILL')
      await new Promise((r) => child!.once('exit', r))
      stop.dead = true
      await Promise.all(streams)
      expect(acked.length).toBeGreaterThanOrEqual(target)
      allAcked.push(...acked)

      // Restart and look for every acknowledged tx, from this round and all before.
      ;({ child, url } = await spawnNode(['--data-dir', tmp.dir]))
      const missing: string[] = []
      for (const hash of allAcked) {
        const r = await http(`${url}/v1/tx/${hash}`)
        if (r.status !== 200) missing.push(hash)
      }
      expect(missing).toEqual([])
      child.kill('SIGKILL')
      await new Promise((r) => child!.once('exit', r))
    }
    const verify = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(verify.code).toBe(0)
    const report = JSON.parse(verify.stdout)
    expect(report.ok).toBe(true)
    expect(report.txs).toBeGreaterThanOrEqual(allAcked.length)
    // 8 node starts: most of a minute each on a loaded 2-core machine.
  }, 600_000)
})

describe('the crash loop, small: kill -9 under a mixed load (seed 11, 3 kills)', () => {
  it('loses nothing acknowledged, verifies after every restart, and every index build ends ready', async () => {
    const dir = tempDir('sinew-crash-loop-')
    try {
      expect((await runCli(['init', '--dev', '--data-dir', dir.dir])).code).toBe(0)
      const r = await runCrashLoop({ dataDir: dir.dir, kills: 3, seed: 11, minLoadMs: 800, maxLoadMs: 2500 })
      expect(r.unexpected).toEqual([])
      expect(r.lost).toEqual([])
      expect(r.verifyFailures).toEqual([])
      expect(r.builds.notReady).toEqual([])
      expect(r.builds.failedSeenAfterRestart).toBe(0)
      // The load did reach the node: transfers, contributions and paid calls were acknowledged, and the chain holds them.
      expect(r.acknowledged.transfers).toBeGreaterThan(0)
      expect(r.acknowledged.contributions + r.acknowledged.modelCalls + r.acknowledged.tasks).toBeGreaterThan(0)
      expect(r.txs).toBeGreaterThanOrEqual(r.acknowledged.total - r.acknowledged.modelCalls)
    } finally {
      dir.cleanup()
    }
  }, 600_000)
})
