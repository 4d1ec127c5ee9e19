/**
 * A stranger cannot fill a public node's disk (issue #11, item 6). PUT /v1/blobs stores bytes
 * only for the signed tx that will refer to them (header x-sinew-upload-tx), from a funded
 * account, within per-account and per-node quotas; blobs no ledger record refers to are
 * collected after a grace period (the clock injected, no sleeps). Real HTTP, a real SQLite
 * file, viem signatures. The attacks on these rules are in blobs-abuse.test.ts.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, type DatanetsClient, type SignedEnvelope } from './datanets-fixtures.ts'
import { dev, http, startDevNode, tempDir } from './helpers.ts'

/** Room for one blob's charge (each blob counts at least 4096 bytes) but not two. */
const QUOTA = 6000
/** Room for two waiting blobs, not three. */
const NODE_QUOTA = 10_000
const CHARGE = 4096
const GRACE = 3_600_000
const sha = (b: string | Buffer) => `0x${createHash('sha256').update(b).digest('hex')}`
const bytes = (n: number, fill: string) => Buffer.alloc(n, fill)

let node: RunningNode
let tmp: ReturnType<typeof tempDir>
let client: DatanetsClient
let datanet: string

const contribute = (key: `0x${string}`, content: Buffer | string, title = 'blob') =>
  client.sign(key, 'Contribute', { datanet, contentHash: sha(content), title, mediaType: 'text/plain', size: String(Buffer.byteLength(content)) })
const stored = async (content: Buffer | string) => (await fetch(`${node.url}/v1/blobs/${sha(content).slice(2)}`)).status === 200

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir, { blobQuotaBytes: QUOTA, blobNodeQuotaBytes: NODE_QUOTA, blobGcGraceMs: GRACE, blobGcIntervalMs: 0 })
  client = await datanetsClient(node.url)
  const r = await client.submit(dev[0].privateKey, 'CreateDatanet', {
    name: 'Quota Test',
    description: '',
    license: 'CC0-1.0',
    mediaTypes: ['text/plain'],
    maxSize: '100000',
    stake: '0',
  })
  datanet = r.json.receipt.result.datanet
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

describe('who may upload', () => {
  it('an anonymous PUT is refused and stores nothing', async () => {
    const r = await client.upload('anonymous bytes from a stranger')
    expect(r.status).toBe(401)
    expect(r.json.error).toMatchObject({ code: 'upload_unauthorized', details: { field: 'headers.x-sinew-upload-tx' } })
    expect(await stored('anonymous bytes from a stranger')).toBe(false)
  })

  it('a forged permit is refused: not base64 JSON, a signature that does not recover to its from, a tampered message', async () => {
    const text = 'forged permit bytes'
    const garbage = await fetch(`${node.url}/v1/blobs`, { method: 'PUT', headers: { 'x-sinew-upload-tx': '!!!not base64 json' }, body: text })
    expect(((await garbage.json()) as any).error.code).toBe('invalid_upload_permit')
    const real = await contribute(dev[1].privateKey, text)
    // Claims to be from dev 1 but is signed by a stranger's key.
    const stranger = await contribute(generatePrivateKey(), text)
    const claimed = await client.upload(text, '', { ...stranger, from: dev[1].address } as SignedEnvelope)
    expect(claimed.status).toBe(401)
    expect(claimed.json.error).toMatchObject({ code: 'invalid_upload_permit', details: { reason: 'signer_mismatch' } })
    // dev 1's signature over another message recovers to some unfunded address.
    const tampered = await client.upload(text, '', { ...real, message: { ...real.message, title: 'changed' } })
    expect(tampered.status).toBe(403)
    expect(tampered.json.error.code).toBe('upload_balance_too_low')
    expect(await stored(text)).toBe(false)
  })

  it('a permit covers only its own blob: other bytes, another query hash, a kind that names no blob, an unfunded account', async () => {
    const permit = await contribute(dev[1].privateKey, 'the permitted bytes')
    const other = await client.upload('some other bytes!!!', '', permit)
    expect(other.json.error).toMatchObject({ code: 'hash_mismatch', details: { field: 'sha256' } })
    const query = await client.upload('the permitted bytes', `?sha256=${sha('x').slice(2)}`, permit)
    expect(query.json.error).toMatchObject({ code: 'permit_mismatch', details: { field: 'querystring.sha256' } })
    const transfer = await client.sign(dev[1].privateKey, 'Transfer', { to: dev[2].address, amount: '1' })
    const byTransfer = await client.upload('the permitted bytes', '', transfer)
    expect([byTransfer.status, byTransfer.json.error.code]).toEqual([401, 'invalid_upload_permit'])
    const poor = await client.upload('the permitted bytes', '', await contribute(generatePrivateKey(), 'the permitted bytes'))
    expect(poor.json.error).toMatchObject({ code: 'upload_balance_too_low', details: { minBalance: (10n ** 18n).toString(), setting: 'blobMinBalance' } })
    expect(await stored('some other bytes!!!')).toBe(false)
    expect(await stored('the permitted bytes')).toBe(false)
  })

  it('an expired permit is refused: its nonce was used by another tx, or it is too far ahead', async () => {
    const permit = await contribute(dev[3].privateKey, 'bytes of a stale permit')
    expect((await client.submit(dev[3].privateKey, 'Transfer', { to: dev[2].address, amount: '1' })).status).toBe(200)
    const stale = await client.upload('bytes of a stale permit', '', permit)
    expect(stale.status).toBe(401)
    expect(stale.json.error).toMatchObject({ code: 'stale_upload_permit', details: { nonce: permit.message.nonce } })
    const account = privateKeyToAccount(dev[3].privateKey)
    const nonce = BigInt((await http(`${node.url}/v1/accounts/${account.address}`)).json.nonce)
    const far = await client.sign(dev[3].privateKey, 'Contribute', {
      datanet,
      contentHash: sha('bytes of a stale permit'),
      title: 'far',
      mediaType: 'text/plain',
      size: String(Buffer.byteLength('bytes of a stale permit')),
      nonce: String(nonce + 100n),
    })
    const ahead = await client.upload('bytes of a stale permit', '', far)
    expect(ahead.status).toBe(401)
    expect(ahead.json.error).toMatchObject({ code: 'invalid_upload_permit', details: { nonce: String(nonce + 100n), accountNonce: String(nonce) } })
    expect(await stored('bytes of a stale permit')).toBe(false)
  })

  it('a funded account uploads with its signed Contribute, then submits it', async () => {
    const text = 'An honest contribution, uploaded with its own signed Contribute as the permit.'
    const tx = await contribute(dev[1].privateKey, text)
    const up = await client.upload(text, '', tx)
    expect(up.status).toBe(201)
    expect(up.json).toMatchObject({ contentHash: sha(text), size: Buffer.byteLength(text), created: true, account: dev[1].address.toLowerCase() })
    expect((await http(`${node.url}/v1/datanets/${datanet}/contributions`, { body: tx })).status).toBe(200)
  })
})

describe('quotas', () => {
  it("an account's uploads per window are capped; the error names the quota; re-uploading what the ledger refers to is free", async () => {
    const usedBefore = (await http(`${node.url}/v1/blobs/policy?account=${dev[4].address}`)).json.usage.usedBytes
    expect(usedBefore).toBe(0)
    const first = bytes(2000, 'a')
    expect((await client.upload(first, '', await contribute(dev[4].privateKey, first))).status).toBe(201)
    const second = bytes(2000, 'b')
    const over = await client.upload(second, '', await contribute(dev[4].privateKey, second))
    expect(over.status).toBe(429)
    expect(over.json.error).toMatchObject({
      code: 'blob_quota_exceeded',
      details: { quota: 'account', setting: 'blobQuotaBytes', usedBytes: CHARGE, limitBytes: QUOTA, wantedBytes: CHARGE },
    })
    expect(over.json.error.message).toContain(`quota is ${QUOTA} bytes per 24 h`)
    expect(await stored(second)).toBe(false)
    // dev 1's contribution is on the ledger: uploading its bytes again costs nothing and reads nothing.
    const contributed = 'An honest contribution, uploaded with its own signed Contribute as the permit.'
    const again = await client.upload(contributed, '', await contribute(dev[4].privateKey, contributed))
    expect(again.status).toBe(200)
    expect(again.json).toMatchObject({ created: false })
    const policy = (await http(`${node.url}/v1/blobs/policy?account=${dev[4].address}`)).json
    expect(policy).toMatchObject({
      permitHeader: 'x-sinew-upload-tx',
      quota: { accountBytes: QUOTA, minChargeBytes: CHARGE, nodeWaitingBytes: NODE_QUOTA },
      usage: { usedBytes: CHARGE, usedBlobs: 1, waitingBytes: CHARGE, waitingBlobs: 1 },
    })
  })

  it('blobs waiting for their tx are capped for all accounts together by the node', async () => {
    const a = bytes(2000, 'c')
    expect((await client.upload(a, '', await contribute(dev[5].privateKey, a))).status).toBe(201)
    // dev 4's and dev 5's blobs wait (4096 each); a third is over 10 000.
    const b = bytes(2000, 'd')
    const over = await client.upload(b, '', await contribute(dev[6].privateKey, b))
    expect(over.status).toBe(429)
    expect(over.json.error).toMatchObject({ code: 'blob_quota_exceeded', details: { quota: 'node', setting: 'blobNodeQuotaBytes', limitBytes: NODE_QUOTA } })
  })
})

describe('garbage collection', () => {
  it('removes blobs nothing refers to once past the grace period; keeps those a contribution or task refers to', async () => {
    const orphan = bytes(2000, 'a') // dev 4's upload: its Contribute was never submitted
    const referenced = 'An honest contribution, uploaded with its own signed Contribute as the permit.'
    const spec = 'Summarise the harbour log in one line.'
    const post = await client.sign(dev[7].privateKey, 'PostTask', {
      title: 'summary',
      specHash: sha(spec),
      reward: '1000',
      deadline: String(Date.now() + 3_600_000),
      leaseMs: '60000',
      claimStake: '0',
      verifiers: [],
      threshold: '1',
    })
    // The node's room for waiting blobs is full (dev 4's and dev 5's): the task goes on the
    // ledger first, and its committed PostTask authorises the spec (free: the ledger refers to it).
    expect((await http(`${node.url}/v1/tx`, { body: post })).status).toBe(200)
    expect((await client.upload(spec, '', post)).json).toMatchObject({ created: true, contentHash: sha(spec) })
    for (const b of [orphan, referenced, spec]) expect(await stored(b)).toBe(true)

    const early = await node.datanets.collectGarbage(Date.now() + GRACE / 2)
    expect(early.removed).toBe(0)
    expect(await stored(orphan)).toBe(true)

    const late = await node.datanets.collectGarbage(Date.now() + GRACE + 60_000)
    expect(late.removed).toBe(2) // dev 4's and dev 5's unsubmitted uploads
    expect(late.removedBytes).toBe(4000)
    expect(await stored(orphan)).toBe(false)
    expect(await stored(bytes(2000, 'c'))).toBe(false)
    expect(await stored(referenced)).toBe(true)
    expect(await stored(spec)).toBe(true)
  })
})
