/**
 * The demo Datanet of `npm start`: State of the Union, every president a demo account,
 * every address a signed contribution, all accepted, version 1 published and indexed; a
 * second run does nothing; the demo model `sotu-infinigram` over version 1 answers with a
 * receipt crediting presidents; `sinew verify` replays it all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_MODEL, DEV_API_KEY, setupDemoModel } from '../src/cli/commands/model.ts'
import { demoAccounts, loadSotu, seedSotu, SOTU_NAME } from '../src/datanets/index.ts'
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

/** The first seed run, once, on first use (the first test checks it; the others need it, so each also runs alone). */
let firstSeed: Promise<{ r: Awaited<ReturnType<typeof seedSotu>>; phases: Set<string> }> | undefined
const seeded = () =>
  (firstSeed ??= (async () => {
    const phases = new Set<string>()
    const t0 = performance.now()
    const r = await seedSotu(node.node, node.datanets, { ownerKey: dev[0].privateKey, onProgress: (p) => phases.add(p.phase) })
    console.log(`seeded the demo Datanet in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    return { r, phases }
  })())

describe('the State of the Union demo Datanet', () => {
  // How long it took is printed, not asserted: a timed assertion fails on a busy machine, not on slow code.
  it('seeds 233 signed, accepted contributions and an indexed version 1', async () => {
    const { r, phases } = await seeded()
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
    await seeded()
    const before = (await http(`${node.url}/v1/status`)).json.height
    await seedSotu(node.node, node.datanets, { ownerKey: dev[0].privateKey })
    expect((await http(`${node.url}/v1/status`)).json.height).toBe(before)
  }, 60_000)

  it('the demo model answers over version 1 with a receipt crediting presidents', async () => {
    await seeded()
    const d = (await http(`${node.url}/v1/datanets/${encodeURIComponent(SOTU_NAME)}`)).json
    const setup = await setupDemoModel(node.url)
    expect(setup).toEqual({ ok: true, ref: `${d.id}@1`, build: 'ready' })
    // Idempotent: a restart's second setup signs nothing.
    const height = (await http(`${node.url}/v1/status`)).json.height
    expect(await setupDemoModel(node.url)).toEqual(setup)
    expect((await http(`${node.url}/v1/status`)).json.height).toBe(height)
    const model = (await http(`${node.url}/v1/registry/models`)).json.models.find((m: any) => m.name === DEMO_MODEL)
    expect(model).toMatchObject({ owner: dev[1].address, datanets: [`${d.id}@1`], active: true })

    const presidents = new Set(demoAccounts(await loadSotu()).map((a) => a.address))
    const res = await http(`${node.url}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${DEV_API_KEY}` },
      body: { model: DEMO_MODEL, messages: [{ role: 'user', content: 'The state of the Union is' }], max_tokens: 40, seed: 7 }, // seeded: the same answer every run
    })
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    expect(res.json.choices[0].message.content.length).toBeGreaterThan(0)
    const r = (await http(`${node.url}/v1/receipts/${res.json.sinew.receipt}`)).json
    expect(r.coverageBps).toBeGreaterThan(0)
    expect(r.split.contributors.length).toBeGreaterThan(0)
    for (const w of r.weights) {
      expect(w.datanet).toBe(`${d.id}@1`)
      const c = (await http(`${node.url}/v1/contributions/${w.contribution}`)).json
      expect(c).toMatchObject({ datanet: d.id, status: 'accepted', author: w.author })
      expect(presidents.has(w.author)).toBe(true)
    }
    for (const c of r.split.contributors) expect(presidents.has(c.author)).toBe(true)
    const earned = (await http(`${node.url}/v1/accounts/${r.split.contributors[0].author}/earnings`)).json
    expect(BigInt(earned.total)).toBeGreaterThan(0n)
  }, 60_000)

  it('sinew verify replays the seed', async () => {
    await seeded()
    await node.close()
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true })
  }, 60_000)
})
