/**
 * The demo Datanet of `npm start`: State of the Union, every president a demo account,
 * every address a signed contribution, all accepted, version 1 published and indexed; a
 * second run does nothing; `sinew verify` replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedSotu, SOTU_NAME } from '../src/datanets/seed.ts'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, runCli, startDevNode, tempDir } from './helpers.ts'

let node: RunningNode
let tmp: ReturnType<typeof tempDir>

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir)
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

describe('the State of the Union demo Datanet', () => {
  it('seeds 233 signed, accepted contributions and an indexed version 1, within 60 s', async () => {
    const t0 = Date.now()
    const phases = new Set<string>()
    const r = await seedSotu(node.node, node.datanets, { ownerKey: dev[0].privateKey, onProgress: (p) => phases.add(p.phase) })
    const seconds = (Date.now() - t0) / 1000
    console.log(`seeded the demo Datanet in ${seconds.toFixed(1)} s`)
    expect(seconds).toBeLessThan(60)
    expect(r).toMatchObject({ contributions: 233, version: 1 })
    expect([...phases]).toEqual(expect.arrayContaining(['create', 'fund', 'upload', 'contribute', 'review', 'publish', 'done']))
    const d = (await http(`${node.url}/v1/datanets/${encodeURIComponent(SOTU_NAME)}`)).json
    expect(d).toMatchObject({ counts: { contributions: 233, accepted: 233, pending: 0 }, owner: dev[0].address, latestVersion: { version: 1, build: 'ready' } })
    expect(d.contributors).toBe(43)
    const hit = (await http(`${node.url}/v1/datanets/${d.id}/versions/1/search?q=${encodeURIComponent('the sample democracy of the world')}`)).json
    expect(hit.count).toBe(1)
    expect(hit.matches[0].title).toMatch(/^1920: Woodrow Wilson/)
  }, 120_000)

  it('a second run changes nothing', async () => {
    const before = (await http(`${node.url}/v1/status`)).json.height
    await seedSotu(node.node, node.datanets, { ownerKey: dev[0].privateKey })
    expect((await http(`${node.url}/v1/status`)).json.height).toBe(before)
  }, 60_000)

  it('sinew verify replays the seed', async () => {
    await node.close()
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true })
  }, 60_000)
})
