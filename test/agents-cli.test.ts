/**
 * The agents CLI and `sinew mcp` on stdio (official SDK client, the server signing with the
 * agent's dev key) against a real node: register, post, claim, submit, verify, cancel, expire,
 * reuse, replay.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256, type Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { countTxs, dev, http, repoRoot, runCli, startDevNode, tempDir, testClock } from './helpers.ts'

const SIN = 10n ** 18n
let node: RunningNode
/** The node's clock: deadline tests move it forward instead of sleeping. */
const clock = testClock()
let tmp: ReturnType<typeof tempDir>
let url: string
const poster = dev[7]
const worker = dev[8]
const RESULT = 'traduis ceci — « translate this »\nligne 2\n'

const balance = async (a: string) => BigInt((await http(`${url}/v1/accounts/${a}`)).json.balance)
async function cli(args: string[]) {
  const r = await runCli([...args, '--node', url, '--json'])
  if (r.code !== 0) throw new Error(`sinew ${args.join(' ')} failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/**
 * Worker 8 registers, poster 7 posts "translate this", 8 claims and submits RESULT, 7
 * accepts: what the first test checks, run once on first use by whichever test needs the
 * accepted task first (so each test also runs alone).
 */
let accepted: Promise<Hex> | undefined
const acceptedTask = (): Promise<Hex> => (accepted ??= acceptFlow())
async function acceptFlow(): Promise<Hex> {
  const reg = await cli(['agent', 'register', '--dev-account', '8', '--name', 'worker-8', '--capability', 'summarize', '--capability', 'translate'])
  expect(reg.receipt.result).toEqual({ agent: worker.address, name: 'worker-8' })
  const list = await cli(['agent', 'list'])
  expect(list.agents.map((a: any) => [a.address, a.agent.capabilities])).toEqual([[worker.address, ['summarize', 'translate']]])

  const p0 = await balance(poster.address)
  const w0 = await balance(worker.address)
  const post = await cli([
    'task',
    'post',
    '--dev-account',
    '7',
    '--title',
    'cli task',
    '--spec',
    'translate this',
    '--reward',
    '2.5',
    '--deadline-in',
    '120',
    '--claim-stake',
    '0.5',
  ])
  expect(post.posted).toBe(true)
  const id: Hex = post.task
  const specHash = sha256('translate this')
  expect(post.specBlob).toEqual({ hash: specHash, size: 14, created: true, url: `/v1/blobs/${specHash.slice(2)}` })
  expect((await http(`${url}/v1/tasks/${id}`)).json.specBlob).toEqual({ hash: specHash, stored: true, size: 14, url: `/v1/blobs/${specHash.slice(2)}` })
  expect(await balance(poster.address)).toBe(p0 - (5n * SIN) / 2n)

  const claim = await cli(['task', 'claim', id, '--dev-account', '8'])
  expect(claim.receipt.result.stake).toBe((SIN / 2n).toString())
  const resultFile = join(tmp.dir, 'result.md')
  writeFileSync(resultFile, RESULT)
  const sub = await cli(['task', 'submit', id, '--dev-account', '8', '--result-file', resultFile])
  expect(sub.receipt.result.resultHash).toBe(sha256(RESULT))
  expect(sub.resultBlob).toMatchObject({ hash: sha256(RESULT), size: Buffer.byteLength(RESULT), created: true })

  // the poster reads both texts from the node before judging
  const shown = await cli(['task', 'show', id])
  expect(shown).toMatchObject({ effectiveStatus: 'submitted', specText: 'translate this', resultText: RESULT })
  expect(shown.resultBlob).toEqual({ hash: sha256(RESULT), stored: true, size: Buffer.byteLength(RESULT), url: `/v1/blobs/${sha256(RESULT).slice(2)}` })
  const text = await runCli(['task', 'show', id, '--node', url])
  expect(text.code).toBe(0)
  expect(text.stdout).toContain('\nspec (14 bytes):\ntranslate this\n')
  expect(text.stdout).toContain(`\nresult (${Buffer.byteLength(RESULT)} bytes):\n${RESULT}`)
  const bad = await runCli(['task', 'verify', id, '--dev-account', '8', '--accept', '--node', url, '--json'])
  expect(bad.code).toBe(1)
  expect(JSON.parse(bad.stderr).error.code).toBe('not_verifier')
  const v = await cli(['task', 'verify', id, '--dev-account', '7', '--accept'])
  expect(v.receipt.result.outcome).toBe('accepted')

  expect(await balance(worker.address)).toBe(w0 + (5n * SIN) / 2n)
  expect(await balance(poster.address)).toBe(p0 - (5n * SIN) / 2n)
  const show = await cli(['agent', 'show', worker.address])
  expect(show.reputation).toMatchObject({ accepted: 1, earned: ((5n * SIN) / 2n).toString() })
  const human = await runCli(['agent', 'show', worker.address, '--node', url])
  expect(human.stdout).toContain('accepted 1')
  expect(human.stdout).toContain('earned 2.5 SIN')
  return id
}

/** A task whose spec is 120 009 bytes (over what `task show` prints), posted from a file once. */
let bigPosted: Promise<{ task: Hex; big: string; url: string }> | undefined
const bigSpecTask = () =>
  (bigPosted ??= (async () => {
    // 9 + 3 × 40000 bytes; the first 16 KiB end inside a 3-byte character, which is left out
    const big = 'BIG SPEC\n' + '€'.repeat(40_000)
    const bigFile = join(tmp.dir, 'big-spec.md')
    writeFileSync(bigFile, big)
    const posted = await cli(['task', 'post', '--dev-account', '7', '--spec-file', bigFile, '--reward-units', '10', '--deadline-in', '120'])
    expect(posted.specBlob).toMatchObject({ hash: sha256(big), size: 120_009 })
    return { task: posted.task as Hex, big, url: posted.specBlob.url as string }
  })())

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir, {}, { clock: clock.now })
  url = node.url
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

describe('sinew agent and sinew task', () => {
  it('register, post, claim, submit, verify: balances and reputation exact', async () => {
    await acceptedTask()
  })

  it('posting the same spec again points to the accepted result and posts nothing', async () => {
    const id = await acceptedTask()
    const p0 = await balance(poster.address)
    const again = await cli(['task', 'post', '--dev-account', '7', '--spec', 'translate this', '--reward', '1', '--deadline-in', '60'])
    expect(again.posted).toBe(false)
    expect(again.acceptedResults[0]).toMatchObject({ task: id, resultHash: sha256(RESULT), claimer: worker.address })
    expect(await balance(poster.address)).toBe(p0)
  })

  it('bad input to task post and submit: an empty spec, a missing result file; nothing uploaded or signed', async () => {
    const height = async () => (await http(`${url}/v1/status`)).json.height
    const id = await acceptedTask()
    const h0 = await height()
    const empty = await runCli(['task', 'post', '--dev-account', '7', '--spec', '', '--reward', '1', '--deadline-in', '60', '--node', url, '--json'])
    expect(empty.code).toBe(1)
    expect(JSON.parse(empty.stderr).error).toMatchObject({ code: 'invalid_field', details: { field: '--spec' } })
    const missing = join(tmp.dir, 'no-such-result.md')
    const sub = await runCli(['task', 'submit', id, '--dev-account', '8', '--result-file', missing, '--node', url, '--json'])
    expect(sub.code).toBe(1)
    expect(JSON.parse(sub.stderr).error).toMatchObject({ code: 'file_not_found', details: { field: '--result-file', file: missing } })
    expect(await height()).toBe(h0)
  })

  it('task show: the accepted result; a spec the node lacks; a big spec cut at a character boundary', async () => {
    const accepted = await runCli(['task', 'show', await acceptedTask(), '--node', url])
    expect(accepted.stdout).toContain(`\nresult (${Buffer.byteLength(RESULT)} bytes):\n${RESULT}`)

    // --spec-hash: bring your own bytes, nothing uploaded
    const foreign = sha256('bytes kept elsewhere')
    const byHash = await cli(['task', 'post', '--dev-account', '7', '--spec-hash', foreign, '--reward-units', '10', '--deadline-in', '120'])
    expect(byHash.specBlob).toBeNull()
    const lacking = await cli(['task', 'show', byHash.task])
    expect(lacking.specText).toBeNull()
    expect(lacking.specBlob).toEqual({ hash: foreign, stored: false, size: null, url: `/v1/blobs/${foreign.slice(2)}`, note: 'not stored on this node' })
    expect((await runCli(['task', 'show', byHash.task, '--node', url])).stdout).toContain(`\nspec: not stored on this node (${url})`)
    // human output says what the tx did
    const cancelled = await runCli(['task', 'cancel', byHash.task, '--dev-account', '7', '--node', url])
    expect(cancelled.code).toBe(0)
    expect(cancelled.stdout).toContain(`Cancelled task ${byHash.task}: the reward of 0.00000000000000001 SIN went back to the poster\n  tx 0x`)

    const posted = await bigSpecTask()
    const big = posted.big
    const shown = await cli(['task', 'show', posted.task])
    const shownText = 'BIG SPEC\n' + '€'.repeat(5458)
    expect(shown.specText).toBe(shownText)
    expect(shown.specBlob).toMatchObject({
      stored: true,
      size: 120_009,
      truncated: true,
      note: `the first ${Buffer.byteLength(shownText)} of 120009 bytes: GET /v1/blobs/${sha256(big).slice(2)} for all of it`,
    })
    const human = (await runCli(['task', 'show', posted.task, '--node', url])).stdout
    expect(human).toContain(`\nspec (120009 bytes, truncated):\n${shownText}\n… (the first 16383 of 120009 bytes`)
    const whole = await fetch(`${url}${posted.url}`)
    expect(await whole.text()).toBe(big)
  })
})

describe('sinew mcp on stdio', () => {
  it('signs with the agent key: claim, submit, cancel and expire without a signed tx', async () => {
    const post = await cli(['task', 'post', '--dev-account', '7', '--spec', 'stdio spec', '--reward-units', '1000', '--deadline-in', '120'])
    const mcp = new Client({ name: 'stdio-agent', version: '1.0.0' })
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'mcp', '--dev-account', '8', '--node', url],
        cwd: repoRoot,
        stderr: 'ignore',
      }),
    )
    try {
      const call = async (name: string, args: Record<string, unknown>) => (await mcp.callTool({ name, arguments: args })) as any
      const w0 = BigInt((await call('balance', {})).structuredContent.balance)
      const open = (await call('list_tasks', { status: 'open' })).structuredContent
      expect(open.tasks.map((t: any) => t.id)).toContain(post.task)
      const claim = await call('claim_task', { task: post.task })
      expect(claim.isError).toBeFalsy()
      expect(claim.structuredContent.result).toMatchObject({ claimer: worker.address, stake: '0' })
      // the stdio agent reads the spec through the node before working, as over HTTP
      const spec = (await call('get_task', { task: post.task })).structuredContent
      expect(spec.specText).toBe('stdio spec')
      // over the 64 KiB inline limit: no text, the URL instead
      const big = (await call('get_task', { task: (await bigSpecTask()).task })).structuredContent
      expect(big.specText).toBeNull()
      expect(big.specBlob).toMatchObject({ stored: true, size: 120_009, note: `120009 bytes, over the 65536-byte inline limit: GET ${big.specBlob.url}` })
      expect(big.specBlob.truncated).toBeUndefined()
      const sub = await call('submit_result', { task: post.task, result: 'done' })
      expect(sub.structuredContent.result.resultHash).toBe(sha256('done'))
      expect(sub.structuredContent.resultBlob).toMatchObject({ hash: sha256('done'), size: 4 })
      expect((await call('get_task', { task: post.task })).structuredContent.resultText).toBe('done')
      const notMine = await call('verify_result', { task: post.task, accept: true })
      expect(notMine.isError).toBe(true)
      expect(notMine.structuredContent.error.code).toBe('not_verifier')
      const malformed = await call('post_task', { reward: 12 })
      expect(malformed.isError).toBe(true)
      expect(malformed.content[0].text).toMatch(/Input validation error/)

      // cancel_task / expire_task: plain arguments, the server signs
      const names = (await mcp.listTools()).tools.map((t) => t.name)
      expect(names).toEqual(expect.arrayContaining(['cancel_task', 'expire_task']))
      expect((await call('cancel_task', {})).structuredContent.error).toMatchObject({ code: 'missing_field', details: { field: 'task' } })
      expect((await call('cancel_task', { task: 'nope' })).content[0].text).toMatch(/Input validation error/)
      const notPoster = await call('cancel_task', { task: post.task })
      expect(notPoster.isError).toBe(true)
      expect(notPoster.structuredContent.error).toMatchObject({ code: 'not_poster', details: { field: 'sender', poster: poster.address } })
      const own = (await call('post_task', { spec: 'stdio cancel spec', reward: '777', ttlSeconds: 120 })).structuredContent
      expect(BigInt((await call('balance', {})).structuredContent.balance)).toBe(w0 - 777n)
      const cancel = await call('cancel_task', { task: own.task })
      expect(cancel.isError).toBeFalsy()
      expect(cancel.structuredContent.result).toEqual({ task: own.task, refunded: '777' })
      expect(BigInt((await call('balance', {})).structuredContent.balance)).toBe(w0)
      const deadline = clock.now() + 60_000n
      const short = (await call('post_task', { spec: 'stdio expire spec', reward: '555', deadline: String(deadline) })).structuredContent
      const early = await call('expire_task', { task: short.task })
      expect(early.structuredContent.error).toMatchObject({ code: 'deadline_not_reached', details: { field: 'message.task', task: short.task } })
      expect((await call('get_task', { task: short.task })).structuredContent.deadline).toBe(String(deadline))
      clock.advance(60_000) // the node's time passes the deadline
      const expired = await call('expire_task', { task: short.task })
      expect(expired.isError).toBeFalsy()
      expect(expired.structuredContent.result).toEqual({ task: short.task, refunded: '555' })
      expect(BigInt((await call('balance', {})).structuredContent.balance)).toBe(w0)
      await cli(['task', 'verify', post.task, '--dev-account', '7', '--accept'])
      expect(BigInt((await call('balance', {})).structuredContent.balance)).toBe(w0 + 1000n)
    } finally {
      await mcp.close()
    }
  })

  it('sinew verify replays the chain', async () => {
    await acceptedTask() // something to replay, also when this test runs alone
    const committed = await countTxs(node)
    expect(committed).toBeGreaterThan(0)
    await node.close()
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, txs: committed })
  })
})
