/**
 * One bad contribution must not break a Datanet forever (issue #11, item 4). Contributions
 * whose bytes cannot be ingested reach the ledger anyway (the ledger cannot see blobs: here
 * they are handed straight to the sequencer, as a node that does not check them would):
 * one unparseable, one whose blob is smaller than it declares, one whose blob nobody
 * uploaded. The review queue shows each one's blob state; a curator accepts them all; the
 * version that holds them builds without the two bad ones (listed in its build report,
 * credited nothing) and waits for the missing blob instead of failing; the owner excludes
 * the missing one (ExcludeContribution) and publishes a version that builds; a replica
 * builds the same index with the same report; uploading the missing blob lets the waiting
 * version build; `sinew verify` replays it all. And a Contribute sent to POST /v1/tx without
 * its blob is refused by the node's admission before it reaches the ledger.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, submitPastAdmission, type DatanetsClient, type SignedEnvelope } from './datanets-fixtures.ts'
import { dev, http, runCli, startDevNode, startReplica, tempDir, waitFor } from './helpers.ts'

const SIN = 10n ** 18n
const sha = (b: Buffer | string) => `0x${createHash('sha256').update(b).digest('hex')}` as Hex

const GOOD = 'The harbour master logged eleven trawlers coming home before the storm, and rang the bell for the last one at dusk.'
// Valid JSON on its first line (its text would be credited if it were ingested), then a broken line.
const BROKEN_JSONL = '{"text": "Seven grey seals slept on the slipway while the tide went out past the lighthouse rocks."}\n{oops\n'
const SHORT = 'A lantern swung over the quay all night, and nobody on the boats could say who had lit it there.'
const MISSING = 'This text is on the ledger as a hash only: its bytes reach the node late.'

let leader: RunningNode
let replica: RunningNode
let client: DatanetsClient
const dirs: ReturnType<typeof tempDir>[] = []
const owner = dev[0]
let datanet: Hex
const ids: Record<string, Hex> = {}
const envelopes: Record<string, SignedEnvelope> = {}

const version = async (node: RunningNode, n: number) => (await http(`${node.url}/v1/datanets/${datanet}/versions/${n}`)).json
const search = async (node: RunningNode, n: number, q: string) =>
  (await http(`${node.url}/v1/datanets/${datanet}/versions/${n}/search?q=${encodeURIComponent(q)}`)).json

beforeAll(async () => {
  const a = tempDir()
  const b = tempDir()
  dirs.push(a, b)
  leader = await startDevNode(a.dir)
  replica = await startReplica(b.dir, leader.url)
  client = await datanetsClient(leader.url)
  const created = await client.submit(owner.privateKey, 'CreateDatanet', {
    name: 'Harbour Log',
    description: 'what the harbour saw',
    license: 'CC0-1.0',
    mediaTypes: ['text/plain', 'application/jsonl'],
    maxSize: '100000',
    stake: SIN.toString(),
  })
  expect(created.status).toBe(200)
  datanet = created.json.receipt.result.datanet
})

afterAll(async () => {
  await replica?.close()
  await leader?.close()
  for (const d of dirs) d.cleanup()
})

describe('bad contributions on the ledger', () => {
  it('the review queue shows each blob state: present, unparseable, size mismatch, missing', async () => {
    const good = await client.contribute(dev[1].privateKey, datanet, GOOD, 'good', 'text/plain')
    expect(good.status).toBe(200)
    ids.good = good.json.contribution
    // The bad ones: their bytes go into the blob store directly, their txs straight to the sequencer.
    await leader.datanets.blobs.put(Buffer.from(BROKEN_JSONL))
    await leader.datanets.blobs.put(Buffer.from(SHORT))
    const bad = [
      ['broken', dev[2], sha(BROKEN_JSONL), 'application/jsonl', Buffer.byteLength(BROKEN_JSONL)],
      ['short', dev[3], sha(SHORT), 'text/plain', Buffer.byteLength(SHORT) + 7],
      ['missing', dev[4], sha(MISSING), 'text/plain', Buffer.byteLength(MISSING)],
    ] as const
    for (const [key, who, contentHash, mediaType, size] of bad) {
      envelopes[key] = await client.sign(who.privateKey, 'Contribute', { datanet, contentHash, title: key, mediaType, size: String(size) })
      ids[key] = await submitPastAdmission(leader, envelopes[key])
    }
    const queue = (await http(`${leader.url}/v1/datanets/${datanet}/queue`)).json
    const byId = Object.fromEntries(queue.contributions.map((c: any) => [c.id, c]))
    expect(queue.total).toBe(4)
    expect(byId[ids.good]).toMatchObject({ blob: 'present', blobSize: Buffer.byteLength(GOOD), records: 1 })
    expect(byId[ids.broken]).toMatchObject({ blob: 'unparseable', records: null, ingestError: { code: 'unparseable_content' } })
    expect(byId[ids.broken].ingestError.message).toContain('line 2')
    expect(byId[ids.short]).toMatchObject({ blob: 'size_mismatch', blobSize: Buffer.byteLength(SHORT), size: String(Buffer.byteLength(SHORT) + 7) })
    expect(byId[ids.missing]).toMatchObject({ blob: 'missing', blobSize: null, records: null })
  })

  it('accepted, they do not break the version: the bad ones are skipped and reported, the missing blob is waited for', async () => {
    for (const key of ['good', 'broken', 'short', 'missing']) {
      expect((await client.submit(owner.privateKey, 'Review', { contribution: ids[key], accept: true, reason: '' })).status).toBe(200)
    }
    expect((await client.submit(owner.privateKey, 'PublishVersion', { datanet })).status).toBe(200)
    // Version 1 waits for the blob nobody uploaded: neither built nor failed.
    const v1 = await waitFor(
      () => version(leader, 1),
      (v) => v.build.phase === 'blobs',
    )
    expect(v1.build).toMatchObject({ state: 'queued', phase: 'blobs', done: 3, total: 4, attempts: 0 })
    expect(v1.build.waitingFor).toEqual([ids.missing])
  })

  it('the owner excludes the contribution with no blob; the next version builds without it and without the bad ones', async () => {
    const notOwner = await client.submit(dev[1].privateKey, 'ExcludeContribution', { datanet, contribution: ids.missing, reason: 'no bytes' })
    expect(notOwner.json.error).toMatchObject({ code: 'not_owner', details: { field: 'signature' } })
    const ex = await client.submit(owner.privateKey, 'ExcludeContribution', { datanet, contribution: ids.missing, reason: 'its bytes were never uploaded' })
    expect(ex.status).toBe(200)
    expect(ex.json.receipt.result).toMatchObject({ contribution: ids.missing, datanet })
    const again = await client.submit(owner.privateKey, 'ExcludeContribution', { datanet, contribution: ids.missing, reason: 'twice' })
    expect(again.json.error).toMatchObject({ code: 'already_excluded', details: { field: 'message.contribution' } })
    const c = (await http(`${leader.url}/v1/contributions/${ids.missing}`)).json
    expect(c).toMatchObject({ status: 'accepted', excluded: { by: owner.address.toLowerCase(), reason: 'its bytes were never uploaded' } })

    const published = await client.submit(owner.privateKey, 'PublishVersion', { datanet })
    expect(published.status).toBe(200)
    expect(published.json.receipt.result).toMatchObject({ version: 2, contributions: 4, excluded: 1 })
    const v2 = await client.waitReady(datanet, 2)
    expect(v2.excluded).toEqual([ids.missing])
    expect(v2.build.state).toBe('ready')
    expect(v2.build.index.documents).toBe(1)
    expect(v2.build.report).toEqual({
      documents: 1,
      excluded: [ids.missing],
      skipped: [
        { contribution: ids.broken, code: 'unparseable_content', message: expect.stringContaining('line 2') },
        { contribution: ids.short, code: 'size_mismatch', message: expect.stringContaining(`${Buffer.byteLength(SHORT)} bytes`) },
      ],
    })
    // Credited nothing: the skipped texts are not in the index.
    expect((await search(leader, 2, 'eleven trawlers coming home')).count).toBe(1)
    expect((await search(leader, 2, 'grey seals slept on the slipway')).count).toBe(0)
    expect((await search(leader, 2, 'lantern swung over the quay')).count).toBe(0)
    const trace = leader.datanets.index(leader.datanets.resolve(datanet), 2).trace(`${GOOD} ${SHORT}`, { minSpanTokens: 4 })
    expect(new Set(trace.spans.map((s: { creditedTo: string }) => s.creditedTo))).toEqual(new Set([ids.good]))
    // Nothing changed: publishing again is refused.
    expect((await client.submit(owner.privateKey, 'PublishVersion', { datanet })).json.error.code).toBe('version_unchanged')
  })

  it('a replica builds the same index with the same report', async () => {
    const head = (await http(`${leader.url}/v1/status`)).json.height
    await waitFor(
      async () => (await http(`${replica.url}/v1/status`)).json.height,
      (h) => h === head,
    )
    const mine = await version(leader, 2)
    const theirs = await waitFor(
      () => version(replica, 2),
      (v) => v.build.state === 'ready' || v.build.state === 'failed',
    )
    expect(theirs.build.state).toBe('ready')
    expect(theirs.build.index.indexId).toBe(mine.build.index.indexId)
    expect(theirs.build.report).toEqual(mine.build.report)
  })

  it('once the missing blob is uploaded (its committed Contribute authorises it), the waiting version builds', async () => {
    const anonymous = await client.upload(MISSING)
    expect(anonymous.status).toBe(401)
    const up = await client.upload(MISSING, '', envelopes.missing)
    expect(up.status).toBe(201)
    const v1 = await client.waitReady(datanet, 1)
    expect(v1.build.state).toBe('ready')
    expect(v1.build.report).toMatchObject({ documents: 2, excluded: [] })
    expect(v1.build.report.skipped.map((s: { contribution: string }) => s.contribution)).toEqual([ids.broken, ids.short])
    expect((await search(leader, 1, 'bytes reach the node late')).count).toBe(1)
  })

  it('a Contribute sent straight to POST /v1/tx without its blob is refused before the ledger', async () => {
    const before = (await http(`${leader.url}/v1/status`)).json.height
    const r = await client.submit(dev[5].privateKey, 'Contribute', {
      datanet,
      contentHash: sha('never uploaded anywhere'),
      title: 'ghost',
      mediaType: 'text/plain',
      size: '23',
    })
    expect(r.status).toBe(404)
    expect(r.json.error).toMatchObject({ code: 'blob_not_found', details: { field: 'message.contentHash' } })
    expect((await http(`${leader.url}/v1/status`)).json.height).toBe(before)
  })

  it('sinew verify replays the exclusions and versions', async () => {
    await replica.close()
    await leader.close()
    const r = await runCli(['verify', '--data-dir', dirs[0].dir, '--json'])
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout).ok).toBe(true)
  })
})
