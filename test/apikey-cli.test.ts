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
