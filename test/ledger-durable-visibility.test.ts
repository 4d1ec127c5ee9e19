/**
 * A block is served only once it is durable. A SQLite commit is visible to every reader of
 * the store as soon as it is written, while the WAL sync that makes it survive a power cut
 * runs after it (src/store/sqlite.ts); the node's chain head moves only when the commit
 * resolves, and history routes serve nothing past it (routes/ledger.ts, `visible`). Here the
 * commit is held after the write (as a slow disk's fsync would hold it): the block is in the
 * store, yet no route shows it; once the commit resolves, all of them do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import type { BlockCommit } from '../src/store/index.ts'
import { dev, http, signTransfer, startDevNode, tempDir, waitFor } from './helpers.ts'

const tmp = tempDir()
let running: RunningNode

beforeAll(async () => {
  running = await startDevNode(tmp.dir, { workers: 0 })
}, 60_000)

afterAll(async () => {
  await running?.close()
  tmp.cleanup()
})

describe('history routes serve only durable blocks', () => {
  it('a block written but not yet durable is in the store and on no route; after its commit resolves, on all', async () => {
    const store = running.node.store
    const headBefore = running.node.chain.head.height
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    const commitBlock = store.commitBlock.bind(store)
    store.commitBlock = async (commit: BlockCommit) => {
      await commitBlock(commit)
      await held
    }
    try {
      const answer = http(`${running.url}/v1/tx`, { body: await signTransfer(dev[4].privateKey, { to: dev[5].address, amount: 7n, nonce: 0n }) })
      // The block is written: the store has it.
      const block = await waitFor(() => store.getBlock(headBefore + 1n))
      const [row] = await store.getBlockTxs(block!.height)
      expect(row.sender).toBe(dev[4].address)
      const height = block!.height.toString()

      expect((await http(`${running.url}/v1/tx/${row.hash}`)).status).toBe(404)
      expect((await http(`${running.url}/v1/blocks/${height}`)).status).toBe(404)
      const list = await http(`${running.url}/v1/blocks?from=${headBefore}&txs=none`)
      expect(list.json.blocks.map((b: { height: string }) => b.height)).toEqual([headBefore.toString()])
      expect(list.json.head).toBe(headBefore.toString())
      const mine = await http(`${running.url}/v1/accounts/${dev[4].address}/txs`)
      expect(mine.json.txs).toEqual([])

      release()
      expect((await answer).status).toBe(200)
      expect((await http(`${running.url}/v1/tx/${row.hash}`)).json.hash).toBe(row.hash)
      expect((await http(`${running.url}/v1/blocks/${height}`)).json.hash).toBe(block!.hash)
      const after = await http(`${running.url}/v1/accounts/${dev[4].address}/txs`)
      expect(after.json.txs.map((t: { hash: string }) => t.hash)).toEqual([row.hash])
    } finally {
      release()
      store.commitBlock = commitBlock
    }
  })
})
