/**
 * Attacks on a public node's blob store (issue #11, item 6), each against a real node over
 * real HTTP: garbage collection cannot be defeated by txs that never commit or by free
 * re-uploads; one SIN passed from account to account cannot lock honest uploaders out;
 * quotas count files, not only bytes; a hostile PDF ties the extraction worker up once, not
 * once per request, and a stranger's tx is refused before any blob is read. A blob's age is
 * its file's mtime, set back here to stand for a blob stored days ago (no sleeps).
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, constants, openSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { Hex } from '../src/core/index.ts'
import { makePdf } from '../src/datanets/fixtures.ts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, permitHeader, submitPastAdmission, type DatanetsClient } from './datanets-fixtures.ts'
import { dev, http, startDevNode, tempDir, waitFor } from './helpers.ts'

const SIN = 10n ** 18n
const GRACE = 3_600_000
/** What a blob counts in a quota at least (BLOB_MIN_CHARGE_BYTES). */
const MIN_CHARGE = 4096
const PDF = 'application/pdf'
const sha = (b: string | Buffer) => `0x${createHash('sha256').update(b).digest('hex')}` as Hex
const charge = (b: string | Buffer) => Math.max(MIN_CHARGE, Buffer.byteLength(b))

type Harness = { node: RunningNode; client: DatanetsClient; cleanup(): Promise<void> }
async function harness(overrides: Record<string, unknown>): Promise<Harness> {
  const tmp = tempDir()
  const node = await startDevNode(tmp.dir, { blobGcIntervalMs: 0, blobGcGraceMs: GRACE, ...overrides })
  return {
    node,
    client: await datanetsClient(node.url),
    cleanup: async () => {
      await node.close()
      tmp.cleanup()
    },
  }
}

async function createDatanet(h: Harness, name: string, stake: bigint, mediaTypes = ['text/plain']): Promise<Hex> {
  const r = await h.client.submit(dev[0].privateKey, 'CreateDatanet', {
    name,
    description: '',
    license: 'CC0-1.0',
    mediaTypes,
    maxSize: '1000000',
    stake: stake.toString(),
  })
  expect(r.status).toBe(200)
  return r.json.receipt.result.datanet
}

const contributeTx = (
  h: Harness,
  key: Hex,
  datanet: Hex,
  content: string | Buffer,
  title = 'blob',
  mediaType = 'text/plain',
  extra: Record<string, unknown> = {},
) => h.client.sign(key, 'Contribute', { datanet, contentHash: sha(content), title, mediaType, size: String(Buffer.byteLength(content)), ...extra })
const stored = async (h: Harness, content: string | Buffer) => (await fetch(`${h.node.url}/v1/blobs/${sha(content).slice(2)}`)).status === 200
/** As if stored two grace periods ago. */
const age = (h: Harness, content: string | Buffer) => {
  const past = (Date.now() - 2 * GRACE) / 1000
  utimesSync(h.node.datanets.blobs.path(sha(content).slice(2)), past, past)
}
const usage = async (h: Harness, account: string) => (await http(`${h.node.url}/v1/blobs/policy?account=${account}`)).json.usage

describe('garbage collection cannot be defeated', () => {
  let h: Harness
  let staked: Hex
  beforeAll(async () => {
    h = await harness({})
    staked = await createDatanet(h, 'Staked', SIN)
  })
  afterAll(() => h?.cleanup())

  it('a tx naming an old unreferenced blob that the ledger refuses (an unfunded stranger) does not keep it', async () => {
    const text = 'bytes whose Contribute was never sent'
    expect((await h.client.upload(text, '', await contributeTx(h, dev[1].privateKey, staked, text))).status).toBe(201)
    age(h, text)
    const stranger = await h.client.submit(generatePrivateKey(), 'Contribute', {
      datanet: staked,
      contentHash: sha(text),
      title: 'not mine',
      mediaType: 'text/plain',
      size: String(Buffer.byteLength(text)),
    })
    expect(stranger.status).toBe(422)
    expect(stranger.json.error).toMatchObject({ code: 'insufficient_balance', details: { field: 'stake' } })
    await h.node.datanets.collectGarbage()
    expect(await stored(h, text)).toBe(false)
  })

  it('re-uploading an unreferenced blob costs quota and needs its bytes; then its grace period starts again', async () => {
    const text = 'bytes uploaded, left, and uploaded again'
    const first = await contributeTx(h, dev[2].privateKey, staked, text)
    expect((await h.client.upload(text, '', first)).status).toBe(201)
    age(h, text)
    const before = (await usage(h, dev[2].address)).usedBytes
    const again = await contributeTx(h, dev[2].privateKey, staked, text, 'a fresh permit')
    // A fresh permit alone no longer renews a blob: the bytes must come again.
    const empty = await fetch(`${h.node.url}/v1/blobs`, {
      method: 'PUT',
      headers: { ...permitHeader(again), 'content-type': 'application/octet-stream' },
      body: '',
    })
    expect(empty.status).toBe(400)
    expect(((await empty.json()) as any).error.code).toBe('size_mismatch')
    const paid = await h.client.upload(text, '', again)
    expect(paid.status).toBe(200)
    expect(paid.json).toMatchObject({ created: false, contentHash: sha(text) })
    expect((await usage(h, dev[2].address)).usedBytes).toBe(before + charge(text))
    await h.node.datanets.collectGarbage()
    expect(await stored(h, text)).toBe(true)
  })
})

describe('a blob named by a tx waiting in the sequencer', () => {
  let h: Harness
  let datanet: Hex
  beforeAll(async () => {
    h = await harness({ blockIntervalMs: 1500 })
    datanet = await createDatanet(h, 'Slow Blocks', 0n)
  })
  afterAll(() => h?.cleanup())

  it('is kept while the tx waits, and its age is still that of its upload once the ledger lets it go', async () => {
    const text = 'contributed while a block was being cut'
    const tx = await contributeTx(h, dev[3].privateKey, datanet, text)
    expect((await h.client.upload(text, '', tx)).status).toBe(201)
    age(h, text)
    const committed = http(`${h.node.url}/v1/tx`, { body: tx })
    await waitFor(
      async () => h.node.node.sequencer!.pending,
      (n) => n > 0,
    )
    await h.node.datanets.collectGarbage()
    expect(await stored(h, text)).toBe(true)
    const ack = await committed
    expect(ack.status).toBe(200)
    const rejected = await h.client.submit(dev[0].privateKey, 'Review', { contribution: ack.json.receipt.result.contribution, accept: false, reason: 'spam' })
    expect(rejected.status).toBe(200)
    await h.node.datanets.collectGarbage()
    expect(await stored(h, text)).toBe(false)
  })
})

describe('one SIN passed from account to account', () => {
  const NODE_QUOTA = 40_000
  let h: Harness
  let datanet: Hex
  beforeAll(async () => {
    h = await harness({ blobNodeQuotaBytes: NODE_QUOTA, blobQuotaBytes: 1024 * 1024 })
    datanet = await createDatanet(h, 'Relay', 0n)
  })
  afterAll(() => h?.cleanup())

  it('cannot lock honest uploaders out: the blobs it backed leave with it', async () => {
    const relay = Array.from({ length: 5 }, () => generatePrivateKey())
    expect((await h.client.submit(dev[6].privateKey, 'Transfer', { to: privateKeyToAccount(relay[0]).address, amount: SIN.toString() })).status).toBe(200)
    const uploaded: Buffer[] = []
    for (let i = 0; i < relay.length; i++) {
      for (const n of [0, 1]) {
        const blob = Buffer.alloc(4000, `relay ${i} blob ${n} `)
        // Permits with nonces after the Transfer's, so that sending the SIN on leaves them unused (not stale).
        const up = await h.client.upload(blob, '', await contributeTx(h, relay[i], datanet, blob, 'blob', 'text/plain', { nonce: String(1 + n) }))
        expect(up.status).toBe(201)
        uploaded.push(blob)
      }
      // Never contributed: the SIN moves on to the next fresh account.
      const next = privateKeyToAccount(relay[(i + 1) % relay.length]).address
      expect((await h.client.submit(relay[i], 'Transfer', { to: next, amount: SIN.toString() })).status).toBe(200)
    }
    // What the first accounts uploaded went with the SIN they no longer hold.
    await waitFor(
      async () => stored(h, uploaded[0]),
      (s) => s === false,
    )
    const honest = 'an honest upload after the relay'
    const tx = await contributeTx(h, dev[7].privateKey, datanet, honest)
    expect((await h.client.upload(honest, '', tx)).status).toBe(201)
    expect((await http(`${h.node.url}/v1/datanets/${datanet}/contributions`, { body: tx })).status).toBe(200)
  })
})

describe('quotas count files', () => {
  let h: Harness
  let datanet: Hex
  beforeAll(async () => {
    h = await harness({ blobQuotaBytes: 16 * MIN_CHARGE })
    datanet = await createDatanet(h, 'Tiny Files', 0n)
  })
  afterAll(() => h?.cleanup())

  it('every blob counts at least the minimum charge: a flood of tiny files meets the byte quota', async () => {
    for (let i = 0; i < 16; i++) {
      const tiny = `tiny ${i}`
      expect((await h.client.upload(tiny, '', await contributeTx(h, dev[1].privateKey, datanet, tiny, `t${i}`))).status).toBe(201)
    }
    const over = await h.client.upload('tiny 16', '', await contributeTx(h, dev[1].privateKey, datanet, 'tiny 16'))
    expect(over.status).toBe(429)
    expect(over.json.error).toMatchObject({ code: 'blob_quota_exceeded', details: { quota: 'account', usedBytes: 16 * MIN_CHARGE } })
  })
})

describe('the extraction worker', () => {
  let h: Harness
  let free: Hex
  let staked: Hex
  const pdf = makePdf(['a PDF that this node never manages to read in time'])
  beforeAll(async () => {
    h = await harness({ ingestTimeoutMs: 1 })
    free = await createDatanet(h, 'Free PDFs', 0n, [PDF])
    staked = await createDatanet(h, 'Staked PDFs', SIN, [PDF])
    expect((await h.client.upload(pdf, '', await contributeTx(h, dev[1].privateKey, free, pdf, 'slow', PDF))).status).toBe(201)
  })
  afterAll(() => h?.cleanup())

  it("a stranger's Contribute is refused on the ledger's terms before its blob is read", async () => {
    const jobs = h.node.datanets.extraction().admission.jobs
    const r = await h.client.submit(generatePrivateKey(), 'Contribute', {
      datanet: staked,
      contentHash: sha(pdf),
      title: 'x',
      mediaType: PDF,
      size: String(pdf.length),
    })
    expect(r.json.error).toMatchObject({ code: 'insufficient_balance' })
    expect(h.node.datanets.extraction().admission.jobs).toBe(jobs)
  })

  it('one hostile file holds the worker once: concurrent admissions share the extraction, later ones get its cached outcome', async () => {
    const jobs = h.node.datanets.extraction().admission.jobs
    const tx = (key: Hex) =>
      h.client.sign(key, 'Contribute', { datanet: free, contentHash: sha(pdf), title: 'again', mediaType: PDF, size: String(pdf.length) })
    const together = await Promise.all([dev[2], dev[3]].map(async (a) => http(`${h.node.url}/v1/tx`, { body: await tx(a.privateKey) })))
    const later = await http(`${h.node.url}/v1/tx`, { body: await tx(dev[4].privateKey) })
    for (const r of [...together, later]) expect([r.status, r.json.error.code]).toEqual([503, 'ingest_timeout'])
    expect(h.node.datanets.extraction().admission.jobs).toBe(jobs + 1)
  })

  it('a build that ran out of time here fails to be retried by itself: the contribution is never recorded as skipped', async () => {
    // Past admission, as a node with more time would have taken it.
    const contribution = await submitPastAdmission(h.node, await contributeTx(h, dev[5].privateKey, free, pdf, 'slow here', PDF))
    const { receipt } = (await http(`${h.node.url}/v1/tx/${contribution}`)).json
    expect((await h.client.submit(dev[0].privateKey, 'Review', { contribution: receipt.result.contribution, accept: true, reason: '' })).status).toBe(200)
    expect((await h.client.submit(dev[0].privateKey, 'PublishVersion', { datanet: free })).status).toBe(200)
    const first = await waitFor(
      async () => (await http(`${h.node.url}/v1/datanets/${free}/versions/1`)).json.build,
      (b) => b.state === 'failed',
    )
    expect(first).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'ingest_timeout' } })
    expect(first.report).toBeUndefined()
    expect(Date.parse(first.retryAt)).toBeGreaterThan(Date.parse(first.finishedAt))
    // Tried again by itself once retryAt passes, and again it fails rather than skip.
    const second = await waitFor(
      async () => (await http(`${h.node.url}/v1/datanets/${free}/versions/1`)).json.build,
      (b) => b.attempts >= 2 && b.state === 'failed',
    )
    expect(second).toMatchObject({ error: { code: 'ingest_timeout' } })
    expect(Date.parse(second.retryAt) - Date.parse(second.finishedAt)).toBeGreaterThan(Date.parse(first.retryAt) - Date.parse(first.finishedAt))
  })
})

describe('quotas count blobs', () => {
  let h: Harness
  let datanet: Hex
  beforeAll(async () => {
    h = await harness({ blobQuotaBlobs: 3 })
    datanet = await createDatanet(h, 'Many Files', 0n)
  })
  afterAll(() => h?.cleanup())

  it('an account uploads at most blobQuotaBlobs blobs per window, whatever their size', async () => {
    for (let i = 0; i < 3; i++) {
      const small = `small ${i}`
      expect((await h.client.upload(small, '', await contributeTx(h, dev[2].privateKey, datanet, small, `s${i}`))).status).toBe(201)
    }
    const over = await h.client.upload('small 3', '', await contributeTx(h, dev[2].privateKey, datanet, 'small 3'))
    expect(over.status).toBe(429)
    expect(over.json.error).toMatchObject({
      code: 'blob_quota_exceeded',
      details: { quota: 'account_blobs', setting: 'blobQuotaBlobs', usedBlobs: 3, limitBlobs: 3 },
    })
    expect(await stored(h, 'small 3')).toBe(false)
  })
})

describe('index builds run in lanes', () => {
  let h: Harness
  beforeAll(async () => {
    h = await harness({ buildLanes: 2 })
  })
  afterAll(() => h?.cleanup())

  /** Creates a Datanet with one accepted contribution of `text`; the contribution's id. */
  async function datanetWith(name: string, text: string): Promise<{ datanet: Hex; contribution: Hex }> {
    const datanet = await createDatanet(h, name, 0n)
    const r = await h.client.contribute(dev[1].privateKey, datanet, text, name, 'text/plain')
    expect(r.status).toBe(200)
    const contribution = r.json.receipt.result.contribution as Hex
    expect((await h.client.submit(dev[0].privateKey, 'Review', { contribution, accept: true, reason: '' })).status).toBe(200)
    return { datanet, contribution }
  }
  const build = async (datanet: Hex) => (await http(`${h.node.url}/v1/datanets/${datanet}/versions/1`)).json.build

  it("a Datanet whose document never finishes reading holds one lane, not the other Datanets' builds", async () => {
    const text = 'a document this node cannot finish reading'
    const slow = await datanetWith('Stuck', text)
    // Its blob becomes a FIFO: reading it blocks until bytes are written into it, as a hostile
    // file holds an extraction up to its time budget (deterministic, no timing).
    const path = h.node.datanets.blobs.path(sha(text).slice(2))
    rmSync(path)
    execFileSync('mkfifo', [path])
    let unblocked = false
    const unblock = () => {
      if (unblocked) return
      unblocked = true
      // Non-blocking: with no reader (the build never got to it) the bytes go back as a plain file.
      let fd: number
      try {
        fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)
      } catch {
        rmSync(path)
        return writeFileSync(path, text)
      }
      writeSync(fd, text)
      closeSync(fd)
    }
    try {
      expect((await h.client.submit(dev[0].privateKey, 'PublishVersion', { datanet: slow.datanet })).status).toBe(200)
      await waitFor(
        () => build(slow.datanet),
        (b) => b.state === 'building' && b.phase === 'texts',
      )
      const other = await datanetWith('Unhindered', 'an ordinary document')
      expect((await h.client.submit(dev[0].privateKey, 'PublishVersion', { datanet: other.datanet })).status).toBe(200)
      expect((await h.client.waitReady(other.datanet, 1)).build).toMatchObject({ state: 'ready', index: { documents: 1 } })
      expect(await build(slow.datanet)).toMatchObject({ state: 'building', phase: 'texts' })
    } finally {
      unblock()
    }
    expect((await h.client.waitReady(slow.datanet, 1)).build).toMatchObject({ state: 'ready', index: { documents: 1 } })
  })
})
