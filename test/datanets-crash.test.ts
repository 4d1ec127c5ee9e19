/**
 * The datanet CLI against a node in a child process, and `kill -9` in the middle of an
 * index build: after a restart the version becomes ready by itself and every acknowledged
 * tx is still there.
 */
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dev, http, runCli, spawnNode, tempDir, waitFor } from './helpers.ts'

let tmp: ReturnType<typeof tempDir>
let child: ChildProcess | undefined
let url: string

beforeAll(async () => {
  tmp = tempDir()
  const init = await runCli(['init', '--dev', '--data-dir', tmp.dir])
  expect(init.code).toBe(0)
  ;({ child, url } = await spawnNode(['--data-dir', tmp.dir], { SINEW_TEST_BUILD_DELAY_MS: '1500' }))
}, 60_000)

afterAll(async () => {
  child?.kill('SIGKILL')
  tmp?.cleanup()
})

const cli = async (args: string[]) => {
  const r = await runCli([...args, '--node', url, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

/**
 * The Datanet "Crash Test" made from the CLI (create, contribute three files, review, publish
 * without waiting for the index): what the first test checks, done once on first use so each
 * test also runs alone. Resolves with its id and the tx/contribution hashes acknowledged.
 */
let made: Promise<{ id: string; acked: string[] }> | undefined
const published = () => (made ??= publish())
async function publish(): Promise<{ id: string; acked: string[] }> {
  const acked: string[] = []
  const created = await cli(['datanet', 'create', '--name', 'Crash Test', '--dev-account', '0', '--stake', '2', '--media-types', 'txt,csv,md'])
  const id: string = created.datanet
  const files = {
    'a.txt': 'Amber waves of grain rolled past the old mill where the miller kept three grey cats.',
    'b.csv': 'who,said\nann,"the quarry bell rings twice before the blasting starts"\n',
    'c.md': '# Notes\n\nA kettle of hawks circled above the reservoir for most of the afternoon.',
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp.dir, name), text)
  const one = await cli(['datanet', 'contribute', join(tmp.dir, 'a.txt'), join(tmp.dir, 'b.csv'), '--datanet', 'Crash Test', '--dev-account', '1'])
  const two = await cli(['datanet', 'contribute', join(tmp.dir, 'c.md'), '--datanet', id, '--dev-account', '2', '--title', 'Hawks'])
  const contributions = [...one, ...two]
  expect(contributions.map((c: { records: number }) => c.records)).toEqual([1, 1, 1])
  for (const c of contributions) {
    const r = await cli(['datanet', 'review', c.contribution, '--accept', '--dev-account', '0'])
    expect(r.status).toBe('accepted')
    acked.push(c.contribution)
  }
  const v = await cli(['datanet', 'publish', 'Crash Test', '--dev-account', '0', '--no-wait'])
  expect(v).toMatchObject({ version: 1, contributions: 3 })
  acked.push(v.txHash)
  return { id, acked }
}

describe('sinew datanet and kill -9 during an index build', () => {
  it('create, contribute files, review and publish from the CLI', async () => {
    await published()
  }, 120_000)

  it('a node killed mid-build finishes the index after restart; nothing acknowledged is lost', async () => {
    const { id, acked } = await published()
    const state = await waitFor(
      async () => (await http(`${url}/v1/datanets/${id}/versions/1`)).json.build.state,
      (s) => s === 'building' || s === 'ready',
    )
    expect(state).toBe('building')
    child!.kill('SIGKILL')
    await new Promise((r) => child!.once('exit', r))
    ;({ child, url } = await spawnNode(['--data-dir', tmp.dir]))
    const v = await cli(['datanet', 'show', id, '--ver', '1', '--wait'])
    expect(v.build).toMatchObject({ state: 'ready', attempts: 2, index: { documents: 3 } })
    for (const hash of acked) expect((await http(`${url}/v1/tx/${hash}`)).status).toBe(200)
    const found = await cli(['datanet', 'search', 'Crash Test', 'quarry', 'bell', 'rings', 'twice'])
    expect(found.count).toBe(1)
    expect(found.matches[0].title).toBe('b.csv')
    const human = await runCli(['datanet', 'search', 'Crash Test', 'kettle of hawks', '--node', url])
    expect(human.stdout).toContain('Hawks')
    const shown = await cli(['datanet', 'show', 'Crash Test'])
    expect(shown.counts).toEqual({ contributions: 3, pending: 0, accepted: 3, rejected: 0 })
    expect((await cli(['datanet', 'list'])).datanets[0].id).toBe(id)
  }, 240_000) // alone, it publishes the Datanet first

  it('CLI bad input: a missing file or a placeholder id is named before anything is uploaded or signed', async () => {
    const { id } = await published()
    const height = async () => (await http(`${url}/v1/status`)).json.height
    const h0 = await height()
    const missing = join(tmp.dir, 'missing.txt')
    // a.txt exists, missing.txt does not: nothing is uploaded or contributed, not even a.txt
    const contribute = await runCli(['datanet', 'contribute', join(tmp.dir, 'a.txt'), missing, '--datanet', id, '--dev-account', '3', '--node', url, '--json'])
    expect(contribute.code).toBe(1)
    expect(JSON.parse(contribute.stderr).error).toMatchObject({ code: 'file_not_found', details: { field: 'files', file: missing, reason: 'ENOENT' } })
    const human = await runCli(['datanet', 'contribute', missing, '--datanet', id, '--dev-account', '3', '--node', url])
    expect(human.stderr).toContain(`error: files: ${missing} does not exist (file_not_found)`)
    const review = await runCli(['datanet', 'review', '0x<contribution>', '--accept', '--dev-account', '0', '--node', url, '--json'])
    expect(review.code).toBe(1)
    expect(JSON.parse(review.stderr).error).toMatchObject({ code: 'invalid_field', details: { field: 'contribution', type: 'bytes32' } })
    expect(review.stderr).not.toContain('viem')
    expect(await height()).toBe(h0)
    expect((await http(`${url}/v1/datanets/${id}/contributions?author=${dev[3].address}`)).json.total).toBe(0)
  })
})
