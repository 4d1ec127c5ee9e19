/**
 * A replica follows a sequencer over real HTTP, re-executes every block and agrees on
 * every root; a replica fed a block whose stateRoot was altered (and re-signed) refuses
 * it and reports the block and field.
 */
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromHex } from '../src/core/index.ts'
import { headerHash, signDigest } from '../src/ledger/index.ts'
import { DEV_SEQUENCER_KEY } from '../src/cli/data-dir.ts'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, signTransfer, startDevNode, startReplica, tempDir, waitFor } from './helpers.ts'

let leader: RunningNode
let replica: RunningNode
const dirs: ReturnType<typeof tempDir>[] = []
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  const d1 = tempDir()
  const d2 = tempDir()
  dirs.push(d1, d2)
  leader = await startDevNode(d1.dir)
  replica = await startReplica(d2.dir, leader.url)
  closers.push(
    () => replica.close(),
    () => leader.close(),
  )
  // Blocks for every test to look at (the last one alters block 2): rounds of three transfers.
  // Several blocks from several senders, some in batches.
  for (let round = 0; round < 4; round++) {
    const txs = await Promise.all(
      [0, 1, 2].map((s) =>
        signTransfer(dev[s].privateKey, { to: dev[(s + round + 1) % 10].address, amount: BigInt(1000 + round * 10 + s), nonce: BigInt(round) }),
      ),
    )
    const r = await http(`${leader.url}/v1/txs`, { body: { txs } })
    expect(r.json.results.every((x: { ok: boolean }) => x.ok)).toBe(true)
  }
})

afterAll(async () => {
  for (const c of closers) await c()
  for (const d of dirs) d.cleanup()
})

describe('replica', () => {
  it('follows, re-executes and agrees on every root', async () => {
    const head = (await http(`${leader.url}/v1/status`)).json.height
    expect(Number(head)).toBeGreaterThanOrEqual(1)
    await waitFor(async () => (await http(`${replica.url}/v1/status`)).json.height === head)
    for (let h = 0; h <= Number(head); h++) {
      const a = (await http(`${leader.url}/v1/blocks/${h}`)).json
      const b = (await http(`${replica.url}/v1/blocks/${h}`)).json
      expect(b).toEqual(a)
    }
    for (const acct of dev) {
      expect((await http(`${replica.url}/v1/accounts/${acct.address}`)).json).toEqual((await http(`${leader.url}/v1/accounts/${acct.address}`)).json)
    }
    const status = (await http(`${replica.url}/v1/status`)).json
    expect(status.role).toBe('replica')
    expect(status.replica.halted).toBeNull()
  })

  it('refuses writes', async () => {
    const tx = await signTransfer(dev[0].privateKey, { to: dev[1].address, amount: 1n, nonce: 99n })
    const r = await http(`${replica.url}/v1/tx`, { body: tx })
    expect(r.status).toBe(405)
    expect(r.json.error.code).toBe('read_only')
  })

  it('refuses and reports a block whose stateRoot differs from its own result', async () => {
    // A lying leader: serves the real chain, but block 2's stateRoot is altered and the
    // header re-hashed and re-signed with the sequencer key, so only the root is wrong.
    const liar: Server = createServer(async (req, res) => {
      const upstream = await fetch(leader.url + req.url!)
      const body = (await upstream.json()) as { blocks?: Record<string, any>[] }
      for (const b of body.blocks ?? []) {
        if (b.height === '2') {
          b.stateRoot = '0x' + 'ab'.repeat(32)
          const header = { ...b, height: BigInt(b.height), timestamp: BigInt(b.timestamp) }
          b.hash = headerHash(header as any)
          b.signature = signDigest(DEV_SEQUENCER_KEY, fromHex(b.hash))
        }
      }
      for (const b of body.blocks ?? []) if (b.height === '3') b.parentHash = body.blocks!.find((x) => x.height === '2')!.hash
      res.writeHead(upstream.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    })
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', () => r()))
    closers.unshift(() => new Promise((r) => liar.close(() => r())))
    const port = (liar.address() as { port: number }).port
    const d3 = tempDir()
    dirs.push(d3)
    const victim = await startReplica(d3.dir, `http://127.0.0.1:${port}`)
    closers.unshift(() => victim.close())
    await waitFor(async () => (await http(`${victim.url}/v1/status`)).json.replica.halted !== null)
    const status = (await http(`${victim.url}/v1/status`)).json
    expect(status.replica.halted).toMatchObject({ height: '2', field: 'stateRoot', actual: '0x' + 'ab'.repeat(32) })
    expect(status.height).toBe('1')
    // What it did accept is the honest block 1.
    expect((await http(`${victim.url}/v1/blocks/1`)).json.hash).toBe((await http(`${leader.url}/v1/blocks/1`)).json.hash)
  })
})
