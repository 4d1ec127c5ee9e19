/**
 * Session keys end to end: an owner makes a session key with `sinew delegate new` (capped at
 * 1 SIN, scope PostTask/CancelTask); an agent runs `sinew mcp --session-key FILE` (stdio,
 * the official MCP SDK client) and posts and pays tasks until the cap refuses it, while the
 * owner's other funds stay untouched; over the HTTP MCP server the same key's self-signed
 * txs are accepted, and a kind outside the scope, a revoked key and an expired one are
 * refused with nothing changed; `sinew verify` replays every delegation and charge.
 */
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeClient, signEnvelope, type TypesInfo } from '../src/client/index.ts'
import { readSessionKey, type SessionKeyFile } from '../src/cli/commands/delegate.ts'
import { sha256 } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { countTxs, dev, http, repoRoot, runCli, sendTx, startDevNode, tempDir, testClock } from './helpers.ts'

const SIN = 10n ** 18n
const owner = dev[7]
let node: RunningNode
let tmp: ReturnType<typeof tempDir>
let url: string
const clock = testClock()

beforeAll(async () => {
  tmp = tempDir('sinew-session-')
  node = await startDevNode(tmp.dir, {}, { clock: clock.now })
  url = node.url
}, 60_000)

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

const balance = async (a: string) => BigInt((await http(`${url}/v1/accounts/${a}`)).json.balance)
const state = async () => (await http(`${url}/v1/status`)).json.stateRoot as string

/** `sinew delegate new` as a user runs it: the key file it writes. */
async function newSessionKey(name: string, kinds: string, spendCap: string): Promise<SessionKeyFile> {
  const file = join(tmp.dir, `${name}.json`)
  const r = await runCli(['delegate', 'new', '--dev-account', '7', '--kinds', kinds, '--spend-cap', spendCap, '--out', file, '--node', url, '--json'])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return readSessionKey(file)
}

/** The same grant signed here directly (no CLI process): a fresh key, Delegate from the owner. */
async function grant(kinds: string[], spendCap: bigint, expiresInMs = 3_600_000n): Promise<SessionKeyFile> {
  const privateKey = generatePrivateKey()
  const address = privateKeyToAccount(privateKey).address.toLowerCase() as SessionKeyFile['address']
  const expiry = clock.now() + expiresInMs
  await sendTx(url, owner.privateKey, 'Delegate', { delegate: address, kinds, spendCap: spendCap.toString(), dailyCap: '0', expiry: expiry.toString() })
  return { format: 'sinew-session-key/1', address, privateKey, delegator: owner.address, chainId: '31415', kinds, expiry: expiry.toString() }
}

async function connectHttp(): Promise<Client> {
  const mcp = new Client({ name: 'session-agent', version: '1.0.0' })
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))
  return mcp
}

async function call(mcp: Client, name: string, args: Record<string, unknown>) {
  const r = (await mcp.callTool({ name, arguments: args })) as { isError?: boolean; structuredContent?: any; content: { text: string }[] }
  return { isError: r.isError === true, data: r.structuredContent, text: r.content[0]?.text }
}

/** A tx the session key signs itself (ActFor, from GET /v1/types), as an agent with its own wallet would. */
async function signAsSession(session: SessionKeyFile, type: string, message: Record<string, unknown>) {
  const client = new NodeClient(url)
  const [types, account] = await Promise.all([client.get<TypesInfo>('/v1/types'), client.get(`/v1/accounts/${session.address}`)])
  return signEnvelope(session.privateKey, types, type, { ...message, nonce: account.nonce }, session.delegator)
}

const postMessage = (spec: string, reward: bigint) => ({
  title: 'summarise',
  specHash: sha256(spec),
  reward: reward.toString(),
  deadline: (BigInt(Date.now()) + 3_600_000n).toString(),
  leaseMs: '600000',
  claimStake: '0',
  verifiers: [],
  threshold: '0',
})

describe('session keys', () => {
  it('an agent with a session key capped at 1 SIN posts and pays tasks until the cap refuses it; the owner keeps the rest', async () => {
    const session = await newSessionKey('capped', 'PostTask,CancelTask', '1')
    expect(session.delegator).toBe(owner.address)
    const ownerStart = await balance(owner.address)
    const agent = new Client({ name: 'stdio-agent', version: '1.0.0' })
    await agent.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'mcp', '--session-key', join(tmp.dir, 'capped.json'), '--node', url],
        cwd: repoRoot,
        stderr: 'ignore',
      }),
    )
    try {
      const reward = (3n * SIN) / 10n
      const posted: string[] = []
      for (let i = 0; i < 3; i++) {
        const r = await call(agent, 'post_task', { spec: `Task ${i}: summarise chapter ${i}`, reward: reward.toString(), ttlSeconds: 3600 })
        expect(r.isError, r.text).toBe(false)
        expect(r.data).toMatchObject({ posted: true, sender: session.address, delegator: owner.address })
        posted.push(r.data.task)
      }
      const before = await state()
      const refused = await call(agent, 'post_task', { spec: 'Task 3: one too many', reward: reward.toString(), ttlSeconds: 3600 })
      expect(refused.isError).toBe(true)
      expect(refused.data.error).toMatchObject({ code: 'delegation_cap_exceeded', details: { cap: 'spendCap', used: ((9n * SIN) / 10n).toString() } })
      expect(await state()).toBe(before)
      // Independent oracle: the escrow of the three tasks, nothing more, left the owner; the tasks are the owner's.
      expect(ownerStart - (await balance(owner.address))).toBe(3n * reward)
      expect(await balance(session.address)).toBe(0n)
      for (const id of posted) expect((await http(`${url}/v1/tasks/${id}`)).json).toMatchObject({ poster: owner.address, reward: reward.toString() })
      // A smaller task still fits the 0.1 SIN left.
      const last = await call(agent, 'post_task', { spec: 'Task 4: small', reward: (SIN / 10n).toString(), ttlSeconds: 3600 })
      expect(last.isError, last.text).toBe(false)
      const list = JSON.parse((await runCli(['delegate', 'list', owner.address, '--node', url, '--json'])).stdout)
      expect(list.granted.find((g: any) => g.delegate === session.address)).toMatchObject({ spent: SIN.toString(), spendCap: SIN.toString(), revokedAt: null })
    } finally {
      await agent.close()
    }
  }, 120_000)

  it('the HTTP MCP server accepts txs the session key signs itself, and refuses a kind outside its scope', async () => {
    const session = await grant(['PostTask'], 5n * SIN)
    const mcp = await connectHttp()
    const spec = 'Translate the preamble'
    const ok = await call(mcp, 'post_task', { spec, signedTx: await signAsSession(session, 'PostTask', postMessage(spec, SIN)) })
    expect(ok.isError, ok.text).toBe(false)
    expect(ok.data).toMatchObject({ sender: session.address, delegator: owner.address })
    const tx = (await http(`${url}/v1/tx/${ok.data.hash}`)).json
    expect(tx).toMatchObject({ sender: session.address, delegator: owner.address, receipt: { sender: session.address, delegator: owner.address } })
    const before = await state()
    const cancel = await call(mcp, 'cancel_task', { signedTx: await signAsSession(session, 'CancelTask', { task: ok.data.task }) })
    expect(cancel.data.error).toMatchObject({ code: 'delegation_out_of_scope', details: { got: 'CancelTask', allowed: ['PostTask'] } })
    const transfer = await http(`${url}/v1/tx`, { method: 'POST', body: await signAsSession(session, 'Transfer', { to: dev[8].address, amount: '1' }) })
    expect(transfer.status).toBe(422)
    expect(transfer.json.error.code).toBe('delegation_out_of_scope')
    expect(await state()).toBe(before)
    await mcp.close()
  })

  it('refuses txs after revocation and after expiry, and refuses self-delegation and chains', async () => {
    const revoked = await newSessionKey('revoked', 'PostTask', '5')
    const r = await runCli(['delegate', 'revoke', revoked.address, '--dev-account', '7', '--node', url, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const ownerBefore = await balance(owner.address)
    const after = await http(`${url}/v1/tx`, { method: 'POST', body: await signAsSession(revoked, 'PostTask', postMessage('after revoke', SIN)) })
    expect(after.json.error.code).toBe('delegation_revoked')

    const expiring = await grant(['PostTask'], 5n * SIN, 3_600_000n)
    clock.advance(3_600_001)
    const late = await http(`${url}/v1/tx`, { method: 'POST', body: await signAsSession(expiring, 'PostTask', postMessage('too late', SIN)) })
    expect(late.json.error.code).toBe('delegation_expired')
    expect(await balance(owner.address)).toBe(ownerBefore)

    const self = await sendTx(url, owner.privateKey, 'Delegate', {
      delegate: owner.address,
      kinds: ['PostTask'],
      spendCap: '1',
      dailyCap: '0',
      expiry: (BigInt(Date.now()) + 10n ** 9n).toString(),
    }).catch((e) => e)
    expect(self.code).toBe('delegation_self')
    // The capped key from the first test (or a fresh one) cannot delegate further.
    const session = await grant(['PostTask'], SIN)
    const chain = await http(`${url}/v1/tx`, {
      method: 'POST',
      body: await signEnvelope(session.privateKey, await new NodeClient(url).get('/v1/types'), 'Delegate', {
        delegate: dev[9].address,
        kinds: ['PostTask'],
        spendCap: '1',
        dailyCap: '0',
        expiry: (BigInt(Date.now()) + 10n ** 9n).toString(),
        nonce: '0',
      }),
    })
    expect(chain.json.error.code).toBe('delegation_chain')
  }, 60_000)

  it('sinew verify replays every delegation and session-key charge', async () => {
    await grant(['PostTask'], SIN)
    const committed = await countTxs(node)
    await node.close()
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, txs: committed })
  }, 60_000)
})
