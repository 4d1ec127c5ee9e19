/**
 * `sinew store copy` between a data dir (SQLite) and PostgreSQL, both ways: `sinew verify`
 * gives the same head hash and state root on the original and on each copy, the blobs come
 * across byte for byte (and a node on the copy serves them), and a non-empty target is refused.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { publishDatanetVersion } from './datanets-fixtures.ts'
import { dev, http, runCli, signTransfer, startDevNode, tempDir } from './helpers.ts'
import { freshPgDatabase } from './pg.ts'

const tmp = tempDir('sinew-store-copy-')
afterAll(() => tmp.cleanup())

async function verify(args: string[]): Promise<{ headHash: string; stateRoot: string; blocks: number; txs: number }> {
  const r = await runCli(['verify', '--json', ...args])
  expect(r.code, r.stderr).toBe(0)
  const report = JSON.parse(r.stdout)
  expect(report.ok).toBe(true)
  return { headHash: report.headHash, stateRoot: report.stateRoot, blocks: report.blocks, txs: report.txs }
}

describe('sinew store copy', () => {
  it('copies a data dir to PostgreSQL and back losslessly, and refuses a non-empty target', { timeout: 240_000 }, async () => {
    const original = join(tmp.dir, 'original')
    const node = await startDevNode(original, { store: 'sqlite' })
    const texts = ['copied tales of the north', 'copied tales of the south']
    try {
      for (let nonce = 0n; nonce < 3n; nonce++) {
        const r = await http(`${node.url}/v1/tx`, { body: await signTransfer(dev[1].privateKey, { to: dev[7].address, amount: 11n + nonce, nonce }) })
        expect(r.status).toBe(200)
      }
      await publishDatanetVersion(node.url, {
        owner: dev[3].privateKey,
        name: 'Copied Tales',
        docs: texts.map((text, i) => ({ key: `tale-${i}`, text, author: dev[4].privateKey })),
      })
    } finally {
      await node.close()
    }
    const want = await verify(['--data-dir', original])
    expect(want.txs).toBeGreaterThan(3)

    const pgUrl = await freshPgDatabase()
    const toPg = await runCli(['store', 'copy', '--from', original, '--to', pgUrl, '--json'])
    expect(toPg.code, toPg.stderr).toBe(0)
    const copied = JSON.parse(toPg.stdout)
    expect(copied).toMatchObject({ blocks: want.blocks, txs: want.txs, blobs: 2, headHash: want.headHash })
    expect(toPg.stderr).toMatch(/copy: blocks/) // progress
    expect(await verify(['--store', pgUrl])).toEqual(want)

    // Onto a target that holds a chain: refused, and nothing changes.
    const again = await runCli(['store', 'copy', '--from', original, '--to', pgUrl, '--json'])
    expect(again.code).not.toBe(0)
    expect(JSON.parse(again.stdout || again.stderr).error.code).toBe('store_not_empty')
    expect(await verify(['--store', pgUrl])).toEqual(want)
    const intoOriginal = await runCli(['store', 'copy', '--from', pgUrl, '--to', original, '--json'])
    expect(JSON.parse(intoOriginal.stdout || intoOriginal.stderr).error.code).toBe('store_not_empty')

    // And back into a fresh data dir.
    const back = join(tmp.dir, 'back')
    const toDir = await runCli(['store', 'copy', '--from', pgUrl, '--to', back, '--json'])
    expect(toDir.code, toDir.stderr).toBe(0)
    expect(existsSync(join(back, 'genesis.json'))).toBe(true)
    expect(await verify(['--data-dir', back])).toEqual(want)

    // Nodes on both copies serve the blobs, byte for byte.
    for (const [dir, store] of [
      [join(tmp.dir, 'on-pg'), pgUrl],
      [back, 'sqlite'],
    ]) {
      const copy = await startDevNode(dir, { store })
      try {
        expect((await http(`${copy.url}/v1/status`)).json.height).toBe(String(want.blocks - 1))
        for (const text of texts) {
          const sha = createHash('sha256').update(text).digest('hex')
          const blob = await fetch(`${copy.url}/v1/blobs/${sha}`)
          expect(blob.status).toBe(200)
          expect(await blob.text()).toBe(text)
        }
      } finally {
        await copy.close()
      }
    }
  })
})
