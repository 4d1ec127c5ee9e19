/**
 * GET /v1/proof/:key?height=H on a real dev node (SQLite, HTTP on 127.0.0.1): proofs at past
 * heights from the store's state history, each checked offline against that block's signed
 * header and its value against the balance the API gave at that height; a clear error for
 * heights that cannot be served; acct/ keys in one canonical spelling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkProofBundle, decodeAccount } from '../src/ledger/index.ts'
import { fromHex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, sendTx, startDevNode, tempDir } from './helpers.ts'

let node: RunningNode
let tmp: ReturnType<typeof tempDir>
const alice = dev[0]
const bob = dev[1]
/** bob's balance as the API said right after each block: the independent oracle. */
const balanceAt = new Map<string, bigint>()

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir)
  balanceAt.set('0', BigInt((await http(`${node.url}/v1/accounts/${bob.address}`)).json.balance))
  for (let i = 1n; i <= 4n; i++) {
    const ack = await sendTx(node.url, alice.privateKey, 'Transfer', { to: bob.address, amount: (i * 1000n).toString() })
    const a = (await http(`${node.url}/v1/accounts/${bob.address}`)).json
    balanceAt.set(ack.height, BigInt(a.balance))
  }
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

describe('proofs at past heights', () => {
  it('serves a proof at every height, against that block’s header, with that block’s value', async () => {
    const head = (await http(`${node.url}/v1/blocks/latest`)).json
    expect(balanceAt.size).toBe(5)
    for (const [height, balance] of balanceAt) {
      const r = await http(`${node.url}/v1/proof/acct/${bob.address}?height=${height}`)
      expect(r.status, JSON.stringify(r.json)).toBe(200)
      expect(r.json.header.height).toBe(height)
      expect(r.json.header).toEqual((await http(`${node.url}/v1/blocks/${height}?txs=none`)).json)
      const check = checkProofBundle(r.json)
      expect(check.problems).toEqual([])
      expect(decodeAccount(fromHex(r.json.value)).balance).toBe(balance)
    }
    // No height: the head, as before.
    const latest = await http(`${node.url}/v1/proof/${bob.address}`)
    expect(latest.json.header.height).toBe(head.height)
    // The same past height twice (the second from the cache) gives the same proof.
    const again = await http(`${node.url}/v1/proof/acct/${bob.address}?height=2`)
    expect(again.json).toEqual((await http(`${node.url}/v1/proof/acct/${bob.address}?height=2`)).json)
  })

  it('proves absence at a height before a key existed', async () => {
    const ack = await sendTx(node.url, alice.privateKey, 'Transfer', { to: '0x00000000000000000000000000000000000000aa', amount: '1' })
    const before = await http(`${node.url}/v1/proof/0x00000000000000000000000000000000000000aa?height=${BigInt(ack.height) - 1n}`)
    expect(before.json.value).toBeNull()
    expect(checkProofBundle(before.json).ok).toBe(true)
    const after = await http(`${node.url}/v1/proof/0x00000000000000000000000000000000000000aa?height=${ack.height}`)
    expect(decodeAccount(fromHex(after.json.value)).balance).toBe(1n)
  })

  it('refuses a height above the head with proof_height_unavailable, and a malformed height', async () => {
    const head = BigInt((await http(`${node.url}/v1/blocks/latest`)).json.height)
    const r = await http(`${node.url}/v1/proof/acct/${bob.address}?height=${head + 1n}`)
    expect(r.status).toBe(404)
    expect(r.json.error.code).toBe('proof_height_unavailable')
    expect(r.json.error.details).toMatchObject({ height: (head + 1n).toString(), head: head.toString(), historyFrom: '0' })
    const bad = await http(`${node.url}/v1/proof/acct/${bob.address}?height=-1`)
    expect(bad.status).toBe(400)
    expect(bad.json.error.code).toBe('invalid_field')
  })
})

describe('canonical acct/ keys', () => {
  it('answers a mixed-case (EIP-55) or upper-case address with the lower-case key’s proof, never an absence proof', async () => {
    const lower = await http(`${node.url}/v1/proof/acct/${bob.address}`)
    const checksummed = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
    expect(checksummed.toLowerCase()).toBe(bob.address)
    const mixed = await http(`${node.url}/v1/proof/acct/${checksummed}`)
    expect(mixed.status).toBe(200)
    expect(mixed.json).toEqual(lower.json)
    expect(mixed.json.value).not.toBeNull()
    const upper = await http(`${node.url}/v1/proof/${encodeURIComponent(`acct/0x${bob.address.slice(2).toUpperCase()}`)}`)
    expect(upper.json).toEqual(lower.json)
  })

  it('refuses an acct/ key with a bad checksum or no address', async () => {
    const badChecksum = await http(`${node.url}/v1/proof/acct/0x70997970c51812dc3A010C7d01b50e0d17dc79C8`)
    expect(badChecksum.status).toBe(400)
    expect(badChecksum.json.error.code).toBe('invalid_address')
    const notAddress = await http(`${node.url}/v1/proof/acct/alice`)
    expect(notAddress.status).toBe(400)
    expect(notAddress.json.error.code).toBe('invalid_address')
  })
})
