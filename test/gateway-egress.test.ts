/**
 * What a public node sends where: backend credentials go only to the origin the operator
 * bound them to (never by model name, never to a stranger's backend, never across a
 * redirect), and a node on a non-dev network calls no backend outside its allow-list
 * (loopback, private, link-local and metadata addresses, IPv4-mapped forms, names that
 * resolve to them). Real nodes, real HTTP servers on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_SEQUENCER_KEY, makeDevGenesis } from '../src/cli/data-dir.ts'
import { loadConfig, type Hex } from '../src/core/index.ts'
import type { Genesis } from '../src/ledger/index.ts'
import { hashApiKey, newApiKey } from '../src/models/index.ts'
import { startNode, type RunningNode } from '../src/server/index.ts'
import { datanetsClient, type DatanetsClient } from './datanets-fixtures.ts'
import { FAKE_TEXT, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, http, runCli, tempDir } from './helpers.ts'

const owner = dev[3]
const stranger = dev[4]
const caller = dev[0]

/** The dev genesis (same funded keys) as a network that is not a dev one. */
function publicGenesis(): Genesis {
  const { insecure: _insecure, note: _note, ...g } = makeDevGenesis()
  return { ...g, network: 'testnet' }
}

type Node = { running: RunningNode; url: string; c: DatanetsClient; apiKey: string; cleanup(): Promise<void> }

async function startPublicNode(env: Record<string, string>): Promise<Node> {
  const tmp = tempDir('sinew-egress-')
  const config = loadConfig({ flags: { dataDir: tmp.dir, port: 0, logLevel: 'silent', signatureWorkers: 1 }, env })
  const running = await startNode({ config, genesis: publicGenesis(), sequencerKey: DEV_SEQUENCER_KEY, backendTimeoutMs: 2000 })
  const c = await datanetsClient(running.url)
  const apiKey = newApiKey()
  const r = await c.submit(caller.privateKey, 'GrantApiKey', { keyHash: hashApiKey(apiKey), label: 't', spendLimit: '0', expiresAt: '0' })
  expect(r.status, JSON.stringify(r.json)).toBe(200)
  return {
    running,
    url: running.url,
    c,
    apiKey,
    cleanup: async () => {
      await running.close()
      tmp.cleanup()
    },
  }
}

async function register(n: Node, key: Hex, name: string, backend: string) {
  const r = await n.c.submit(key, 'RegisterModel', { name, description: '', backend, datanets: [], pricePerMillion: '1000', contributorShareBps: '0' })
  expect(r.status, JSON.stringify(r.json)).toBe(200)
}

const chat = (n: Node, model: string, stream = false) =>
  http(`${n.url}/v1/chat/completions`, {
    body: { model, messages: [{ role: 'user', content: 'hi' }], ...(stream ? { stream: true } : {}) },
    headers: { authorization: `Bearer ${n.apiKey}` },
  })

const balance = async (n: Node) => BigInt((await http(`${n.url}/v1/accounts/${caller.address}`)).json.balance)

describe('backend credentials are bound to an origin by the operator', () => {
  let a: FakeBackend
  let b: FakeBackend
  let open: FakeBackend
  let n: Node
  beforeAll(async () => {
    open = await startFakeOpenAI()
    a = await startFakeOpenAI()
    b = await startFakeOpenAI({ redirectTo: `${open.url}/chat/completions` })
    const origin = (u: string) => new URL(u).origin
    n = await startPublicNode({
      SINEW_BACKEND_CREDENTIALS: JSON.stringify({
        [origin(a.url)]: { apiKey: 'sk-operator-a', owners: [owner.address] },
        [`${origin(b.url)}/`]: 'sk-operator-b',
      }),
      SINEW_BACKEND_ALLOW_LIST: [a.url, b.url, open.url].map(origin).join(','),
    })
    await register(n, owner.privateKey, 'ops-llm', `openai-compatible:${a.url}#fixed`)
    // Names that the old per-model variables (SINEW_BACKEND_KEY_OPS_LLM) could not tell apart.
    await register(n, stranger.privateKey, 'ops_llm', `openai-compatible:${open.url}#fixed`)
    await register(n, stranger.privateKey, 'ops.llm', `openai-compatible:${a.url}#fixed`)
    await register(n, stranger.privateKey, 'b-llm', `openai-compatible:${b.url}#fixed`)
    await register(n, stranger.privateKey, 'hop-llm', `openai-compatible:${b.url}#redirect`)
  }, 60_000)
  afterAll(async () => {
    await n?.cleanup()
    for (const s of [a, b, open]) await s?.close()
  })

  it("the operator's model gets the key bound to its origin", async () => {
    const r = await chat(n, 'ops-llm')
    expect(r.status, JSON.stringify(r.json)).toBe(200)
    expect(r.json.choices[0].message.content).toBe(FAKE_TEXT)
    expect(a.log.at(-1)!.authorization).toBe('Bearer sk-operator-a')
  })

  it("a stranger's backend never sees a key: not by a look-alike name, not at an origin bound to other owners", async () => {
    expect((await chat(n, 'ops_llm')).status).toBe(200)
    expect(open.log.at(-1)!.authorization).toBeUndefined()
    // Same origin as the operator's key, but that key is bound to the operator's models only:
    // refused before anything is sent (the backend needs the key), and it costs nothing.
    const seen = a.log.length
    const before = await balance(n)
    const refused = await chat(n, 'ops.llm')
    expect(refused.status, JSON.stringify(refused.json)).toBe(403)
    expect(refused.json.error).toMatchObject({ type: 'permission_error', code: 'backend_credential_missing' })
    expect(a.log.length).toBe(seen)
    expect(await balance(n)).toBe(before)
    // A key bound to an origin for any owner goes to that origin, and only there.
    expect((await chat(n, 'b-llm')).status).toBe(200)
    expect(b.log.at(-1)!.authorization).toBe('Bearer sk-operator-b')
    expect(open.log.every((r) => r.authorization === undefined)).toBe(true)
  })

  it('GET /v1/models marks the model at an origin whose key serves other owners as refused, with the reason', async () => {
    const { json } = await http(`${n.url}/v1/models`)
    const byName = Object.fromEntries(json.data.map((m: any) => [m.id, m.sinew]))
    for (const name of ['ops-llm', 'ops_llm', 'b-llm']) expect(byName[name], name).toMatchObject({ served: true, refusal: null })
    expect(byName['ops.llm']).toMatchObject({
      served: false,
      refusal: { code: 'backend_credential_missing', reason: expect.stringContaining(new URL(a.url).origin) },
    })
    // The key itself is never shown.
    expect(JSON.stringify(json)).not.toContain('sk-operator')
  })

  it('a redirect is not followed: the key does not travel to the other origin, the call fails and costs nothing', async () => {
    const before = await balance(n)
    const seen = open.log.length
    const r = await chat(n, 'hop-llm')
    expect(r.status).toBe(502)
    expect(r.json.error.code).toBe('backend_error')
    expect(open.log.length).toBe(seen)
    expect(await balance(n)).toBe(before)
  })

  it('the old SINEW_BACKEND_KEY variables stop the node from starting, naming what replaced them', () => {
    for (const name of ['SINEW_BACKEND_KEY', 'SINEW_BACKEND_KEY_OPS_LLM']) {
      let err: any
      try {
        loadConfig({ flags: { dataDir: '/tmp/unused', port: 0 }, env: { [name]: 'sk-x' } })
      } catch (e) {
        err = e
      }
      expect(err?.code, name).toBe('removed_setting')
      expect(err.shortMessage).toContain(name)
      expect(err.shortMessage).toContain('backendCredentials')
      expect(err.message).not.toContain('sk-x')
    }
  })
})

describe('a public node calls no backend outside its allow-list', () => {
  let target: FakeBackend
  let n: Node
  const port = () => new URL(target.url).port
  beforeAll(async () => {
    target = await startFakeOpenAI()
    n = await startPublicNode({})
    const models: [string, string][] = [
      ['loopback', `http://127.0.0.1:${port()}/v1`],
      ['localhost', `http://localhost:${port()}/v1`],
      ['mapped', `http://[::ffff:127.0.0.1]:${port()}/v1`],
      ['decimal', `http://2130706433:${port()}/v1`],
      ['unspecified', `http://0.0.0.0:${port()}/v1`],
      ['metadata', 'http://169.254.169.254/v1'],
      ['private', `http://10.0.0.1:${port()}/v1`],
      ['ipv6-loopback', `http://[::1]:${port()}/v1`],
    ]
    for (const [name, base] of models) await register(n, stranger.privateKey, name, `openai-compatible:${base}#fixed`)
  }, 60_000)
  afterAll(async () => {
    await n?.cleanup()
    await target?.close()
  })

  it('GET /v1/models marks the models whose backend is outside the allow-list, with the reason; a host name is judged when called', async () => {
    const { json } = await http(`${n.url}/v1/models`)
    const byName = Object.fromEntries(json.data.map((m: any) => [m.id, m.sinew]))
    for (const name of ['loopback', 'mapped', 'decimal', 'unspecified', 'metadata', 'private', 'ipv6-loopback'])
      expect(byName[name], name).toMatchObject({ served: false, refusal: { code: 'backend_not_allowed', reason: expect.stringContaining('allow-list') } })
    expect(byName.private.refusal.reason).toContain('private')
    // Not resolved for a listing (a stranger's names would make the node a DNS oracle).
    expect(byName.localhost).toMatchObject({ served: true, refusal: null })
    const one = await http(`${n.url}/v1/models/metadata`)
    expect(one.json.sinew.refusal.code).toBe('backend_not_allowed')
  })

  it('`sinew model register` warns when this node would refuse the backend, and says nothing when it serves it', async () => {
    const env = { SINEW_NODE: n.url }
    const refused = await runCli(
      ['model', 'register', 'cli-private', '--dev-account', '4', '--backend', 'openai-compatible:http://10.1.2.3/v1', '--price', '0'],
      env,
    )
    expect(refused.code, refused.stderr).toBe(0)
    expect(refused.stdout).toContain('Registered model cli-private')
    expect(refused.stderr).toMatch(/warning: .* refuses to serve cli-private: .*10\.1\.2\.3 is private.*backend_not_allowed/)
    // Nothing is sent to a backend by registering; 1.1.1.1 is just a public address.
    const served = await runCli(
      ['model', 'register', 'cli-public', '--dev-account', '4', '--backend', 'openai-compatible:https://1.1.1.1/v1', '--price', '0', '--json'],
      env,
    )
    expect(served.code, served.stderr).toBe(0)
    expect(served.stderr).toBe('')
    expect(JSON.parse(served.stdout)).toMatchObject({ refusal: null, height: expect.any(String) })
  }, 180_000)

  for (const name of ['loopback', 'localhost', 'mapped', 'decimal', 'unspecified', 'metadata', 'private', 'ipv6-loopback']) {
    it(`${name}: refused with 403 backend_not_allowed, nothing sent, nothing charged`, async () => {
      const before = await balance(n)
      for (const stream of [false, true]) {
        const r = await chat(n, name, stream)
        expect(r.status, JSON.stringify(r.json)).toBe(403)
        expect(r.json.error).toEqual({ message: expect.any(String), type: 'permission_error', param: null, code: 'backend_not_allowed' })
      }
      expect(target.log).toEqual([])
      expect(await balance(n)).toBe(before)
      expect(n.running.gateway!.reserved).toBe(0)
    })
  }
})
