/**
 * Datanets on a replica, over real HTTP, real SQLite files and viem signatures: the replica
 * fetches the blobs of the contributions it applies from its leader (hash checked), builds
 * the same version index and answers the same searches. Behind a leader that serves wrong
 * bytes for a while, it refuses them (nothing stored), keeps the version queued waiting for
 * its blobs (not failed, even where an earlier run recorded a missing_blob failure), and
 * builds it once the right bytes come.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, publishDatanetVersion } from './datanets-fixtures.ts'
import { dev, http, startDevNode, startReplica, tempDir, waitFor } from './helpers.ts'

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

const NOTES = [
  {
    key: 'herons',
    text: 'The lighthouse keeper counted seventeen herons standing in the cold marsh at dawn, and wrote each one down in his ledger.',
    author: dev[1].privateKey,
  },
  {
    key: 'telescope',
    text: 'Our brass telescope points north toward the quiet harbour lights every evening, when the ferry comes home late.',
    author: dev[2].privateKey,
  },
  {
    key: 'orchard',
    text: 'In the orchard behind the mill the pear trees bloomed twice that year, and the seventeen herons came back to the marsh.',
    author: dev[3].privateKey,
  },
]
const LOGBOOK = [
  { key: 'storm', text: 'A storm broke the signal mast on the ninth night; the keeper climbed it with a lantern in his teeth.', author: dev[4].privateKey },
  { key: 'fog', text: 'Fog rolled over the harbour wall so thick that the ferry bell rang for an hour before anyone saw her bow.', author: dev[5].privateKey },
]
const PHRASES = ['seventeen herons', 'brass telescope points north', 'the marsh', 'pear trees bloomed twice']

let leader: RunningNode
let replica: RunningNode
const dirs: ReturnType<typeof tempDir>[] = []
const closers: (() => Promise<void>)[] = []
let notes: { datanet: Hex; ids: Record<string, Hex> }

const status = async (node: RunningNode) => (await http(`${node.url}/v1/status`)).json
const version = async (node: RunningNode, datanet: string, n: number) => (await http(`${node.url}/v1/datanets/${datanet}/versions/${n}`)).json
const search = async (node: RunningNode, datanet: string, q: string) => http(`${node.url}/v1/datanets/${datanet}/versions/1/search?q=${encodeURIComponent(q)}`)

async function caughtUp(node: RunningNode): Promise<void> {
  const head = (await status(leader)).height
  await waitFor(
    () => status(node),
    (s) => s.height === head,
  )
}

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
  // The whole path on the leader, while the replica follows: create, contribute, accept, publish, index ready.
  notes = await publishDatanetVersion(leader.url, { owner: dev[0].privateKey, name: 'Harbour Notes', docs: NOTES })
})

afterAll(async () => {
  for (const c of closers) await c()
  for (const d of dirs) d.cleanup()
})

describe('Datanets on a replica', () => {
  it('fetches the blobs, builds the same index and answers the same searches as the leader', async () => {
    await caughtUp(replica)
    const ready = await (await datanetsClient(replica.url)).waitReady(notes.datanet, 1)
    const onLeader = await version(leader, notes.datanet, 1)
    expect(ready.build.state).toBe('ready')
    expect(ready.root).toBe(onLeader.root)
    expect(ready.build.index).toEqual(onLeader.build.index)
    expect(ready.build.index.documents).toBe(3)

    for (const q of PHRASES) {
      const [a, b] = [await search(leader, notes.datanet, q), await search(replica, notes.datanet, q)]
      expect(b.status).toBe(200)
      expect(b.json).toEqual(a.json)
      expect(b.json.count).toBeGreaterThan(0)
    }
    const herons = (await search(replica, notes.datanet, 'seventeen herons')).json
    expect(herons.count).toBe(2)
    expect(herons.matches.map((m: { contribution: string }) => m.contribution).sort()).toEqual([notes.ids.herons, notes.ids.orchard].sort())

    // The bytes themselves, and the contribution views, as on the leader.
    for (const d of NOTES) {
      const r = await fetch(`${replica.url}/v1/blobs/${sha(d.text)}`)
      expect(r.status).toBe(200)
      expect(await r.text()).toBe(d.text)
    }
    const views = (await http(`${replica.url}/v1/datanets/${notes.datanet}/contributions`)).json.contributions
    expect(views.map((c: { blob: string; records: number }) => [c.blob, c.records])).toEqual([
      ['present', 1],
      ['present', 1],
      ['present', 1],
    ])

    const s = await waitFor(
      () => status(replica),
      (x) => x.replica.blobs.pending === 0,
    )
    expect(s.replica.halted).toBeNull()
    expect(s.replica.blobs).toMatchObject({ source: leader.url, pending: 0, fetching: 0, failed: 0, fetched: 3, refused: 0, failures: [] })
    expect((await status(leader)).replica).toBeUndefined()
  })

  it('refuses wrong bytes, waits for the blobs instead of failing the build, and builds once the right bytes come', async () => {
    const logbook = await publishDatanetVersion(leader.url, { owner: dev[0].privateKey, name: 'Keeper Logbook', docs: LOGBOOK })

    // A leader that serves the chain faithfully but, while `lying`, wrong bytes for every blob.
    let lying = true
    const blobRequests = new Map<string, number>()
    const proxy: Server = createServer(async (req, res) => {
      const blob = /^\/v1\/blobs\/([0-9a-f]{64})$/.exec(req.url ?? '')?.[1]
      if (blob) blobRequests.set(blob, (blobRequests.get(blob) ?? 0) + 1)
      if (blob && lying) return res.end(`not the bytes of ${blob}`)
      const upstream = await fetch(leader.url + req.url!)
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' })
      res.end(Buffer.from(await upstream.arrayBuffer()))
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()))
    closers.unshift(() => new Promise((r) => proxy.close(() => r())))
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`

    // As if an earlier run of this replica had failed version 1 of Harbour Notes with missing_blob.
    const d3 = tempDir()
    dirs.push(d3)
    const earlier = join(d3.dir, 'indexes', notes.datanet, '1')
    mkdirSync(earlier, { recursive: true })
    writeFileSync(
      join(earlier, 'status.json'),
      JSON.stringify({ state: 'failed', attempts: 1, error: { code: 'missing_blob', message: '3 contribution(s) have no blob on this node' } }),
    )

    const second = await startReplica(d3.dir, proxyUrl)
    closers.unshift(() => second.close())
    await caughtUp(second)

    // Every blob asked for and refused at least once; the versions wait, queued, for their blobs.
    const all = [...NOTES, ...LOGBOOK].map((d) => sha(d.text))
    const lied = await waitFor(
      () => status(second),
      (s) => all.every((h) => (blobRequests.get(h) ?? 0) >= 1) && s.replica.blobs.failed === all.length,
    )
    expect(lied.replica.blobs).toMatchObject({ pending: 5, failed: 5, fetched: 0 })
    expect(lied.replica.blobs.refused).toBeGreaterThanOrEqual(5)
    expect(lied.replica.blobs.failures.map((f: { error: { code: string } }) => f.error.code)).toEqual(Array(5).fill('hash_mismatch'))
    for (const h of all) expect((await fetch(`${second.url}/v1/blobs/${h}`)).status).toBe(404)
    // The builder looks at its queue every 200 ms: the earlier failure goes back to waiting there.
    const waitingNotes = await waitFor(
      () => version(second, notes.datanet, 1),
      (v) => v.build.phase === 'blobs',
    )
    const waitingLogbook = await waitFor(
      () => version(second, logbook.datanet, 1),
      (v) => v.build.phase === 'blobs',
    )
    expect(waitingNotes.build).toMatchObject({ state: 'queued', phase: 'blobs', done: 0, total: 3, attempts: 1 })
    expect(waitingLogbook.build).toMatchObject({ state: 'queued', phase: 'blobs', done: 0, total: 2, attempts: 0 })
    const early = await search(second, logbook.datanet, 'signal mast')
    expect(early.status).toBe(409)
    expect(early.json.error.code).toBe('index_not_ready')

    lying = false
    const client = await datanetsClient(second.url)
    const readyNotes = await client.waitReady(notes.datanet, 1)
    const readyLogbook = await client.waitReady(logbook.datanet, 1)
    expect(readyNotes.build).toMatchObject({ state: 'ready', attempts: 2 })
    expect(readyLogbook.build).toMatchObject({ state: 'ready', attempts: 1 })
    expect(readyLogbook.build.index).toEqual((await version(leader, logbook.datanet, 1)).build.index)
    for (const q of ['signal mast', 'ferry bell rang']) {
      const [a, b] = [await search(leader, logbook.datanet, q), await search(second, logbook.datanet, q)]
      expect(b.json).toEqual(a.json)
      expect(b.json.matches[0].contribution).toBe(logbook.ids[q === 'signal mast' ? 'storm' : 'fog'])
    }
    for (const q of PHRASES) expect((await search(second, notes.datanet, q)).json).toEqual((await search(leader, notes.datanet, q)).json)
    const done = await waitFor(
      () => status(second),
      (x) => x.replica.blobs.pending === 0,
    )
    expect(done.replica.blobs).toMatchObject({ pending: 0, failed: 0, fetched: 5, failures: [] })
  })
})
