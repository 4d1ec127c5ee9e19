/**
 * `sinew apikey new`: 0 means "none" on the ledger, so `--spend-limit 0` and `--expires 0`
 * are refused (they would silently make a key without a limit, or one that never expires)
 * and nothing is signed; no limit and no expiry are said with --no-spend-limit / --no-expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, runCli, startDevNode, tempDir } from './helpers.ts'

let node: RunningNode
let tmp: ReturnType<typeof tempDir>
const signer = dev[4]

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir)
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

const nonce = async () => (await http(`${node.url}/v1/accounts/${signer.address}`)).json.nonce
const apikeyNew = (...args: string[]) => runCli(['apikey', 'new', '--dev-account', '4', '--node', node.url, ...args])

describe('sinew apikey new', () => {
  it('refuses --spend-limit 0, naming --no-spend-limit; nothing is signed', async () => {
    const before = await nonce()
    const r = await apikeyNew('--spend-limit', '0')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error: --spend-limit 0 would make a key with no spend limit')
    expect(r.stderr).toContain('(invalid_field)')
    expect(r.stderr).toContain('--no-spend-limit')
    expect(r.stdout).toBe('')
    expect(await nonce()).toBe(before)
  })

  it('refuses --expires 0, naming --no-expiry; nothing is signed', async () => {
    const before = await nonce()
    const r = await apikeyNew('--expires', '0', '--json')
    expect(r.code).toBe(1)
    const error = JSON.parse(r.stderr).error
    expect(error).toMatchObject({ code: 'invalid_field', details: { field: '--expires', value: '0' } })
    expect(error.message).toContain('never expires')
    expect(error.hint ?? error.details.hint).toContain('--no-expiry')
    expect(await nonce()).toBe(before)
  })

  it('--no-spend-limit --no-expiry make a key without either, on the ledger as 0 and 0', async () => {
    const r = await apikeyNew('--no-spend-limit', '--no-expiry', '--json')
    expect(r.code, r.stderr).toBe(0)
    const made = JSON.parse(r.stdout)
    expect((await http(`${node.url}/v1/apikeys/${made.keyHash}`)).json).toMatchObject({ owner: signer.address, spendLimit: '0', expiresAt: '0' })
  })

  it('a positive limit and expiry are kept as given', async () => {
    const r = await apikeyNew('--spend-limit', '0.5', '--expires', '1h', '--json')
    expect(r.code, r.stderr).toBe(0)
    const key = (await http(`${node.url}/v1/apikeys/${JSON.parse(r.stdout).keyHash}`)).json
    expect(key.spendLimit).toBe('500000000000000000')
    expect(BigInt(key.expiresAt)).toBeGreaterThan(node.node.now())
  })
})

describe('sinew apikey list | show | update | revoke', () => {
  const cli = (...args: string[]) => runCli(['apikey', ...args, '--node', node.url])

  it('update signs a new grant: limits, budgets and models change, the rest is kept; list and show report it', async () => {
    const made = JSON.parse((await apikeyNew('--label', 'team', '--spend-limit', '2', '--json')).stdout)
    const r = await cli('update', made.apiKey, '--dev-account', '4', '--rpm', '10', '--tpm', '5000', '--budget', 'day=0.25', '--budget', 'month=3', '--json')
    expect(r.code, r.stderr).toBe(0)
    const k = JSON.parse(r.stdout)
    expect(k).toMatchObject({ label: 'team', spendLimit: '2000000000000000000' })
    expect(k.controls).toEqual({
      models: [],
      requestsPerMinute: 10,
      tokensPerMinute: 5000,
      budgets: { day: '250000000000000000', month: '3000000000000000000' },
    })
    // A second update changes one thing only.
    const r2 = await cli('update', made.keyHash, '--dev-account', '4', '--no-tpm', '--no-spend-limit', '--json')
    expect(r2.code, r2.stderr).toBe(0)
    expect(JSON.parse(r2.stdout)).toMatchObject({ spendLimit: '0', controls: { requestsPerMinute: 10, budgets: { day: '250000000000000000' } } })
    expect(JSON.parse(r2.stdout).controls.tokensPerMinute).toBeUndefined()
    const list = JSON.parse((await cli('list', '--dev-account', '4', '--json')).stdout)
    expect(list.keys.map((x: any) => x.keyHash)).toContain(made.keyHash)
    const show = await cli('show', made.keyHash)
    expect(show.stdout).toContain('requests/min 10')
    expect(show.stdout).toContain('0.25 SIN per day')
    const revoked = await cli('revoke', made.apiKey, '--dev-account', '4', '--json')
    expect(revoked.code, revoked.stderr).toBe(0)
    expect((await http(`${node.url}/v1/apikeys/${made.keyHash}`)).json.revoked).toBe(true)
  }, 300_000)

  it('refuses --rpm 0, a bad budget window and an unknown model; nothing changes', async () => {
    const made = JSON.parse((await apikeyNew('--json')).stdout)
    const before = await nonce()
    const zero = await cli('update', made.keyHash, '--dev-account', '4', '--rpm', '0', '--json')
    expect(zero.code).toBe(1)
    expect(JSON.parse(zero.stderr).error).toMatchObject({ code: 'invalid_field', details: { field: '--rpm' } })
    const negative = await cli('update', made.keyHash, '--dev-account', '4', '--concurrency', '-3', '--json')
    expect(negative.code).toBe(1)
    const window = await cli('update', made.keyHash, '--dev-account', '4', '--budget', 'year=1', '--json')
    expect(window.code).toBe(1)
    expect(JSON.parse(window.stderr).error).toMatchObject({ code: 'invalid_field', details: { field: '--budget' } })
    expect(await nonce()).toBe(before)
    const unknown = await cli('update', made.keyHash, '--dev-account', '4', '--model', 'no-such-model', '--json')
    expect(unknown.code).toBe(1)
    expect(JSON.parse(unknown.stderr).error).toMatchObject({ code: 'model_not_found' })
    expect((await http(`${node.url}/v1/apikeys/${made.keyHash}`)).json.controls).toBeUndefined()
  }, 300_000)
})
