/**
 * Two agents on the task board through the official MCP SDK client (Streamable HTTP), each
 * signing its own txs with viem: one posts a task, the other finds, claims and submits it,
 * the poster accepts; balances and reputations move exactly; a second poster of the same
 * spec is pointed at the accepted result; a poster cancels and a stranger expires, and the
 * reward comes back exactly; every refusal changes nothing; `sinew verify` replays it all.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256, type Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { countTxs, dev, http, runCli, startDevNode, tempDir, testClock } from './helpers.ts'

const SIN = 10n ** 18n
const START = 10_000n * SIN
let node: RunningNode
/** The node's clock: deadline tests move it forward instead of sleeping. */
const clock = testClock()
let tmp: ReturnType<typeof tempDir>
let url: string
const poster = dev[3]
const worker = dev[4]
const poster2 = dev[5]
const stranger = dev[6]

type Agent = { key: Hex; address: Hex; mcp: Client }
let A: Agent // poster
let B: Agent // worker
let C: Agent // second poster of the same spec
let D: Agent // a stranger

async function connect(key: Hex, address: Hex): Promise<Agent> {
  const mcp = new Client({ name: `agent-${address.slice(2, 8)}`, version: '1.0.0' })
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))
  return { key, address, mcp }
}

async function call(agent: Agent, name: string, args: Record<string, unknown>) {
  const r = (await agent.mcp.callTool({ name, arguments: args })) as { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: any }
  return { isError: r.isError === true, text: r.content[0]?.text ?? '', data: r.structuredContent }
}

async function ok(agent: Agent, name: string, args: Record<string, unknown>) {
  const r = await call(agent, name, args)
  if (r.isError) throw new Error(`${name} failed: ${r.text}`)
  return r.data
}

/** Signs a tx client-side from get_signing_info, exactly as an agent with its own wallet would. */
async function sign(agent: Agent, kind: string, message: Record<string, unknown>) {
  const info = await ok(agent, 'get_signing_info', { address: agent.address, kind })
  const types = info.kinds[kind].types as Record<string, { name: string; type: string }[]>
  const wire: Record<string, unknown> = { ...message, nonce: info.nonce }
  const typed: Record<string, unknown> = {}
  for (const f of types[kind]) typed[f.name] = /^uint\d+$/.test(f.type) ? BigInt(wire[f.name] as string) : wire[f.name]
  const signature = await privateKeyToAccount(agent.key).signTypedData({
    domain: { name: info.domain.name, version: info.domain.version, chainId: BigInt(info.domain.chainId) },
    types,
    primaryType: kind,
    message: typed,
  } as any)
  return { type: kind, message: wire, signature }
}

async function balance(address: Hex): Promise<bigint> {
  return BigInt((await http(`${url}/v1/accounts/${address}`)).json.balance)
}

/** GET /v1/blobs/<sha256>: the status, and the bytes as text. */
async function blob(hash: string) {
  const r = await fetch(`${url}/v1/blobs/${hash.replace(/^0x/, '')}`)
  return { status: r.status, text: await r.text() }
}

async function snapshot() {
  const s = (await http(`${url}/v1/status`)).json
  return { height: s.height, stateRoot: s.stateRoot }
}

const SPEC = 'Summarize the 1863 State of the Union address in 3 sentences.'
const RESULT = 'Lincoln reported on the war, emancipation and the economy...'
const REWARD = 5n * SIN
const STAKE = 1n * SIN
let taskId: Hex

/**
 * A posts SPEC, B claims and submits RESULT, A accepts: the flow the first test checks, run
 * once on first use (by whichever test needs an accepted task first, so each test runs alone).
 */
let accepted: Promise<Hex> | undefined
const acceptedTask = (): Promise<Hex> => (accepted ??= acceptFlow())
async function acceptFlow(): Promise<Hex> {
  const a0 = await balance(poster.address)
  const b0 = await balance(worker.address)
  const reputation = async (a: Hex) =>
    (await http(`${url}/v1/agents/${a}`)).json.reputation ?? { claims: 0, accepted: 0, rejected: 0, expired: 0, earned: '0', posted: 0, paid: '0', verdicts: 0 }
  const repA0 = await reputation(poster.address)
  const repB0 = await reputation(worker.address)
  const specHash = sha256(SPEC)
  expect((await blob(specHash)).status).toBe(404)
  const post = await ok(A, 'post_task', {
    spec: SPEC, // checked against the signed specHash, then stored on the node
    signedTx: await sign(A, 'PostTask', {
      title: 'Summarize SOTU 1863',
      specHash,
      reward: REWARD.toString(),
      deadline: String(clock.now() + 120_000n),
      leaseMs: '60000',
      claimStake: STAKE.toString(),
      verifiers: [],
      threshold: '0',
    }),
  })
  expect(post.posted).toBe(true)
  taskId = post.task
  expect(taskId).toMatch(/^0x[0-9a-f]{64}$/)
  expect(post.result).toEqual({ task: taskId, escrow: REWARD.toString() })
  expect(post.specBlob).toEqual({ hash: specHash, size: Buffer.byteLength(SPEC), created: true, url: `/v1/blobs/${specHash.slice(2)}` })
  expect(await blob(specHash)).toEqual({ status: 200, text: SPEC })
  expect(await balance(poster.address)).toBe(a0 - REWARD)

  const open = await ok(B, 'list_tasks', { status: 'open' })
  expect(open.tasks.map((t: { id: string }) => t.id)).toContain(taskId)
  const found = open.tasks.find((t: { id: string }) => t.id === taskId)
  expect(found).toMatchObject({ poster: poster.address, reward: REWARD.toString(), claimStake: STAKE.toString(), specHash, claimable: true })
  // B reads what the work is before claiming it
  const before = await ok(B, 'get_task', { task: taskId })
  expect(before.specText).toBe(SPEC)
  expect(before.specBlob).toEqual({ hash: specHash, stored: true, size: Buffer.byteLength(SPEC), url: `/v1/blobs/${specHash.slice(2)}` })
  expect(before.resultText).toBeNull()
  expect(before.resultBlob).toBeNull()
  // the HTTP view says where the bytes are, never the bytes
  const view = (await http(`${url}/v1/tasks/${taskId}`)).json
  expect(view.specBlob).toEqual(before.specBlob)
  expect(view).not.toHaveProperty('specText')

  const claim = await ok(B, 'claim_task', { signedTx: await sign(B, 'ClaimTask', { task: taskId, stake: found.claimStake }) })
  expect(claim.result).toMatchObject({ task: taskId, claimer: worker.address, stake: STAKE.toString() })
  expect(await balance(worker.address)).toBe(b0 - STAKE)
  expect((await ok(A, 'get_task', { task: taskId })).effectiveStatus).toBe('claimed')

  const sub = await ok(B, 'submit_result', { result: RESULT, signedTx: await sign(B, 'SubmitResult', { task: taskId, resultHash: sha256(RESULT) }) })
  expect(sub.result).toMatchObject({ task: taskId, resultHash: sha256(RESULT), verifiers: [poster.address], threshold: 1 })
  expect(sub.resultBlob).toMatchObject({ hash: sha256(RESULT), size: Buffer.byteLength(RESULT), created: true })

  // A reads the result before judging it
  const pending = await ok(A, 'get_task', { task: taskId })
  expect(pending.effectiveStatus).toBe('submitted')
  expect(pending.resultText).toBe(RESULT)
  expect(pending.specText).toBe(SPEC)
  expect(pending.resultBlob).toEqual({ hash: sha256(RESULT), stored: true, size: Buffer.byteLength(RESULT), url: `/v1/blobs/${sha256(RESULT).slice(2)}` })
  expect((await http(`${url}/v1/tasks/${taskId}`)).json.resultBlob).toEqual(pending.resultBlob)

  const verdict = await ok(A, 'verify_result', { signedTx: await sign(A, 'VerifyResult', { task: taskId, accept: true }) })
  expect(verdict.result).toMatchObject({ outcome: 'accepted', paid: REWARD.toString(), stakeReturned: STAKE.toString(), claimer: worker.address })

  expect(await balance(worker.address)).toBe(b0 + REWARD)
  expect(await balance(poster.address)).toBe(a0 - REWARD)
  const task = await ok(A, 'get_task', { task: taskId })
  expect(task).toMatchObject({ status: 'accepted', escrow: '0', result: { claimer: worker.address, resultHash: sha256(RESULT) } })
  expect(task.resultText).toBe(RESULT) // the accepted result stays readable

  const repB = (await ok(A, 'get_agent', { address: worker.address })).reputation
  expect(repB).toMatchObject({
    claims: repB0.claims + 1,
    accepted: repB0.accepted + 1,
    rejected: repB0.rejected,
    expired: repB0.expired,
    earned: (BigInt(repB0.earned) + REWARD).toString(),
  })
  const repA = (await http(`${url}/v1/agents/${poster.address}`)).json
  expect(repA).toMatchObject({
    registered: false,
    reputation: { posted: repA0.posted + 1, paid: (BigInt(repA0.paid) + REWARD).toString(), verdicts: repA0.verdicts + 1 },
  })
  expect((await ok(B, 'balance', { address: worker.address })).balance).toBe((b0 + REWARD).toString())
  return taskId
}

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir, {}, { clock: clock.now })
  url = node.url
  A = await connect(poster.privateKey, poster.address)
  B = await connect(worker.privateKey, worker.address)
  C = await connect(poster2.privateKey, poster2.address)
  D = await connect(stranger.privateKey, stranger.address)
})

afterAll(async () => {
  for (const a of [A, B, C, D]) await a?.mcp.close()
  await node?.close()
  tmp?.cleanup()
})

describe('two agents over MCP', () => {
  it('lists every tool; the data and model tools answer from the node', async () => {
    const { tools } = await A.mcp.listTools()
    const names = tools.map((t) => t.name)
    for (const n of [
      'balance',
      'list_tasks',
      'post_task',
      'claim_task',
      'submit_result',
      'verify_result',
      'cancel_task',
      'expire_task',
      'get_signing_info',
      'search_datanets',
      'search_data',
      'list_models',
      'chat',
      'get_receipt',
    ]) {
      expect(names).toContain(n)
    }
    expect(await ok(A, 'search_datanets', { query: 'nothing here yet' })).toEqual({ datanets: [], total: 0 })
    expect((await ok(A, 'list_models', {})).models).toEqual([])
    const search = await call(A, 'search_data', { datanet: 'Nope', version: 1, query: 'x' })
    expect(search.isError).toBe(true)
    expect(search.data.error.code).toBe('datanet_not_found')
    const receipt = await call(A, 'get_receipt', { id: '0x' + '00'.repeat(32) })
    expect(receipt.isError).toBe(true)
    expect(receipt.data.error.code).toBe('not_found')
    const chat = await call(A, 'chat', { model: 'none', messages: [{ role: 'user', content: 'hi' }], apiKey: 'sk-sinew-unknown-key' })
    expect(chat.isError).toBe(true)
    expect(chat.data.error.code).toBe('invalid_api_key')
    const malformed = await call(A, 'search_data', { datanet: 'x', version: 'one', query: 'x' })
    expect(malformed.isError).toBe(true)
    for (const id of ['cancel_task', 'expire_task']) {
      expect(tools.find((t) => t.name === id)!.annotations?.readOnlyHint).toBe(false)
    }
  })

  it('the worker registers as an agent', async () => {
    const tx = await sign(B, 'RegisterAgent', {
      name: 'summarizer-b',
      description: 'Summaries of long documents',
      capabilities: ['summarize'],
      endpoint: 'https://agent-b.example/mcp',
    })
    const r = await ok(B, 'register_agent', { signedTx: tx })
    expect(r.result).toEqual({ agent: worker.address, name: 'summarizer-b' })
    const agents = await ok(A, 'list_agents', { capability: 'summarize' })
    expect(agents.agents.map((a: { address: string }) => a.address)).toEqual([worker.address])
  })

  it("write tools over HTTP need a signed tx; malformed arguments are an MCP error, a malformed signedTx the node's envelope error; nothing is written", async () => {
    const before = await snapshot()
    const unsigned = await call(B, 'claim_task', { task: '0x' + '11'.repeat(32) })
    expect(unsigned.isError).toBe(true)
    expect(unsigned.data.error.code).toBe('signer_required')
    const malformed = await call(B, 'claim_task', { task: 'not-a-hash', stake: 5 })
    expect(malformed.isError).toBe(true)
    expect(malformed.text).toMatch(/Input validation error/)
    const badSig = await call(B, 'verify_result', { signedTx: { type: 'VerifyResult', message: {}, signature: 12 } })
    expect(badSig.isError).toBe(true)
    expect(badSig.data.error).toMatchObject({ code: 'invalid_field', details: { field: 'signedTx.signature' } })
    const noMessage = await call(B, 'verify_result', { signedTx: { type: 'VerifyResult', message: {}, signature: 'xyz' } })
    expect(noMessage.data.error).toMatchObject({ code: 'missing_field', details: { field: 'tx.message.task' } })
    const wrongKind = await call(B, 'claim_task', { signedTx: await sign(B, 'VerifyResult', { task: '0x' + '11'.repeat(32), accept: true }) })
    expect(wrongKind.data.error).toMatchObject({ code: 'invalid_field', details: { field: 'signedTx.type' } })
    for (const tool of ['cancel_task', 'expire_task']) {
      const noSigner = await call(B, tool, { task: '0x' + '11'.repeat(32) })
      expect(noSigner.data.error.code).toBe('signer_required')
      const badTask = await call(B, tool, { task: '0x1234' })
      expect(badTask.isError).toBe(true)
      expect(badTask.text).toMatch(/Input validation error/)
      const extra = await call(B, tool, { signedTx: { type: 'CancelTask', message: {}, signature: '0xab', extra: 1 } })
      expect(extra.data.error).toMatchObject({ code: 'unknown_field', details: { field: 'signedTx.extra' } })
    }
    // each takes only its own kind: an ExpireTask tx is not a cancellation, and vice versa
    const crossed = await call(B, 'cancel_task', { signedTx: await sign(B, 'ExpireTask', { task: '0x' + '11'.repeat(32) }) })
    expect(crossed.data.error).toMatchObject({ code: 'invalid_field', details: { field: 'signedTx.type', expected: 'CancelTask', got: 'ExpireTask' } })
    const crossed2 = await call(B, 'expire_task', { signedTx: await sign(B, 'CancelTask', { task: '0x' + '11'.repeat(32) }) })
    expect(crossed2.data.error).toMatchObject({ code: 'invalid_field', details: { field: 'signedTx.type', expected: 'ExpireTask', got: 'CancelTask' } })
    expect(await snapshot()).toEqual(before)
  })

  it('A posts, B finds, claims and submits, A accepts: money and reputation move exactly', async () => {
    await acceptedTask()
  })

  it('a second poster of the same spec is pointed to the accepted result', async () => {
    const taskId = await acceptedTask()
    const c0 = await balance(poster2.address)
    const before = await snapshot()
    const tx = await sign(C, 'PostTask', {
      title: 'Summarize SOTU 1863 please',
      specHash: sha256(SPEC),
      reward: (2n * SIN).toString(),
      deadline: String(clock.now() + 120_000n),
      leaseMs: '60000',
      claimStake: '0',
      verifiers: [],
      threshold: '0',
    })
    const r = await ok(C, 'post_task', { signedTx: tx })
    expect(r.posted).toBe(false)
    expect(r.warning).toMatch(/already has 1 accepted result/)
    expect(r.acceptedResults).toEqual([{ task: taskId, resultHash: sha256(RESULT), claimer: worker.address, acceptedAt: expect.any(String) }])
    expect(await balance(poster2.address)).toBe(c0)
    expect(await snapshot()).toEqual(before)
    const bySpec = (await http(`${url}/v1/tasks?spec=${sha256(SPEC)}`)).json
    expect(bySpec.acceptedResults[0].task).toBe(taskId)
    // posting anyway works, and its receipt names the earlier result too
    const forced = await ok(C, 'post_task', { signedTx: tx, force: true })
    expect(forced.posted).toBe(true)
    expect(forced.result.priorResults[0]).toMatchObject({ task: taskId, resultHash: sha256(RESULT) })
    expect(await balance(poster2.address)).toBe(c0 - 2n * SIN)
  })

  it('the poster cancels an open task with cancel_task: the reward comes back exactly', async () => {
    const c0 = await balance(poster2.address)
    const reward = 3n * SIN + 7n // odd base units: nothing rounds
    const post = await ok(C, 'post_task', {
      signedTx: await sign(C, 'PostTask', {
        title: 'to withdraw',
        specHash: sha256('withdrawn spec'),
        reward: reward.toString(),
        deadline: String(clock.now() + 120_000n),
        leaseMs: '60000',
        claimStake: '0',
        verifiers: [],
        threshold: '0',
      }),
    })
    expect(post.posted).toBe(true)
    expect(await balance(poster2.address)).toBe(c0 - reward)
    const rep0 = (await ok(C, 'get_agent', { address: poster2.address })).reputation

    const cancel = await ok(C, 'cancel_task', { signedTx: await sign(C, 'CancelTask', { task: post.task }) })
    expect(cancel).toMatchObject({ hash: expect.stringMatching(/^0x[0-9a-f]{64}$/), result: { task: post.task, refunded: reward.toString() } })
    expect(cancel.result.lapsedClaim).toBeUndefined()
    expect(cancel.sender).toBe(poster2.address.toLowerCase()) // recovered by the node: the envelope carries no `from`
    expect(await balance(poster2.address)).toBe(c0)
    expect(await ok(C, 'get_task', { task: post.task })).toMatchObject({
      status: 'cancelled',
      effectiveStatus: 'cancelled',
      escrow: '0',
      claimable: false,
      expirable: false,
    })
    expect((await ok(C, 'get_agent', { address: poster2.address })).reputation).toMatchObject({ posted: rep0.posted, cancelled: rep0.cancelled + 1 })

    // a cancelled task is closed: cancelling again or claiming it changes nothing
    const before = await snapshot()
    const again = await call(C, 'cancel_task', { signedTx: await sign(C, 'CancelTask', { task: post.task }) })
    expect(again.isError).toBe(true)
    expect(again.data.error).toMatchObject({ code: 'task_closed', details: { field: 'message.task', status: 'cancelled' } })
    const claim = await call(B, 'claim_task', { signedTx: await sign(B, 'ClaimTask', { task: post.task, stake: '0' }) })
    expect(claim.data.error.code).toBe('task_closed')
    expect(await snapshot()).toEqual(before)
    expect(await balance(poster2.address)).toBe(c0)
  })
})

describe('bad input: a specific error, nothing changed', () => {
  /** Posted by A and claimed by B (a live lease, no result yet). */
  let live: Hex
  /** Posted by A, claimed by B, and B's result waiting for A's verdict. */
  let submitted: Hex
  beforeAll(async () => {
    const postClaimed = async (spec: string) => {
      const post = await ok(A, 'post_task', {
        signedTx: await sign(A, 'PostTask', {
          title: 'second task',
          specHash: sha256(spec),
          reward: SIN.toString(),
          deadline: String(clock.now() + 120_000n),
          leaseMs: '60000',
          claimStake: '0',
          verifiers: [],
          threshold: '0',
        }),
      })
      await ok(B, 'claim_task', { signedTx: await sign(B, 'ClaimTask', { task: post.task, stake: '0' }) })
      return post.task as Hex
    }
    live = await postClaimed('another spec')
    submitted = await postClaimed('a spec with a result waiting')
    await ok(B, 'submit_result', { signedTx: await sign(B, 'SubmitResult', { task: submitted, resultHash: sha256('y') }) })
  })

  const cases: [string, () => Promise<{ isError: boolean; data: any }>, string, string][] = [
    [
      'claiming a task under an active lease',
      async () => call(D, 'claim_task', { signedTx: await sign(D, 'ClaimTask', { task: live, stake: '0' }) }),
      'task_claimed',
      'message.task',
    ],
    ['cancelling as a non-poster', async () => call(D, 'cancel_task', { signedTx: await sign(D, 'CancelTask', { task: live }) }), 'not_poster', 'sender'],
    ['cancelling as the claimer', async () => call(B, 'cancel_task', { signedTx: await sign(B, 'CancelTask', { task: live }) }), 'not_poster', 'sender'],
    [
      'the poster cancelling under a live lease',
      async () => call(A, 'cancel_task', { signedTx: await sign(A, 'CancelTask', { task: live }) }),
      'task_claimed',
      'message.task',
    ],
    [
      'expiring before the deadline',
      async () => call(D, 'expire_task', { signedTx: await sign(D, 'ExpireTask', { task: live }) }),
      'deadline_not_reached',
      'message.task',
    ],
    [
      'the poster expiring before the deadline',
      async () => call(A, 'expire_task', { signedTx: await sign(A, 'ExpireTask', { task: live }) }),
      'deadline_not_reached',
      'message.task',
    ],
    [
      'cancelling a task that does not exist',
      async () => call(A, 'cancel_task', { signedTx: await sign(A, 'CancelTask', { task: '0x' + '22'.repeat(32) }) }),
      'task_not_found',
      'message.task',
    ],
    [
      'submitting as a non-claimer',
      async () => call(D, 'submit_result', { signedTx: await sign(D, 'SubmitResult', { task: live, resultHash: sha256('x') }) }),
      'not_claimer',
      'sender',
    ],
    [
      'verifying as a non-verifier',
      async () => call(D, 'verify_result', { signedTx: await sign(D, 'VerifyResult', { task: submitted, accept: true }) }),
      'not_verifier',
      'sender',
    ],
    [
      'a second verdict',
      async () => call(A, 'verify_result', { signedTx: await sign(A, 'VerifyResult', { task: await acceptedTask(), accept: false }) }),
      'task_closed',
      'message.task',
    ],
    [
      'the poster cancelling with a result waiting',
      async () => call(A, 'cancel_task', { signedTx: await sign(A, 'CancelTask', { task: submitted }) }),
      'task_pending_verification',
      'message.task',
    ],
    [
      'expiring an accepted task',
      async () => call(D, 'expire_task', { signedTx: await sign(D, 'ExpireTask', { task: await acceptedTask() }) }),
      'task_closed',
      'message.task',
    ],
    [
      'posting a reward above the balance',
      async () =>
        call(D, 'post_task', {
          signedTx: await sign(D, 'PostTask', {
            title: '',
            specHash: sha256('big'),
            reward: (START + 1n).toString(),
            deadline: String(clock.now() + 60_000n),
            leaseMs: '1000',
            claimStake: '0',
            verifiers: [],
            threshold: '0',
          }),
        }),
      'insufficient_balance',
      'message.reward',
    ],
    [
      'a deadline already past',
      async () =>
        call(D, 'post_task', {
          signedTx: await sign(D, 'PostTask', {
            title: '',
            specHash: sha256('late'),
            reward: '1',
            deadline: String(clock.now() - 1n),
            leaseMs: '1000',
            claimStake: '0',
            verifiers: [],
            threshold: '0',
          }),
        }),
      'deadline_passed',
      'message.deadline',
    ],
    [
      'a threshold above the verifier count (400 from the codec)',
      async () =>
        call(D, 'post_task', {
          signedTx: await sign(D, 'PostTask', {
            title: '',
            specHash: sha256('k'),
            reward: '1',
            deadline: String(clock.now() + 60_000n),
            leaseMs: '1000',
            claimStake: '0',
            verifiers: [poster.address],
            threshold: '2',
          }),
        }),
      'invalid_field',
      'message.threshold',
    ],
  ]

  it('spec or result text that does not hash to what was signed is refused: nothing stored, nothing changed', async () => {
    const before = await snapshot()
    const balances = await Promise.all([poster, worker, stranger].map((a) => balance(a.address)))
    const wrongSpec = 'a spec other than the one signed'
    const post = await call(D, 'post_task', {
      spec: wrongSpec,
      signedTx: await sign(D, 'PostTask', {
        title: '',
        specHash: sha256('the signed spec'),
        reward: '1',
        deadline: String(clock.now() + 60_000n),
        leaseMs: '1000',
        claimStake: '0',
        verifiers: [],
        threshold: '0',
      }),
    })
    expect(post.isError).toBe(true)
    expect(post.data.error).toMatchObject({
      code: 'invalid_field',
      details: { field: 'spec', sha256: sha256(wrongSpec), signed: sha256('the signed spec'), signedField: 'signedTx.message.specHash' },
    })
    const wrongResult = 'a result other than the one signed'
    const sub = await call(B, 'submit_result', {
      result: wrongResult,
      signedTx: await sign(B, 'SubmitResult', { task: live, resultHash: sha256('the signed result') }),
    })
    expect(sub.data.error).toMatchObject({ code: 'invalid_field', details: { field: 'result', signedField: 'signedTx.message.resultHash' } })
    expect(await snapshot()).toEqual(before)
    expect(await Promise.all([poster, worker, stranger].map((a) => balance(a.address)))).toEqual(balances)
    for (const text of [wrongSpec, 'the signed spec', wrongResult, 'the signed result']) expect((await blob(sha256(text))).status).toBe(404)
    expect((await ok(B, 'get_task', { task: live })).submission).toBeNull()
  })

  for (const [name, run, code, field] of cases) {
    it(name, async () => {
      if (name === 'a second verdict' || name === 'expiring an accepted task') await acceptedTask()
      const before = await snapshot()
      const balances = await Promise.all([poster, worker, stranger].map((a) => balance(a.address)))
      const r = await run()
      expect(r.isError).toBe(true)
      expect(r.data.error.code).toBe(code)
      expect(JSON.stringify(r.data.error.details)).toContain(field)
      expect(await snapshot()).toEqual(before)
      expect(await Promise.all([poster, worker, stranger].map((a) => balance(a.address)))).toEqual(balances)
    })
  }

  it('refusals leave the state root alone', async () => {
    const before = await snapshot()
    const balances = await Promise.all([poster, worker, stranger].map((a) => balance(a.address)))
    expect((await call(D, 'claim_task', { signedTx: await sign(D, 'ClaimTask', { task: submitted, stake: '0' }) })).data.error.code).toBe(
      'task_pending_verification',
    )
    expect((await call(D, 'verify_result', { signedTx: await sign(D, 'VerifyResult', { task: submitted, accept: false }) })).data.error.code).toBe(
      'not_verifier',
    )
    expect((await call(D, 'claim_task', { task: 12 })).isError).toBe(true)
    expect(await snapshot()).toEqual(before)
    expect(await Promise.all([poster, worker, stranger].map((a) => balance(a.address)))).toEqual(balances)
  })

  it('claiming after the deadline is refused; then anyone expires the task with expire_task and the reward returns exactly', async () => {
    const a0 = await balance(poster.address)
    const post = await ok(A, 'post_task', {
      signedTx: await sign(A, 'PostTask', {
        title: 'short',
        specHash: sha256('short-lived'),
        reward: SIN.toString(),
        deadline: String(clock.now() + 60_000n),
        leaseMs: '1000',
        claimStake: '0',
        verifiers: [],
        threshold: '0',
      }),
    })
    expect(await balance(poster.address)).toBe(a0 - SIN)
    clock.advance(60_000) // the node's time passes the deadline: the next block is after it
    const before = await snapshot()
    const late = await call(B, 'claim_task', { signedTx: await sign(B, 'ClaimTask', { task: post.task, stake: '0' }) })
    expect(late.data.error).toMatchObject({ code: 'task_deadline_passed', details: { field: 'message.task' } })
    expect(await snapshot()).toEqual(before)
    expect((await ok(D, 'get_task', { task: post.task })).expirable).toBe(true)
    // anyone may expire it, here a stranger; the reward goes to the poster, nothing to the sender
    const d0 = await balance(stranger.address)
    const expire = await ok(D, 'expire_task', { signedTx: await sign(D, 'ExpireTask', { task: post.task }) })
    expect(expire.hash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(expire.result).toEqual({ task: post.task, refunded: SIN.toString() })
    expect(await balance(poster.address)).toBe(a0)
    expect(await balance(stranger.address)).toBe(d0)
    expect(await ok(A, 'get_task', { task: post.task })).toMatchObject({ status: 'expired', escrow: '0', expirable: false })
    // once expired it is closed: neither a second expiry nor a cancellation moves anything
    const closed = await snapshot()
    expect((await call(D, 'expire_task', { signedTx: await sign(D, 'ExpireTask', { task: post.task }) })).data.error.code).toBe('task_closed')
    expect((await call(A, 'cancel_task', { signedTx: await sign(A, 'CancelTask', { task: post.task }) })).data.error.code).toBe('task_closed')
    expect(await snapshot()).toEqual(closed)
    expect(await balance(poster.address)).toBe(a0)
  })

  it('HTTP errors name the field', async () => {
    expect((await http(`${url}/v1/tasks/0x1234`)).status).toBe(400)
    expect((await http(`${url}/v1/tasks/0x${'12'.repeat(32)}`)).json.error.code).toBe('not_found')
    const bad = await http(`${url}/v1/tasks?status=nope`)
    expect(bad.status).toBe(400)
    expect(bad.json.error.details.field).toBe('querystring.status')
    expect((await http(`${url}/v1/agents/0xnothex`)).json.error.code).toBe('invalid_address')
  })
})

describe('replay', () => {
  it('sinew verify replays every agents tx from genesis', async () => {
    await acceptedTask() // something to replay, also when this test runs alone
    const committed = await countTxs(node)
    expect(committed).toBeGreaterThan(0)
    await node.close()
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.ok).toBe(true)
    expect(report.txs).toBe(committed)
  })
})
