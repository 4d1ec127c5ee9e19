/**
 * Datanets end to end over real HTTP, a real SQLite file and viem signatures: three
 * accounts contribute, a curator accepts two and rejects one (stakes move exactly), the
 * owner publishes, the index gets ready, search finds accepted text and nothing of the
 * rejected one, and `sinew verify` replays it all. Then every kind of bad input gets its
 * own error and changes nothing.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePrivateKey } from 'viem/accounts'
import type { Hex } from '../src/core/index.ts'
import { makeDocx, makePdf } from '../src/datanets/fixtures.ts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, type DatanetsClient, type SignedEnvelope } from './datanets-fixtures.ts'
import { countTxs, dev, http, runCli, startDevNode, tempDir } from './helpers.ts'

const SIN = 10n ** 18n
const STAKE = 5n * SIN
const ALL_TYPES = [
  'text/plain',
  'text/markdown',
  'application/jsonl',
  'text/csv',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
]
const DOCX = ALL_TYPES[5]

let node: RunningNode
let tmp: ReturnType<typeof tempDir>
let url: string
const owner = dev[0]
const curator = dev[4]
const [c1, c2, c3] = [dev[1], dev[2], dev[3]]

const TEXTS = {
  c1: 'The lighthouse keeper counted seventeen herons standing in the cold marsh at dawn, and wrote each one down in his ledger.',
  c2: 'name,line\nada,"Our brass telescope points north toward the quiet harbour lights every evening"\nbob,second row here\n',
  c3: 'Spam spam wonderful spam: buy crystal pyramids that hum in tune with the moon tonight only.',
}

// Signing, uploading and contributing as a client does it (test/datanets-fixtures.ts).
let client: DatanetsClient
const sign = (key: Hex, type: string, message: Record<string, unknown>) => client.sign(key, type, message)
const submit = (key: Hex, type: string, message: Record<string, unknown>) => client.submit(key, type, message)
const upload = (bytes: Buffer | string, query = '', permit?: SignedEnvelope) => client.upload(bytes, query, permit)
const contribute = (key: Hex, datanet: string, content: Buffer | string, title: string, mediaType: string) =>
  client.contribute(key, datanet, content, title, mediaType)
const sha256Hex = (text: string) => `0x${createHash('sha256').update(text).digest('hex')}`
const balance = async (address: string) => BigInt((await http(`${url}/v1/accounts/${address}`)).json.balance)

const waitReady = (datanet: string, n: number) => client.waitReady(datanet, n)

let datanet: string
const ids: Record<string, string> = {}

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir)
  url = node.url
  client = await datanetsClient(url)
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

/**
 * The Datanet's life, one step per test below; each step runs once, on first use, after the
 * steps before it, so a test (or the bad-input cases, which need the last step's state) also
 * runs alone.
 */
const once = <T>(fn: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | undefined
  return () => (p ??= fn())
}
const created = once(async () => {
  const r = await submit(owner.privateKey, 'CreateDatanet', {
    name: 'Field Notes',
    description: 'Observations of birds and lights',
    license: 'CC-BY-4.0',
    mediaTypes: ALL_TYPES,
    maxSize: '1000000',
    stake: STAKE.toString(),
  })
  expect(r.status).toBe(200)
  datanet = r.json.receipt.result.datanet
  expect(datanet).toBe(r.json.hash)
  const d = (await http(`${url}/v1/datanets/${datanet}`)).json
  expect(d).toMatchObject({ id: datanet, name: 'Field Notes', owner: owner.address, rules: { stake: STAKE.toString(), maxSize: '1000000' } })
  expect((await http(`${url}/v1/datanets/Field%20Notes`)).json.id).toBe(datanet)
  const list = (await http(`${url}/v1/datanets?q=birds`)).json
  expect(list.datanets.map((x: { id: string }) => x.id)).toEqual([datanet])
  expect((await submit(owner.privateKey, 'AddCurator', { datanet, curator: curator.address })).status).toBe(200)
})
const contributed = once(async () => {
  await created()
  const before = { c1: await balance(c1.address), c2: await balance(c2.address), c3: await balance(c3.address) }
  const r1 = await contribute(c1.privateKey, datanet, TEXTS.c1, 'Herons at dawn', 'text/plain')
  const r2 = await contribute(c2.privateKey, datanet, TEXTS.c2, 'Harbour log', 'text/csv')
  const r3 = await contribute(c3.privateKey, datanet, TEXTS.c3, 'Pyramids', 'text/markdown')
  for (const r of [r1, r2, r3]) expect(r.status).toBe(200)
  expect(r2.json.records).toBe(2)
  Object.assign(ids, { c1: r1.json.contribution, c2: r2.json.contribution, c3: r3.json.contribution })
  expect(await balance(c1.address)).toBe(before.c1 - STAKE)
  expect(await balance(c2.address)).toBe(before.c2 - STAKE)
  expect(await balance(c3.address)).toBe(before.c3 - STAKE)
  const d = (await http(`${url}/v1/datanets/${datanet}`)).json
  expect(d.counts).toEqual({ contributions: 3, pending: 3, accepted: 0, rejected: 0 })
  expect(d.stakeLocked).toBe((3n * STAKE).toString())
  const c = (await http(`${url}/v1/contributions/${ids.c2}`)).json
  expect(c).toMatchObject({ author: c2.address, status: 'pending', mediaType: 'text/csv', records: 2, blob: 'present', stake: STAKE.toString() })
  expect(c.contentHash).toBe('0x' + createHash('sha256').update(TEXTS.c2).digest('hex'))
  const queue = (await http(`${url}/v1/datanets/${datanet}/queue`)).json
  expect(queue.contributions.map((x: { id: string }) => x.id)).toEqual([ids.c1, ids.c2, ids.c3])
  expect(queue.contributions[0].nearDuplicate).toMatchObject({ flagged: false, coverageBps: 0 })
})
const reviewed = once(async () => {
  await contributed()
  const before = {
    c1: await balance(c1.address),
    c3: await balance(c3.address),
    owner: await balance(owner.address),
    curator: await balance(curator.address),
  }
  expect((await submit(curator.privateKey, 'Review', { contribution: ids.c1, accept: true, reason: '' })).status).toBe(200)
  expect((await submit(curator.privateKey, 'Review', { contribution: ids.c2, accept: true, reason: 'good data' })).status).toBe(200)
  const rej = await submit(curator.privateKey, 'Review', { contribution: ids.c3, accept: false, reason: 'spam' })
  expect(rej.status).toBe(200)
  expect(rej.json.receipt.result).toMatchObject({ status: 'rejected', paidTo: owner.address, stake: STAKE.toString() })
  expect(await balance(c1.address)).toBe(before.c1 + STAKE)
  expect(await balance(c3.address)).toBe(before.c3)
  expect(await balance(owner.address)).toBe(before.owner + STAKE)
  expect(await balance(curator.address)).toBe(before.curator)
  const d = (await http(`${url}/v1/datanets/${datanet}`)).json
  expect(d).toMatchObject({ counts: { contributions: 3, pending: 0, accepted: 2, rejected: 1 }, stakeLocked: '0', stakeForfeited: STAKE.toString() })
  const accepted = (await http(`${url}/v1/datanets/${datanet}/contributions?status=accepted`)).json
  expect(accepted.contributions.map((x: { id: string }) => x.id).sort()).toEqual([ids.c1, ids.c2].sort())
  expect((await http(`${url}/v1/datanets/${datanet}/contributions?author=${c3.address}`)).json.contributions[0]).toMatchObject({
    status: 'rejected',
    review: { reason: 'spam', by: curator.address },
  })
  const stats = (await http(`${url}/v1/datanets/${datanet}/contributors`)).json.contributors
  expect(stats.find((s: { author: string }) => s.author === c3.address)).toMatchObject({
    contributions: 1,
    rejected: 1,
    stakeForfeited: STAKE.toString(),
    stakeLocked: '0',
  })
  expect(stats.find((s: { author: string }) => s.author === c1.address)).toMatchObject({ accepted: 1, stakeReturned: STAKE.toString() })
})
const published = once(async () => {
  await reviewed()
  const r = await submit(owner.privateKey, 'PublishVersion', { datanet })
  expect(r.status).toBe(200)
  expect(r.json.receipt.result).toMatchObject({ version: 1, contributions: 2 })
  const v = await waitReady(datanet, 1)
  expect(v.build).toMatchObject({ state: 'ready', index: { documents: 2 } })
  expect(v.root).toBe(r.json.receipt.result.root)
  const hit = (await http(`${url}/v1/datanets/${datanet}/versions/1/search?q=${encodeURIComponent('seventeen herons standing in the cold marsh')}`)).json
  expect(hit.count).toBe(1)
  expect(hit.matches[0]).toMatchObject({ contribution: ids.c1, author: c1.address, title: 'Herons at dawn' })
  expect(hit.matches[0].snippet.toLowerCase()).toContain('herons')
  const csv = (await http(`${url}/v1/datanets/${datanet}/versions/1/search?q=${encodeURIComponent('brass telescope points north')}`)).json
  expect(csv.matches[0].contribution).toBe(ids.c2)
  const spam = (await http(`${url}/v1/datanets/${datanet}/versions/1/search?q=${encodeURIComponent('crystal pyramids that hum')}`)).json
  expect(spam).toMatchObject({ count: 0, matches: [] })
  expect((await submit(owner.privateKey, 'PublishVersion', { datanet })).json.error.code).toBe('version_unchanged')
})
const duplicateFlagged = once(async () => {
  await published()
  const copy = `Copied: ${TEXTS.c1}`
  const r = await contribute(c3.privateKey, datanet, copy, 'Totally original herons', 'text/plain')
  expect(r.status).toBe(200)
  const queue = (await http(`${url}/v1/datanets/${datanet}/queue`)).json
  const flagged = queue.contributions.find((x: { id: string }) => x.id === r.json.contribution)
  expect(flagged.nearDuplicate.flagged).toBe(true)
  expect(flagged.nearDuplicate.coverageBps).toBeGreaterThanOrEqual(9000)
  expect(flagged.nearDuplicate.overlaps[0]).toMatchObject({ contribution: ids.c1, author: c1.address })
})

describe('a Datanet from creation to search', () => {
  it('is created by a signed CreateDatanet and listed', () => created())

  it('three accounts contribute; each stake is locked', () => contributed())

  it('the curator accepts two and rejects one: stakes go back or to the owner, exactly', () => reviewed())

  it('publish freezes version 1; its index gets ready; search finds accepted text only', () => published())

  it('a near-duplicate of accepted data is flagged in the review queue with what it overlaps', () => duplicateFlagged())

  it('serves blobs with ETag and ranges', async () => {
    await contributed()
    const sha = createHash('sha256').update(TEXTS.c1).digest('hex')
    const full = await fetch(`${url}/v1/blobs/${sha}`)
    expect(full.status).toBe(200)
    expect(full.headers.get('etag')).toBe(`"${sha}"`)
    expect(await full.text()).toBe(TEXTS.c1)
    const part = await fetch(`${url}/v1/blobs/${sha}`, { headers: { range: 'bytes=4-13' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 4-13/${Buffer.byteLength(TEXTS.c1)}`)
    expect(await part.text()).toBe(TEXTS.c1.slice(4, 14))
    expect((await fetch(`${url}/v1/blobs/${sha}`, { headers: { 'if-none-match': `"${sha}"` } })).status).toBe(304)
    expect((await fetch(`${url}/v1/blobs/${sha}`, { headers: { range: 'bytes=9999-' } })).status).toBe(416)
    expect((await http(`${url}/v1/blobs/${'0'.repeat(64)}`)).json.error.code).toBe('not_found')
  })
})

describe('bad input: a specific error, nothing changed', () => {
  let small: string
  const snapshot = async () => {
    const s = (await http(`${url}/v1/status`)).json
    return { height: s.height, stateRoot: s.stateRoot }
  }

  beforeAll(async () => {
    await duplicateFlagged() // the cases below refer to the first Datanet as its steps left it
    const r = await submit(owner.privateKey, 'CreateDatanet', {
      name: 'Tiny Text',
      description: '',
      license: 'CC0-1.0',
      mediaTypes: ['text/plain', 'application/pdf', DOCX, 'text/csv'],
      maxSize: '64',
      stake: '1',
    })
    small = r.json.receipt.result.datanet
  })

  const expectError = (r: { status: number; json: any }, status: number, code: string, field?: string) => {
    expect(r.json?.error?.code, JSON.stringify(r.json)).toBe(code)
    expect(r.status).toBe(status)
    if (field) expect(r.json.error.details.field).toBe(field)
  }

  const cases: [string, () => Promise<{ status: number; json: any }>, number, string, string?][] = [
    ['unknown Datanet (read)', async () => http(`${url}/v1/datanets/0x${'ab'.repeat(32)}`), 404, 'datanet_not_found'],
    [
      'unknown Datanet (Contribute tx)',
      async () =>
        submit(c1.privateKey, 'Contribute', {
          datanet: '0x' + 'ab'.repeat(32),
          contentHash: '0x' + '11'.repeat(32),
          title: 't',
          mediaType: 'text/plain',
          size: '3',
        }),
      404,
      'datanet_not_found',
      'message.datanet',
    ],
    [
      'a contribution whose blob was never uploaded',
      async () => {
        const tx = await sign(c1.privateKey, 'Contribute', {
          datanet: small,
          contentHash: '0x' + '22'.repeat(32),
          title: 'ghost',
          mediaType: 'text/plain',
          size: '10',
        })
        return http(`${url}/v1/datanets/${small}/contributions`, { body: tx })
      },
      404,
      'blob_not_found',
      'message.contentHash',
    ],
    [
      'hash mismatch on upload',
      async () => {
        const permit = await sign(c1.privateKey, 'Contribute', {
          datanet: small,
          contentHash: sha256Hex('some other bytes'),
          title: 'switched',
          mediaType: 'text/plain',
          size: '10',
        })
        return upload('some bytes', '', permit)
      },
      400,
      'hash_mismatch',
      'sha256',
    ],
    [
      'declared size differs from the blob (upload)',
      async () => {
        const tx = await sign(c1.privateKey, 'Contribute', {
          datanet: small,
          contentHash: sha256Hex('eleven char'),
          title: 'liar',
          mediaType: 'text/plain',
          size: '5',
        })
        return upload('eleven char', '', tx)
      },
      400,
      'size_mismatch',
      'tx.message.size',
    ],
    [
      'declared size differs from the blob (contribution)',
      async () => {
        // The bytes are on the node (uploaded for an honest Contribute), the liar signs another size.
        const honest = await sign(c2.privateKey, 'Contribute', {
          datanet: small,
          contentHash: sha256Hex('twelve chars'),
          title: 'honest',
          mediaType: 'text/plain',
          size: '12',
        })
        expect((await upload('twelve chars', '', honest)).status).toBe(201)
        const tx = await sign(c1.privateKey, 'Contribute', {
          datanet: small,
          contentHash: sha256Hex('twelve chars'),
          title: 'liar',
          mediaType: 'text/plain',
          size: '5',
        })
        return http(`${url}/v1/datanets/${small}/contributions`, { body: tx })
      },
      400,
      'size_mismatch',
      'tx.message.size',
    ],
    ['size over the Datanet limit', async () => contribute(c1.privateKey, small, 'x'.repeat(65), 'too big', 'text/plain'), 422, 'too_large', 'message.size'],
    [
      'a media type the rules exclude',
      async () => contribute(c1.privateKey, small, '# hello', 'md', 'text/markdown'),
      422,
      'media_type_not_accepted',
      'message.mediaType',
    ],
    [
      'an unknown media type',
      async () => contribute(c1.privateKey, small, 'hello', 'bin', 'application/x-unknown'),
      400,
      'unsupported_media_type',
      'message.mediaType',
    ],
    [
      'an unparseable pdf',
      async () => contribute(c1.privateKey, small, '%PDF-1.4 garbage', 'bad pdf', 'application/pdf'),
      400,
      'unparseable_content',
      'tx.message.mediaType',
    ],
    [
      'an unparseable docx',
      async () => contribute(c1.privateKey, small, 'PK\u0003\u0004 not a zip', 'bad docx', DOCX),
      400,
      'unparseable_content',
      'tx.message.mediaType',
    ],
    [
      'an unparseable csv',
      async () => contribute(c1.privateKey, small, 'a,b\n"unterminated,1\n', 'bad csv', 'text/csv'),
      400,
      'unparseable_content',
      'tx.message.mediaType',
    ],
    [
      'an exact duplicate names the earlier contribution and its author',
      async () => contribute(c2.privateKey, datanet, TEXTS.c1, 'mine now', 'text/plain'),
      422,
      'duplicate_contribution',
      'message.contentHash',
    ],
    [
      'a review by a non-curator',
      async () => {
        const pending = (await http(`${url}/v1/datanets/${datanet}/queue`)).json.contributions[0].id
        return submit(c1.privateKey, 'Review', { contribution: pending, accept: true, reason: '' })
      },
      422,
      'not_curator',
      'signature',
    ],
    [
      'a second verdict',
      async () => submit(owner.privateKey, 'Review', { contribution: ids.c3, accept: true, reason: 'changed my mind' }),
      422,
      'already_reviewed',
      'message.contribution',
    ],
    [
      'publishing with no accepted contribution',
      async () => submit(owner.privateKey, 'PublishVersion', { datanet: small }),
      422,
      'no_accepted_contributions',
      'message.datanet',
    ],
    ['publishing by someone else', async () => submit(c1.privateKey, 'PublishVersion', { datanet }), 422, 'not_owner', 'signature'],
    [
      'too little balance for the stake',
      async () => {
        const poor = generatePrivateKey()
        const message = {
          datanet,
          contentHash: sha256Hex('poor but honest words'),
          title: 'poor',
          mediaType: 'text/plain',
          size: String(Buffer.byteLength('poor but honest words')),
        }
        // Too poor to upload too (blobMinBalance): a funded friend's signed Contribute carries the bytes.
        expect((await upload('poor but honest words', '', await sign(poor, 'Contribute', message))).json.error.code).toBe('upload_balance_too_low')
        expect((await upload('poor but honest words', '', await sign(c3.privateKey, 'Contribute', message))).status).toBe(201)
        return http(`${url}/v1/datanets/${datanet}/contributions`, { body: await sign(poor, 'Contribute', message) })
      },
      422,
      'insufficient_balance',
      'stake',
    ],
    [
      'a name that is taken',
      async () =>
        submit(c1.privateKey, 'CreateDatanet', { name: 'field notes', description: '', license: 'MIT', mediaTypes: ['text/plain'], maxSize: '10', stake: '0' }),
      422,
      'datanet_name_taken',
      'message.name',
    ],
    ['search in a version that does not exist', async () => http(`${url}/v1/datanets/${datanet}/versions/9/search?q=x`), 404, 'version_not_found'],
  ]

  for (const [name, run, status, code, field] of cases) {
    it(name, async () => {
      const before = await snapshot()
      const r = await run()
      expectError(r, status, code, field)
      expect(await snapshot()).toEqual(before)
    })
  }

  it('the duplicate refusal names the earlier contribution and author', async () => {
    const r = await contribute(c2.privateKey, datanet, TEXTS.c1, 'mine now', 'text/plain')
    expect(r.json.error.details).toMatchObject({ contribution: ids.c1, author: c1.address, status: 'accepted' })
  })

  it('pdf and docx contributions ingest; a Contribute sent straight to /v1/tx without a blob is refused', async () => {
    const pdf = makePdf(['A short pdf line'])
    const docx = makeDocx(['A docx paragraph', 'and another'])
    const big = await submit(owner.privateKey, 'UpdateDatanet', {
      datanet: small,
      description: 'now larger',
      license: 'CC0-1.0',
      mediaTypes: ['text/plain', 'application/pdf', DOCX],
      maxSize: '100000',
      stake: '1',
    })
    expect(big.status).toBe(200)
    const rp = await contribute(c1.privateKey, small, pdf, 'pdf', 'application/pdf')
    const rd = await contribute(c1.privateKey, small, docx, 'docx', DOCX)
    expect([rp.status, rp.json.records, rd.status, rd.json.records]).toEqual([200, 1, 200, 1])
    const direct = await submit(c2.privateKey, 'Contribute', {
      datanet: small,
      contentHash: '0x' + '44'.repeat(32),
      title: 'no blob',
      mediaType: 'text/plain',
      size: '10',
    })
    expect(direct.status).toBe(404)
    expect(direct.json.error).toMatchObject({ code: 'blob_not_found', details: { field: 'message.contentHash' } })
  })
})

describe('sinew verify', () => {
  it('replays every Datanet tx from genesis', async () => {
    await duplicateFlagged() // something to replay, also when this test runs alone
    const committed = await countTxs(node)
    await node.close()
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(r.stderr).toBe('')
    const report = JSON.parse(r.stdout)
    expect(report.ok).toBe(true)
    expect(report.txs).toBe(committed)
  })
})
