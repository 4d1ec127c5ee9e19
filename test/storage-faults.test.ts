/**
 * A node on a disk that fills up or turns read-only under it (real file systems, mounted by
 * test/storage-harness.ts in a private mount namespace; see test/storage-fixtures.ts):
 *
 * - full (tmpfs): writes are refused with 507 `storage_full` and are not acknowledged
 *   (txs, blob uploads, paid model calls, an index build waits), reads keep being served,
 *   and once space returns everything resumes without a restart; nothing acknowledged is
 *   lost and the chain verifies;
 * - read-only under a running node (ext4 with errors=remount-ro, turned read-only by an
 *   injected error, as a disk with I/O errors does): 503 `storage_unwritable`, reads go
 *   on; after fsck and a remount nothing acknowledged is lost;
 * - a node started on a read-only data dir exits with `storage_unwritable`, naming it.
 */
import { createHash } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { TxCodec } from '../src/ledger/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import { createNodeRegistry } from '../src/node/index.ts'
import { datanetsClient, type DatanetsClient } from './datanets-fixtures.ts'
import { DEV_CHAIN_ID, dev, http, signTransfer, tempDir, waitFor } from './helpers.ts'
import { requireMechanism, startHarness, type Harness } from './storage-fixtures.ts'

const tmp = tempDir('sinew-storage-')
const harnesses: Harness[] = []
afterAll(async () => {
  for (const h of harnesses) await h.close()
  tmp.cleanup()
})

async function harness(need: 'tmpfs' | 'ext4'): Promise<Harness> {
  const h = await startHarness(requireMechanism(need))
  harnesses.push(h)
  return h
}

/** Starts the node on `dataDir` in the harness; its URL (the test fails with the node's output if it exits). */
async function startOn(h: Harness, dataDir: string, env: Record<string, string> = {}): Promise<string> {
  const started = await h.call('start', { dataDir, env })
  expect(started.url, started.output).toBeDefined()
  return started.url
}

/** Acknowledged tx hashes, checked again after a restart. */
type Acked = Set<Hex>

async function transfer(url: string, from: number, nonce: bigint): Promise<{ status: number; json: any; hash?: Hex }> {
  const tx = await signTransfer(dev[from].privateKey, { to: dev[9].address, amount: 1n, nonce })
  return http(`${url}/v1/tx`, { body: tx })
}

const codec = new TxCodec(createNodeRegistry(), DEV_CHAIN_ID)
const hashOf = (tx: unknown): Hex => codec.recover(codec.decode(tx)).hash
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

const nonceOf = async (url: string, i: number) => BigInt((await http(`${url}/v1/accounts/${dev[i].address}`)).json.nonce)

/** Sends transfers until one is refused (each accepted one is acknowledged and recorded); the refusal. */
async function transferUntilRefused(url: string, from: number, acked: Acked): Promise<{ status: number; json: any }> {
  for (let i = 0; i < 500; i++) {
    const r = await transfer(url, from, await nonceOf(url, from))
    if (r.status !== 200) return r
    acked.add(r.json.hash)
  }
  throw new Error('500 transfers were all acknowledged on a full disk')
}

async function expectAllThere(url: string, acked: Acked): Promise<void> {
  const missing: Hex[] = []
  for (const hash of acked) if ((await http(`${url}/v1/tx/${hash}`)).status !== 200) missing.push(hash)
  expect(missing).toEqual([])
}

async function verifyChain(h: Harness, dataDir: string): Promise<void> {
  const v = await h.call('cli', { args: ['verify', '--data-dir', dataDir, '--json'] })
  expect(v.code, v.stderr).toBe(0)
  expect(JSON.parse(v.stdout).ok).toBe(true)
}

const API_KEY = `sk-sinew-${'5a'.repeat(32)}`

async function chat(url: string): Promise<{ status: number; json: any }> {
  return http(`${url}/v1/chat/completions`, {
    body: { model: 'storage-test', messages: [{ role: 'user', content: 'The lighthouse keeper' }], max_tokens: 8 },
    headers: { authorization: `Bearer ${API_KEY}` },
  })
}

describe('a full disk', () => {
  it('refuses writes with storage_full, keeps serving reads, and resumes without a restart when space returns', async () => {
    const h = await harness('tmpfs')
    const mount = `${tmp.dir}/full`
    const dataDir = `${mount}/data`
    await h.call('mountTmpfs', { dir: mount, bytes: 48 << 20 })
    expect((await h.call('cli', { args: ['init', '--dev', '--data-dir', dataDir] })).code).toBe(0)
    // Slow index builds (per document) so that one is under way when the disk fills.
    const url = await startOn(h, dataDir, { SINEW_TEST_BUILD_DELAY_MS: '600' })
    const c: DatanetsClient = await datanetsClient(url)
    const acked: Acked = new Set()
    const ok = (r: { status: number; json: any }, what: string) => {
      expect(r.status, `${what}: ${JSON.stringify(r.json)}`).toBe(200)
      if (r.json.hash) acked.add(r.json.hash)
      return r.json
    }

    // Before: a Datanet with a ready version 1, a model over it, an API key; then version 2 building.
    const owner = dev[0].privateKey
    const created = ok(
      await c.submit(owner, 'CreateDatanet', {
        name: 'Disk',
        description: 'a Datanet on a small disk',
        license: 'CC0-1.0',
        mediaTypes: ['text/plain'],
        maxSize: '100000',
        stake: '0',
      }),
      'CreateDatanet',
    )
    const datanet: Hex = created.receipt.result.datanet
    const texts = [
      'The lighthouse keeper counted seventeen gulls on the northern rail every morning.',
      'Copper kettles hummed in the bakery while the apprentice folded cardamom into the dough.',
      'A quiet orchestra of crickets tuned their wings beneath the porch at dusk.',
      'The ferry captain logged the tide tables in green ink before every crossing.',
    ]
    const contribute = async (i: number) => {
      const r = ok(await c.contribute(dev[1 + i].privateKey, datanet, texts[i], `t${i}`, 'text/plain'), `Contribute ${i}`)
      ok(await c.submit(owner, 'Review', { contribution: r.contribution, accept: true, reason: '' }), `Review ${i}`)
    }
    await contribute(0)
    ok(await c.submit(owner, 'PublishVersion', { datanet }), 'PublishVersion 1')
    expect((await c.waitReady(datanet, 1)).build.state).toBe('ready')
    ok(
      await c.submit(dev[4].privateKey, 'RegisterModel', {
        name: 'storage-test',
        description: '',
        backend: 'builtin:infinigram',
        datanets: [`${datanet}@1`],
        pricePerMillion: '1000000000000000000',
        contributorShareBps: '5000',
      }),
      'RegisterModel',
    )
    ok(await c.submit(dev[5].privateKey, 'GrantApiKey', { keyHash: hashApiKey(API_KEY), label: 'test', spendLimit: '0', expiresAt: '0' }), 'GrantApiKey')
    const paid = await chat(url)
    expect(paid.status, JSON.stringify(paid.json)).toBe(200)
    for (const i of [1, 2, 3]) await contribute(i)
    ok(await c.submit(owner, 'PublishVersion', { datanet }), 'PublishVersion 2')
    await waitFor(
      async () => (await http(`${url}/v1/datanets/${datanet}/versions/2`)).json.build,
      (b) => b.state === 'building',
    )

    // The disk fills.
    const filled = await h.call('fill', { dir: mount })
    expect(filled.bytes).toBeGreaterThan(0)

    // A tx is refused with a clear error, and it is not on the ledger.
    const refused = await transferUntilRefused(url, 6, acked)
    expect(refused.status).toBe(507)
    expect(refused.json.error).toMatchObject({ code: 'storage_full', details: { reason: 'ENOSPC' } })
    expect(refused.json.error.message).toMatch(/is full/)
    expect(refused.json.error.details.hint).toMatch(/Reads still work/)
    const refusedTx = await signTransfer(dev[6].privateKey, { to: dev[9].address, amount: 1n, nonce: await nonceOf(url, 6) })
    const again = await http(`${url}/v1/tx`, { body: refusedTx })
    expect(again.status).toBe(507)
    expect((await http(`${url}/v1/tx/${hashOf(refusedTx)}`)).status).toBe(404)
    const status = (await http(`${url}/v1/status`)).json
    expect(status.storage).toMatchObject({ writable: false, fault: { code: 'storage_full' } })
    expect(status.storage.fault.refusedTxs).toBeGreaterThan(0)

    // A blob upload is refused and nothing of it is stored.
    const blob = 'Herons stood in the shallows of the flooded meadow until the light went.'
    const permit = await c.sign(dev[7].privateKey, 'Contribute', {
      datanet,
      contentHash: `0x${sha256(blob)}`,
      title: 'heron',
      mediaType: 'text/plain',
      size: String(Buffer.byteLength(blob)),
    })
    const upload = await c.upload(blob, '', permit)
    expect(upload.status).toBe(507)
    expect(upload.json.error.code).toBe('storage_full')
    expect((await http(`${url}/v1/blobs/${sha256(blob)}`)).status).toBe(404)

    // A paid call is refused before it starts (no receipt could be written): it costs nothing.
    const balanceBefore = (await http(`${url}/v1/accounts/${dev[5].address}`)).json.balance
    const call = await chat(url)
    expect(call.status).toBe(507)
    expect(call.json.error).toMatchObject({ code: 'storage_full', type: 'api_error' })
    expect((await http(`${url}/v1/accounts/${dev[5].address}`)).json.balance).toBe(balanceBefore)

    // The index build under way waits for the disk: queued, phase storage, not failed.
    const waitingBuild = await waitFor(
      async () => (await http(`${url}/v1/datanets/${datanet}/versions/2`)).json.build,
      (b) => b.phase === 'storage',
    )
    expect(waitingBuild).toMatchObject({ state: 'queued', error: { code: 'storage_full' } })

    // Reads are served throughout.
    for (const path of [
      '/v1/status',
      `/v1/accounts/${dev[0].address}`,
      '/v1/blocks/latest',
      `/v1/tx/${[...acked][0]}`,
      `/v1/datanets/${datanet}`,
      `/v1/datanets/${datanet}/contributions`,
      `/v1/datanets/${datanet}/versions/1/search?q=lighthouse%20keeper`,
      '/v1/models',
      `/v1/receipts/${paid.json.sinew.receipt}`,
      '/v1/tasks',
    ]) {
      expect((await http(`${url}${path}`)).status, path).toBe(200)
    }

    // Space returns: the node finds out by itself (a probe write) and takes writes again.
    await h.call('free', { dir: mount })
    await waitFor(
      async () => (await http(`${url}/v1/status`)).json.storage,
      (s) => s.writable === true,
    )
    ok(await transfer(url, 6, await nonceOf(url, 6)), 'a transfer after space returned')
    const reupload = await c.upload(blob, '', await c.sign(dev[7].privateKey, 'Contribute', permit.message))
    expect(reupload.status, JSON.stringify(reupload.json)).toBe(201)
    const call2 = await chat(url)
    expect(call2.status, JSON.stringify(call2.json)).toBe(200)
    expect(call2.json.sinew.receipt).toMatch(/^0x/)
    const v2 = await c.waitReady(datanet, 2, 60_000)
    expect(v2.build).toMatchObject({ state: 'ready', index: { documents: 4 } })
    expect(v2.build.attempts).toBeGreaterThanOrEqual(2)

    // The node never stopped; after a kill -9 and a restart every acknowledged tx is there, and the chain verifies.
    expect((await h.call('alive')).alive).toBe(true)
    await h.call('stop', { signal: 'SIGKILL' })
    await expectAllThere(await startOn(h, dataDir), acked)
    await h.call('stop', { signal: 'SIGTERM' })
    await verifyChain(h, dataDir)
  }, 600_000)
})

describe('a data dir that turns read-only under a running node', () => {
  it('refuses writes with storage_unwritable and keeps serving reads; after fsck nothing acknowledged is lost', async () => {
    const h = await harness('ext4')
    const mount = `${tmp.dir}/ext4`
    const image = `${tmp.dir}/ext4.img`
    const dataDir = `${mount}/data`
    await h.call('mountExt4', { dir: mount, image, bytes: 64 << 20 })
    expect((await h.call('cli', { args: ['init', '--dev', '--data-dir', dataDir] })).code).toBe(0)
    const url = await startOn(h, dataDir)
    const acked: Acked = new Set()
    for (let i = 0; i < 5; i++) {
      const r = await transfer(url, 0, BigInt(i))
      expect(r.status).toBe(200)
      acked.add(r.json.hash)
    }

    // The file system hits an error and the kernel turns it read-only (errors=remount-ro).
    const { options } = await h.call('ext4Error', { dir: mount })
    expect(options).toMatch(/ro/)
    const refused = await transfer(url, 0, 5n)
    expect(refused.status, JSON.stringify(refused.json)).toBe(503)
    expect(refused.json.error).toMatchObject({ code: 'storage_unwritable', details: { reason: 'EROFS' } })
    expect(refused.json.error.message).toMatch(/read-only file system/)
    const c = await datanetsClient(url)
    const created = await c.submit(dev[1].privateKey, 'CreateDatanet', {
      name: 'Read only',
      description: '',
      license: 'CC0-1.0',
      mediaTypes: ['text/plain'],
      maxSize: '1000',
      stake: '0',
    })
    expect(created.status).toBe(503)
    expect((await http(`${url}/v1/status`)).json.storage).toMatchObject({ writable: false, fault: { code: 'storage_unwritable' } })
    for (const path of ['/v1/status', `/v1/accounts/${dev[0].address}`, '/v1/blocks/latest', `/v1/tx/${[...acked][4]}`, '/v1/datanets']) {
      expect((await http(`${url}${path}`)).status, path).toBe(200)
    }
    expect((await h.call('alive')).alive).toBe(true)

    // The operator's repair: stop, fsck, mount again. Everything acknowledged is there.
    await h.call('stop', { signal: 'SIGKILL' })
    await h.call('umount', { dir: mount })
    await h.call('fsck', { image })
    await h.call('mountImage', { dir: mount, image })
    const restarted = await startOn(h, dataDir)
    await expectAllThere(restarted, acked)
    const after = await transfer(restarted, 0, 5n)
    expect(after.status, JSON.stringify(after.json)).toBe(200)
    await h.call('stop', { signal: 'SIGTERM' })
    await verifyChain(h, dataDir)
  }, 600_000)
})

describe('a node started on a read-only data dir', () => {
  it('exits with storage_unwritable, naming the data dir', async () => {
    const h = await harness('tmpfs')
    const mount = `${tmp.dir}/ro`
    const dataDir = `${mount}/data`
    await h.call('mountTmpfs', { dir: mount, bytes: 16 << 20 })
    expect((await h.call('cli', { args: ['init', '--dev', '--data-dir', dataDir] })).code).toBe(0)
    await h.call('remount', { dir: mount, options: 'ro' })
    const started = await h.call('start', { dataDir })
    expect(started.exited).toBe(true)
    expect(started.code).toBe(1)
    expect(started.output).toContain('storage_unwritable')
    expect(started.output).toContain(`${dataDir} cannot be written (a read-only file system)`)
  }, 600_000)
})
