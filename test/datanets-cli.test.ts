/**
 * The datanet CLI against a node (issue #11 item 7, issue #12): `contribute` checks every
 * file before it uploads or signs anything and names the file in each error; a
 * `--media-type` it does not know is named as such; `create` refuses a maxSize over the
 * node's blob limit (and so does the node's admission); `queue` shows a curator what
 * awaits review with each blob's state; `exclude` takes an accepted contribution out of
 * later versions.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, submitPastAdmission, type DatanetsClient } from './datanets-fixtures.ts'
import { dev, http, runCli, startDevNode, tempDir } from './helpers.ts'

let node: RunningNode
let tmp: ReturnType<typeof tempDir>
let client: DatanetsClient
let datanet: string

const cli = (args: string[]) => runCli([...args, '--node', node.url])
const errorOf = (r: { stderr: string }) => JSON.parse(r.stderr).error
const file = (name: string, text: string | Buffer) => {
  const path = join(tmp.dir, name)
  writeFileSync(path, text)
  return path
}
const contributions = async () => (await http(`${node.url}/v1/datanets/${datanet}/contributions`)).json.total

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(join(tmp.dir, 'node'), { maxBlobBytes: 1_000_000 })
  client = await datanetsClient(node.url)
  const r = await client.submit(dev[0].privateKey, 'CreateDatanet', {
    name: 'Ship Log',
    description: '',
    license: 'CC0-1.0',
    mediaTypes: ['text/plain', 'text/csv'],
    maxSize: '200',
    stake: '0',
  })
  datanet = r.json.receipt.result.datanet
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

describe('sinew datanet contribute checks every file first', () => {
  it('an unknown --media-type is named as such (not "pass --media-type")', async () => {
    const r = await cli([
      'datanet',
      'contribute',
      file('photo.png', 'not really a png'),
      '--datanet',
      'Ship Log',
      '--media-type',
      'image/png',
      '--dev-account',
      '1',
      '--json',
    ])
    expect(r.code).toBe(1)
    const e = errorOf(r)
    expect(e).toMatchObject({ code: 'unsupported_media_type', details: { field: '--media-type', got: 'image/png' } })
    expect(e.message).toBe('--media-type image/png is not a media type Datanets take')
    expect(e.details.hint).not.toMatch(/Pass --media-type/)
  })

  it('a file over the Datanet limit after a good one: refused by name before anything is uploaded or contributed', async () => {
    const good = file('good.txt', 'The mate wrote that the wind backed west before noon.')
    const big = file('big.txt', 'x'.repeat(201))
    const r = await cli(['datanet', 'contribute', good, big, '--datanet', 'Ship Log', '--dev-account', '1', '--json'])
    expect(r.code).toBe(1)
    const e = errorOf(r)
    expect(e).toMatchObject({ code: 'too_large', details: { field: 'files', file: big, size: 201, maxSize: '200' } })
    expect(e.message).toContain(big)
    expect(await contributions()).toBe(0)
    const sha = createHash('sha256').update('The mate wrote that the wind backed west before noon.').digest('hex')
    expect((await fetch(`${node.url}/v1/blobs/${sha}`)).status).toBe(404)
  })

  it('a file that does not parse, after a good one: refused by name before anything is uploaded', async () => {
    const good = file('good.txt', 'The mate wrote that the wind backed west before noon.')
    const bad = file('bad.csv', 'who,what\n"unterminated,1\n')
    const r = await cli(['datanet', 'contribute', good, bad, '--datanet', 'Ship Log', '--dev-account', '1', '--json'])
    expect(r.code).toBe(1)
    expect(errorOf(r)).toMatchObject({ code: 'unparseable_content', details: { field: 'files', file: bad, mediaType: 'text/csv' } })
    expect(await contributions()).toBe(0)
  })
})

describe('sinew datanet create', () => {
  it('refuses a maxSize over the node blob limit, and so does the node', async () => {
    const r = await cli(['datanet', 'create', '--name', 'Too Big', '--max-size', '2000000', '--dev-account', '0', '--json'])
    expect(r.code).toBe(1)
    expect(errorOf(r)).toMatchObject({ code: 'max_size_over_blob_limit', details: { field: '--max-size', maxBlobBytes: 1_000_000 } })
    const direct = await client.submit(dev[0].privateKey, 'CreateDatanet', {
      name: 'Too Big',
      description: '',
      license: 'CC0-1.0',
      mediaTypes: ['text/plain'],
      maxSize: '2000000',
      stake: '0',
    })
    expect(direct.status).toBe(400)
    expect(direct.json.error).toMatchObject({ code: 'max_size_over_blob_limit', details: { field: 'tx.message.maxSize' } })
  })
})

describe('sinew datanet queue and exclude', () => {
  let good = ''
  it('the queue shows what awaits review, with each blob state', async () => {
    const added = await cli([
      'datanet',
      'contribute',
      file('noon.txt', 'At noon the ship turned for home.'),
      '--datanet',
      'Ship Log',
      '--dev-account',
      '2',
      '--json',
    ])
    expect(added.code, added.stderr).toBe(0)
    good = JSON.parse(added.stdout)[0].contribution
    // One whose blob is shorter than it declares, past the node's admission (as a node that does not check would take it).
    const text = 'A gull sat on the mast all afternoon.'
    await node.datanets.blobs.put(Buffer.from(text))
    const tx = await client.sign(dev[3].privateKey, 'Contribute', {
      datanet,
      contentHash: `0x${createHash('sha256').update(text).digest('hex')}`,
      title: 'gull',
      mediaType: 'text/plain',
      size: String(Buffer.byteLength(text) + 3),
    })
    await submitPastAdmission(node, tx)

    const json = await cli(['datanet', 'queue', 'Ship Log', '--json'])
    expect(json.code, json.stderr).toBe(0)
    const q = JSON.parse(json.stdout)
    expect(q.total).toBe(2)
    expect(q.contributions.map((c: any) => [c.title, c.blob, c.blobSize])).toEqual([
      ['noon.txt', 'present', Buffer.byteLength('At noon the ship turned for home.')],
      ['gull', 'size_mismatch', Buffer.byteLength(text)],
    ])
    const human = await cli(['datanet', 'queue', 'Ship Log'])
    expect(human.stdout).toContain('2 contribution(s) await review in Ship Log')
    expect(human.stdout).toContain(`blob size mismatch: ${Buffer.byteLength(text)} bytes, declared ${Buffer.byteLength(text) + 3}`)
    expect(human.stdout).toContain('blob present  1 record(s)')
  })

  it('exclude takes an accepted contribution out of the next version', async () => {
    expect((await client.submit(dev[0].privateKey, 'Review', { contribution: good, accept: true, reason: '' })).status).toBe(200)
    const r = await cli(['datanet', 'exclude', good, '--reason', 'the log page was torn', '--dev-account', '0', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ datanet, contribution: good, excluded: 1 })
    expect((await http(`${node.url}/v1/contributions/${good}`)).json.excluded).toMatchObject({ reason: 'the log page was torn' })
  })
})
