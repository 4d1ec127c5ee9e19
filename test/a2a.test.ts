/**
 * A2A end to end with the official @a2a-js/sdk client (A2A 1.0, JSON-RPC) against a real node:
 * the client resolves the agent card, posts a task with a message carrying a PostTask its
 * poster signed (and the spec as text), another account claims and submits through the
 * existing routes, the poster accepts by answering the input-required task with a signed
 * VerifyResult, and the client sees the task completed with the result as its artifact (by
 * GetTask and over an SSE subscription). The ledger is the oracle: task state, escrow, balances.
 * Bad input (unknown method, malformed parts, an unknown task, a wrong version, a session
 * key over its cap) gets the A2A error naming the field, and nothing is posted or charged.
 */
import { ClientFactory, ClientFactoryOptions, type Client } from '@a2a-js/sdk/client'
import { Role, TaskState, type Part, type Task } from '@a2a-js/sdk'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeClient, signEnvelope, storeBlob, type TypesInfo } from '../src/client/index.ts'
import { sha256, utf8, type Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, sendTx, startDevNode, tempDir } from './helpers.ts'

const SIN = 10n ** 18n
const poster = dev[1]
const worker = dev[2]
const owner = dev[3]
let node: RunningNode
let tmp: ReturnType<typeof tempDir>
let url: string
let a2a: Client

beforeAll(async () => {
  tmp = tempDir('sinew-a2a-')
  node = await startDevNode(tmp.dir)
  url = node.url
  // polling: SendMessage returns at once (returnImmediately); the task is followed with GetTask.
  a2a = await new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { clientConfig: { polling: true } })).createFromUrl(url)
}, 60_000)

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

const balance = async (a: string) => BigInt((await http(`${url}/v1/accounts/${a}`)).json.balance)
const stateRoot = async () => (await http(`${url}/v1/status`)).json.stateRoot as string
const boardTask = async (id: string) => (await http(`${url}/v1/tasks/${id}`)).json

/** A tx signed as a wallet signs it: the node's EIP-712 types, the signer's next nonce (of the session key, with a delegator). */
async function sign(key: Hex, type: string, message: Record<string, unknown>, delegator?: string) {
  const client = new NodeClient(url)
  const [types, account] = await Promise.all([client.get<TypesInfo>('/v1/types'), client.get(`/v1/accounts/${privateKeyToAccount(key).address.toLowerCase()}`)])
  return signEnvelope(key, types, type, { ...message, nonce: account.nonce }, delegator)
}

const postTask = (spec: string, reward: bigint) => ({
  title: 'summarise',
  specHash: sha256(spec),
  reward: reward.toString(),
  deadline: (BigInt(Date.now()) + 3_600_000n).toString(),
  leaseMs: '600000',
  claimStake: '0',
  verifiers: [],
  threshold: '0',
})

const textPart = (text: string): Part => ({ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined })
const dataPart = (data: unknown): Part => ({
  content: { $case: 'data', value: data },
  mediaType: 'application/vnd.sinew.tx+json',
  filename: '',
  metadata: undefined,
})

let messages = 0
function message(parts: Part[], taskId = '') {
  return {
    tenant: '',
    message: { messageId: `m-${++messages}`, contextId: '', taskId, role: Role.ROLE_USER, parts, metadata: undefined, extensions: [], referenceTaskIds: [] },
    configuration: undefined,
    metadata: undefined,
  }
}

async function send(parts: Part[], taskId?: string): Promise<Task> {
  const r = await a2a.sendMessage(message(parts, taskId))
  if (!('status' in r)) throw new Error(`expected a Task, got ${JSON.stringify(r)}`)
  return r
}

/** A raw JSON-RPC call, as any client would make it. */
async function rpc(method: string, params: unknown, headers: Record<string, string> = { 'a2a-version': '1.0' }) {
  const r = await http(`${url}/a2a`, { body: { jsonrpc: '2.0', id: 7, method, params }, headers })
  expect(r.status).toBe(200)
  expect(r.json.id).toBe(7)
  return r.json
}

const SPEC = 'Summarize the 1863 State of the Union address in 3 sentences.'
const RESULT = 'Lincoln reported on the war, emancipation and the economy.'

describe('A2A', () => {
  it('the agent card follows A2A 1.0 and the SDK picks its JSON-RPC interface', async () => {
    const card = await a2a.getAgentCard()
    expect(card.supportedInterfaces).toEqual([{ url: `${url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }])
    expect(a2a.protocolVersion).toBe('1.0')
    expect(card.skills.map((s) => s.id)).toEqual(expect.arrayContaining(['post_task', 'follow_task']))
    expect(card.securitySchemes.apiKey.scheme).toMatchObject({ $case: 'httpAuthSecurityScheme', value: { scheme: 'Bearer' } })
    expect(card.capabilities?.streaming).toBe(true)
    expect(card.capabilities?.extensions.map((e) => e.uri)).toContain('urn:sinew:a2a:signed-tx:v1')
    expect(card.capabilities?.extensions[0].params).toMatchObject({ typesUrl: `${url}/v1/types`, chainId: '31415' })
    expect(card.provider?.organization).toBe('Sinew node')
  })

  it('a message posts a task; another account claims and submits; the poster accepts; the client sees it completed with the result as artifact', async () => {
    const reward = 5n * SIN
    const p0 = await balance(poster.address)
    const w0 = await balance(worker.address)
    const posted = await send([textPart(SPEC), dataPart({ signedTx: await sign(poster.privateKey, 'PostTask', postTask(SPEC, reward)) })])
    const id = posted.id
    expect(id).toMatch(/^0x[0-9a-f]{64}$/)
    expect(posted.contextId).toBe(id)
    expect(posted.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED)
    // The ledger: the task is the poster's, its reward in escrow; the spec is stored on the node.
    expect(await boardTask(id)).toMatchObject({ poster: poster.address, status: 'open', escrow: reward.toString(), specBlob: { stored: true } })
    expect(p0 - (await balance(poster.address))).toBe(reward)
    expect((await a2a.getTask({ tenant: '', id })).metadata?.sinew.specText).toBe(SPEC)

    // The worker claims and submits through the HTTP API (POST /v1/tx, PUT /v1/blobs).
    await sendTx(url, worker.privateKey, 'ClaimTask', { task: id, stake: '0' })
    expect((await a2a.getTask({ tenant: '', id })).status?.state).toBe(TaskState.TASK_STATE_WORKING)
    const submit = await sign(worker.privateKey, 'SubmitResult', { task: id, resultHash: sha256(RESULT) })
    await storeBlob(new NodeClient(url), utf8(RESULT), submit)
    await new NodeClient(url).post('/v1/tx', submit)

    // Waiting for the poster's verdict: input-required, with the result in the status message.
    const waiting = await a2a.getTask({ tenant: '', id })
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED)
    expect(waiting.status?.message?.parts.map((p) => p.content?.value)).toContain(RESULT)
    expect(waiting.artifacts).toEqual([])

    // A subscription (SSE) sees the task complete; the poster accepts with a signed VerifyResult on the task.
    const events: unknown[] = []
    const stream = a2a.resubscribeTask({ tenant: '', id })
    const first = await stream.next()
    expect(first.value?.payload).toMatchObject({ $case: 'task', value: { id } })
    const rest = (async () => {
      for await (const e of stream) events.push(e.payload)
    })()
    const accepted = await send([dataPart({ signedTx: await sign(poster.privateKey, 'VerifyResult', { task: id, accept: true }) })], id)
    expect(accepted.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    await rest
    expect(events.at(-1)).toMatchObject({ $case: 'statusUpdate', value: { taskId: id, status: { state: TaskState.TASK_STATE_COMPLETED } } })
    expect(events).toContainEqual(expect.objectContaining({ $case: 'artifactUpdate' }))

    const done = await a2a.getTask({ tenant: '', id })
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(done.artifacts).toHaveLength(1)
    expect(done.artifacts[0].parts[0].content).toEqual({ $case: 'text', value: RESULT })
    expect(done.artifacts[0].parts[1].content).toMatchObject({ $case: 'data', value: { resultHash: sha256(RESULT), claimer: worker.address } })
    // The ledger: accepted, escrow paid to the worker.
    expect(await boardTask(id)).toMatchObject({ status: 'accepted', escrow: '0', result: { claimer: worker.address, resultHash: sha256(RESULT) } })
    expect((await balance(worker.address)) - w0).toBe(reward)
    expect(p0 - (await balance(poster.address))).toBe(reward)
  }, 60_000)

  it('CancelTask with a signed CancelTask returns the reward; without one, or on a closed task, it is refused', async () => {
    const reward = 2n * SIN
    const spec = 'Translate the preamble'
    const posted = await send([textPart(spec), dataPart({ signedTx: await sign(poster.privateKey, 'PostTask', postTask(spec, reward)) })])
    const before = await stateRoot()
    const p0 = await balance(poster.address)
    await expect(a2a.cancelTask({ tenant: '', id: posted.id, metadata: undefined })).rejects.toMatchObject({
      envelopeCode: -32602,
      message: expect.stringContaining('params.metadata.signedTx'),
    })
    // A stranger's CancelTask: the board refuses it (not_poster), nothing changes.
    await expect(
      a2a.cancelTask({ tenant: '', id: posted.id, metadata: { signedTx: await sign(worker.privateKey, 'CancelTask', { task: posted.id }) } }),
    ).rejects.toMatchObject({ envelopeCode: -32002 })
    expect(await stateRoot()).toBe(before)
    const canceled = await a2a.cancelTask({
      tenant: '',
      id: posted.id,
      metadata: { signedTx: await sign(poster.privateKey, 'CancelTask', { task: posted.id }) },
    })
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED)
    expect(await boardTask(posted.id)).toMatchObject({ status: 'cancelled', escrow: '0' })
    expect((await balance(poster.address)) - p0).toBe(reward)
    const again = await rpc('CancelTask', { id: posted.id, metadata: { signedTx: await sign(poster.privateKey, 'CancelTask', { task: posted.id }) } })
    expect(again.error.code).toBe(-32002)
  }, 60_000)

  it('bad input gets the A2A error naming the method, part or field; nothing is posted or charged', async () => {
    const before = await stateRoot()
    const p0 = await balance(poster.address)
    const tx = await sign(poster.privateKey, 'PostTask', postTask('bad input', SIN))
    const msg = (parts: unknown[], extra: Record<string, unknown> = {}) => ({ message: { messageId: 'x', role: 'ROLE_USER', parts, ...extra } })

    expect((await rpc('DoSomething', {})).error).toMatchObject({ code: -32601, message: 'Method not found: DoSomething' })
    expect((await rpc('message/send', msg([{ data: { signedTx: tx } }]))).error).toMatchObject({
      code: -32601,
      message: expect.stringContaining('call SendMessage'),
    })
    expect((await rpc('SendMessage', msg([{ data: { signedTx: tx } }]), {})).error).toMatchObject({ code: -32009 })
    expect((await rpc('SendMessage', msg([{ data: { signedTx: tx } }]), { 'a2a-version': '0.3' })).error.code).toBe(-32009)
    const invalid = async (params: unknown, field: string) => {
      const e = (await rpc('SendMessage', params)).error
      expect(e.code, JSON.stringify(e)).toBe(-32602)
      expect(e.message).toContain(field)
      expect(e.data).toContainEqual({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [expect.objectContaining({ field })] })
    }
    await invalid(msg([{ mediaType: 'text/plain' }, { data: { signedTx: tx } }]), 'params.message.parts[0]')
    await invalid(msg([{ text: 'a', data: {} }]), 'params.message.parts[0]')
    await invalid(msg([{ text: 'bad input' }, { data: { tx } }]), 'params.message.parts[1].data.signedTx')
    await invalid(msg([{ data: 'signed' }]), 'params.message.parts[0].data')
    await invalid(msg([{ url: 'https://example.com/spec.txt' }, { data: { signedTx: tx } }]), 'params.message.parts[0].url')
    await invalid(msg([{ text: 'not what was signed' }, { data: { signedTx: tx } }]), 'params.message.parts[0].text')
    await invalid(msg([{ text: 'bad input' }]), 'params.message.parts')
    await invalid(msg([{ data: { signedTx: { ...tx, type: 'Transfer' } } }]), 'params.message.parts[0].data.signedTx.type')
    await invalid(msg([{ data: { signedTx: { ...tx, signature: '0x1234' } } }]), 'params.message.parts[0].data.signedTx.signature')
    await invalid({ message: { messageId: 'x', role: 'ROLE_AGENT', parts: [{ data: { signedTx: tx } }] } }, 'params.message.role')
    await invalid(msg([{ data: { signedTx: tx } }], { taskId: 'task-1' }), 'params.message.taskId')
    await invalid({}, 'params.message')
    // A tampered tx: the signature no longer recovers the poster, so the node refuses it as someone else's with no funds or a bad nonce.
    const tampered = (await rpc('SendMessage', msg([{ data: { signedTx: { ...tx, message: { ...tx.message, reward: '1' } } } }]))).error
    expect(tampered.code).toBe(-32602)
    // Through the SDK client: the malformed part is the SDK's RequestMalformedError.
    await expect(a2a.sendMessage(message([{ content: undefined, mediaType: '', filename: '', metadata: undefined }]))).rejects.toMatchObject({
      name: 'RequestMalformedError',
      envelopeCode: -32602,
      message: expect.stringContaining('params.message.parts[0]'),
    })
    // Unknown task.
    const unknown = '0x' + 'ab'.repeat(32)
    await expect(a2a.getTask({ tenant: '', id: unknown })).rejects.toMatchObject({ name: 'TaskNotFoundError', envelopeCode: -32001 })
    expect(
      (
        await rpc(
          'SendMessage',
          msg([{ data: { signedTx: await sign(poster.privateKey, 'VerifyResult', { task: unknown, accept: true }) } }], { taskId: unknown }),
        )
      ).error.code,
    ).toBe(-32001)
    expect((await rpc('GetTask', { id: 'nope' })).error).toMatchObject({ code: -32602, message: expect.stringContaining('params.id') })
    expect((await rpc('CreateTaskPushNotificationConfig', {})).error.code).toBe(-32003)
    expect((await http(`${url}/a2a`, { body: [{ jsonrpc: '2.0', id: 1, method: 'GetTask' }], headers: { 'a2a-version': '1.0' } })).json.error.code).toBe(-32600)

    expect(await stateRoot()).toBe(before)
    expect(await balance(poster.address)).toBe(p0)
  }, 60_000)

  it('an agent with a session key capped at 1 SIN posts over A2A until the cap refuses it; the owner keeps the rest', async () => {
    const session = generatePrivateKey()
    const address = privateKeyToAccount(session).address.toLowerCase()
    await sendTx(url, owner.privateKey, 'Delegate', {
      delegate: address,
      kinds: ['PostTask'],
      spendCap: SIN.toString(),
      dailyCap: '0',
      expiry: (BigInt(Date.now()) + 3_600_000n).toString(),
    })
    const o0 = await balance(owner.address)
    const reward = (6n * SIN) / 10n
    const spec = 'Session: first'
    const ok = await send([textPart(spec), dataPart({ signedTx: await sign(session, 'PostTask', postTask(spec, reward), owner.address) })])
    expect(await boardTask(ok.id)).toMatchObject({ poster: owner.address, escrow: reward.toString() })
    const before = await stateRoot()
    const over = await a2a
      .sendMessage(
        message([textPart('Session: second'), dataPart({ signedTx: await sign(session, 'PostTask', postTask('Session: second', reward), owner.address) })]),
      )
      .catch((e) => e)
    expect(over).toMatchObject({ envelopeCode: -32602 })
    expect(over.data).toContainEqual(expect.objectContaining({ reason: 'DELEGATION_CAP_EXCEEDED', domain: 'sinew' }))
    expect(await stateRoot()).toBe(before)
    expect(o0 - (await balance(owner.address))).toBe(reward)
    expect(await balance(address)).toBe(0n)
  }, 60_000)
})
