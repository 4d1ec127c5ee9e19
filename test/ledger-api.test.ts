/**
 * The ledger over real HTTP on 127.0.0.1 and a real SQLite file: a viem-signed transfer is
 * acknowledged and visible in the API and the CLI; every kind of bad input gets its own
 * error and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { privateKeyToAccount } from 'viem/accounts'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, runCli, signTransfer, startDevNode, tempDir } from './helpers.ts'

const SIN = 10n ** 18n
let node: RunningNode
let tmp: ReturnType<typeof tempDir>
let url: string
const alice = dev[0]
const bob = dev[1]

async function account(address: string) {
  return (await http(`${url}/v1/accounts/${address}`)).json as { balance: string; nonce: string }
}

/** Everything a bad tx must leave alone. */
async function snapshot() {
  const status = (await http(`${url}/v1/status`)).json
  return { height: status.height, stateRoot: status.stateRoot, alice: await account(alice.address), bob: await account(bob.address) }
}

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir, { bodyLimitBytes: 64 * 1024 })
  url = node.url
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

describe('a transfer signed with viem', () => {
  it('is acknowledged with its block height and shows in the API and the CLI', async () => {
    const before = await account(bob.address)
    const tx = await signTransfer(alice.privateKey, { to: bob.address, amount: 3n * SIN, nonce: 0n })
    const ack = await http(`${url}/v1/tx`, { body: tx })
    expect(ack.status).toBe(200)
    expect(ack.json.height).toBe('1')
    expect(ack.json.hash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(ack.json.receipt.result).toEqual({ from: alice.address, to: bob.address, amount: (3n * SIN).toString() })

    expect(BigInt((await account(bob.address)).balance)).toBe(BigInt(before.balance) + 3n * SIN)
    expect((await account(alice.address)).nonce).toBe('1')
    const stored = await http(`${url}/v1/tx/${ack.json.hash}`)
    expect(stored.json).toMatchObject({ hash: ack.json.hash, height: '1', index: 0, type: 'Transfer', sender: alice.address, nonce: '0' })
    expect(stored.json.message).toEqual(tx.message)
    const block = await http(`${url}/v1/blocks/1`)
    expect(block.json.txHashes).toEqual([ack.json.hash])
    expect((await http(`${url}/v1/blocks/latest`)).json.hash).toBe(block.json.hash)

    const cli = await runCli(['account', bob.address, '--node', url, '--json'])
    expect(cli.code).toBe(0)
    expect(JSON.parse(cli.stdout)).toMatchObject({ address: bob.address, balance: (BigInt(before.balance) + 3n * SIN).toString() })
    const cliTx = await runCli(['tx', 'get', ack.json.hash, '--node', url, '--json'])
    expect(JSON.parse(cliTx.stdout).receipt.result.amount).toBe((3n * SIN).toString())
  })

  it('the CLI signs and submits a transfer too', async () => {
    const cli = await runCli(['tx', 'transfer', '--dev-account', '2', '--to', bob.address, '--amount', '0.25', '--node', url, '--json'])
    expect(cli.stderr).toBe('')
    expect(cli.code).toBe(0)
    const ack = JSON.parse(cli.stdout)
    expect(ack.from).toBe(dev[2].address)
    expect((await http(`${url}/v1/tx/${ack.hash}`)).json.message.amount).toBe((SIN / 4n).toString())
  })

  it('a batch gets one result per item, in order', async () => {
    const nonce = BigInt((await account(alice.address)).nonce)
    const good = await signTransfer(alice.privateKey, { to: bob.address, amount: 1n, nonce })
    const good2 = await signTransfer(alice.privateKey, { to: bob.address, amount: 2n, nonce: nonce + 1n })
    const skipped = await signTransfer(alice.privateKey, { to: bob.address, amount: 3n, nonce: nonce + 5n })
    const r = await http(`${url}/v1/txs`, { body: { txs: [good, { type: 'Nope' }, good2, skipped] } })
    expect(r.status).toBe(200)
    expect(r.json.results.map((x: { ok: boolean; error?: { code: string } }) => (x.ok ? 'ok' : x.error!.code))).toEqual([
      'ok',
      'unknown_tx_type',
      'ok',
      'nonce_too_high',
    ])
    expect(r.json.results[0].height).toBe(r.json.results[2].height)
  })

  it('serves the EIP-712 types, the genesis and the OpenAPI document', async () => {
    const types = (await http(`${url}/v1/types`)).json
    expect(types.domain).toEqual({ name: 'Sinew', version: '1', chainId: '31415' })
    expect(types.kinds.Transfer.types.Transfer.map((f: { name: string }) => f.name)).toEqual(['to', 'amount', 'nonce'])
    const genesis = (await http(`${url}/v1/genesis`)).json
    expect(genesis.genesis.insecure).toBe(true)
    const openapi = (await http(`${url}/openapi.json`)).json
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/tx', '/v1/txs', '/v1/tx/{hash}', '/v1/blocks/latest', '/v1/accounts/{address}', '/v1/status', '/v1/proof/{key}']),
    )
    expect(Object.keys(openapi.paths).filter((p) => p.startsWith('/v1/proof'))).toEqual(['/v1/proof/{key}'])
  })

  it('serves the error catalogue: every code once, sorted, with its status and meaning, described in the OpenAPI document', async () => {
    const r = await http(`${url}/v1/errors`)
    expect(r.status).toBe(200)
    const errors: { code: string; status: number; meaning: string }[] = r.json.errors
    const codes = errors.map((e) => e.code)
    expect(codes).toEqual([...codes].sort())
    expect(new Set(codes).size).toBe(codes.length)
    for (const e of errors) {
      expect(Object.keys(e).sort()).toEqual(['code', 'meaning', 'status'])
      expect(e.status >= 400 && e.status <= 599 && e.meaning.length > 0, e.code).toBe(true)
    }
    // The statuses this API has always answered, and the corrected ones (a tx naming a missing thing is 404).
    const status = Object.fromEntries(errors.map((e) => [e.code, e.status]))
    expect(status).toMatchObject({ nonce_too_low: 422, insufficient_balance: 422, body_too_large: 413, tx_already_included: 409, read_only: 405 })
    expect(status).toMatchObject({ datanet_not_found: 404, blob_not_found: 404, task_not_found: 404, model_not_found: 404 })
    const op = (await http(`${url}/openapi.json`)).json.paths['/v1/errors']?.get
    expect(op?.responses?.['200']?.content?.['application/json']?.schema?.properties?.errors?.type).toBe('array')
  })

  it('proves a state key given as an address, as acct/0x… written out, or URL-encoded: the same proof', async () => {
    const byAddress = await http(`${url}/v1/proof/${bob.address}`)
    expect(byAddress.status).toBe(200)
    expect(byAddress.json.key).toBe(`acct/${bob.address}`)
    expect((await http(`${url}/v1/proof/acct/${bob.address}`)).json).toEqual(byAddress.json)
    expect((await http(`${url}/v1/proof/${encodeURIComponent(`acct/${bob.address}`)}`)).json).toEqual(byAddress.json)
  })
})

describe('bad input: a specific error, nothing changed', () => {
  const send = async (body: unknown) => http(`${url}/v1/tx`, { body })
  const base = async () => {
    const nonce = BigInt((await account(alice.address)).nonce)
    return { to: bob.address, amount: 5n, nonce }
  }

  const cases: [string, () => Promise<{ status: number; json: any }>, number, string, string?][] = [
    ['malformed JSON', () => http(`${url}/v1/tx`, { raw: '{"type": "Transfer", ' }), 400, 'malformed_json'],
    ['unknown tx type', async () => send({ ...(await signTransfer(alice.privateKey, await base())), type: 'Teleport' }), 400, 'unknown_tx_type', 'type'],
    [
      'missing field',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        const { amount: _drop, ...message } = tx.message
        return send({ ...tx, message })
      },
      400,
      'missing_field',
      'tx.message.amount',
    ],
    [
      'extra field',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, message: { ...tx.message, memo: 'hi' } })
      },
      400,
      'unknown_field',
      'tx.message.memo',
    ],
    ['extra envelope field', async () => send({ ...(await signTransfer(alice.privateKey, await base())), gas: '1' }), 400, 'unknown_field', 'tx.gas'],
    [
      'ill-typed field (amount as a JSON number)',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, message: { ...tx.message, amount: 5 } })
      },
      400,
      'invalid_field',
      'tx.message.amount',
    ],
    [
      'negative amount',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, message: { ...tx.message, amount: '-5' } })
      },
      400,
      'invalid_field',
      'tx.message.amount',
    ],
    [
      'fractional amount',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, message: { ...tx.message, amount: '1.5' } })
      },
      400,
      'invalid_field',
      'tx.message.amount',
    ],
    [
      'amount above 2^256-1',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, message: { ...tx.message, amount: (1n << 256n).toString() } })
      },
      400,
      'invalid_field',
      'tx.message.amount',
    ],
    [
      'invalid address',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, message: { ...tx.message, to: '0x1234' } })
      },
      400,
      'invalid_address',
      'tx.message.to',
    ],
    [
      'address with a bad checksum',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, message: { ...tx.message, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C9' } })
      },
      400,
      'invalid_address',
      'tx.message.to',
    ],
    ['bad signature (not hex)', async () => send({ ...(await signTransfer(alice.privateKey, await base())), signature: '0xzz' }), 400, 'invalid_signature'],
    [
      'truncated signature',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, signature: tx.signature.slice(0, 120) })
      },
      400,
      'invalid_signature',
    ],
    [
      'signature with v out of range',
      async () => {
        const tx = await signTransfer(alice.privateKey, await base())
        return send({ ...tx, signature: tx.signature.slice(0, 130) + '05' })
      },
      400,
      'invalid_signature',
    ],
    [
      'signed for another chainId (declared)',
      async () => send({ ...(await signTransfer(alice.privateKey, await base(), 1n)), chainId: '1' }),
      400,
      'wrong_chain_id',
      'tx.chainId',
    ],
    [
      'signed for another chainId (with from)',
      async () => send({ ...(await signTransfer(alice.privateKey, await base(), 1n)), from: alice.address }),
      400,
      'signer_mismatch',
      'signature',
    ],
    [
      'signed for another chainId (bare: recovers to a stranger with no history)',
      async () => send(await signTransfer(alice.privateKey, await base(), 1n)),
      422,
      'nonce_too_high',
      'chainId',
    ],
    [
      'reused nonce',
      async () => {
        const b = await base()
        return send(await signTransfer(alice.privateKey, { ...b, amount: 7n, nonce: b.nonce - 1n }))
      },
      422,
      'nonce_too_low',
      'message.nonce',
    ],
    [
      'replayed tx',
      async () => {
        const b = await base()
        const tx = await signTransfer(alice.privateKey, { ...b, amount: 1n, nonce: b.nonce - 1n })
        const first = await http(`${url}/v1/tx/0x${'00'.repeat(32)}`)
        expect(first.status).toBe(404)
        return send(tx)
      },
      422,
      'nonce_too_low',
    ],
    [
      'skipped nonce',
      async () => {
        const b = await base()
        return send(await signTransfer(alice.privateKey, { ...b, nonce: b.nonce + 1n }))
      },
      422,
      'nonce_too_high',
      'message.nonce',
    ],
    [
      'insufficient balance',
      async () => send(await signTransfer(alice.privateKey, { ...(await base()), amount: 1_000_000n * SIN })),
      422,
      'insufficient_balance',
      'amount',
    ],
    ['zero amount', async () => send(await signTransfer(alice.privateKey, { ...(await base()), amount: 0n })), 400, 'invalid_field', 'message.amount'],
    [
      'body over the size limit',
      async () => http(`${url}/v1/tx`, { raw: JSON.stringify({ type: 'Transfer', message: {}, signature: '0x', pad: 'x'.repeat(70 * 1024) }) }),
      413,
      'body_too_large',
    ],
    [
      'batch over the size limit',
      async () => http(`${url}/v1/txs`, { body: { txs: Array.from({ length: 400 }, () => ({ pad: 'y'.repeat(200) })) } }),
      413,
      'body_too_large',
    ],
    ['empty batch', async () => http(`${url}/v1/txs`, { body: { txs: [] } }), 400, 'invalid_field', 'body.txs'],
    [
      'a body that is not JSON',
      async () => http(`${url}/v1/tx`, { raw: '<tx/>', headers: { 'content-type': 'application/xml' } }),
      415,
      'unsupported_content_type',
    ],
  ]
  let catalogue: Record<string, number>
  beforeAll(async () => {
    catalogue = Object.fromEntries((await http(`${url}/v1/errors`)).json.errors.map((e: { code: string; status: number }) => [e.code, e.status]))
  })

  for (const [name, run, status, code, field] of cases) {
    it(name, async () => {
      const before = await snapshot()
      const r = await run()
      expect(r.status).toBe(status)
      expect(r.json.error.code).toBe(code)
      expect(catalogue[code], 'the published catalogue gives the same status').toBe(status)
      expect(typeof r.json.error.message).toBe('string')
      if (field) expect(JSON.stringify(r.json.error.details)).toContain(field)
      expect(await snapshot()).toEqual(before)
    })
  }

  it('an already included tx is refused by hash', async () => {
    const b = await base()
    const tx = await signTransfer(alice.privateKey, { ...b, amount: 9n })
    expect((await send(tx)).status).toBe(200)
    const before = await snapshot()
    const again = await send(tx)
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe('tx_already_included')
    expect(await snapshot()).toEqual(before)
  })

  it('read routes reject bad parameters', async () => {
    expect((await http(`${url}/v1/accounts/0xnothex`)).json.error.code).toBe('invalid_address')
    expect((await http(`${url}/v1/tx/0x1234`)).status).toBe(400)
    expect((await http(`${url}/v1/blocks/abc`)).status).toBe(400)
    expect((await http(`${url}/v1/blocks/99999`)).json.error.code).toBe('not_found')
    expect((await http(`${url}/v1/nothing`)).json.error.code).toBe('route_not_found')
  })

  it('the sender comes from the signature, never from a field', async () => {
    const mallory = privateKeyToAccount(dev[5].privateKey).address.toLowerCase()
    const b = await base()
    const tx = await signTransfer(dev[5].privateKey, { to: bob.address, amount: 1n, nonce: 0n })
    const r = await send(tx)
    expect(r.status).toBe(200)
    expect(r.json.receipt.sender).toBe(mallory)
    expect((await account(alice.address)).nonce).toBe(b.nonce.toString())
  })
})
