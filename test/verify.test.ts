/**
 * `sinew verify` on real SQLite files: passes on an honest chain; names the block after a
 * balance or a stored tx is changed by hand; the node itself refuses to start on a state
 * table that does not match its head.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeAccount } from '../src/ledger/index.ts'
import { dev, http, runCli, signTransfer, startDevNode, tempDir } from './helpers.ts'

let tmp: ReturnType<typeof tempDir>
let bobBlock = ''
let txBlock = ''
let txHash = ''

beforeAll(async () => {
  tmp = tempDir()
  const node = await startDevNode(tmp.dir)
  for (let i = 0; i < 5; i++) {
    const r = await http(`${node.url}/v1/tx`, {
      body: await signTransfer(dev[0].privateKey, { to: dev[1 + (i % 3)].address, amount: BigInt(i + 1) * 10n ** 17n, nonce: BigInt(i) }),
    })
    expect(r.status).toBe(200)
    if (i === 3) bobBlock = r.json.height // dev[1] last written here (i = 0 and 3)
    if (i === 2) {
      txBlock = r.json.height
      txHash = r.json.hash
    }
  }
  await node.close()
})

afterAll(() => tmp?.cleanup())

const db = () => new Database(join(tmp.dir, 'sinew.db'))

describe('sinew verify', () => {
  it('passes on an honest chain', async () => {
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ ok: true, blocks: 6, txs: 5 })
  })

  it('names the block after a balance is changed by hand, and the node refuses to start', async () => {
    const key = `acct/${dev[1].address}`
    const d = db()
    const original = d.prepare('SELECT value FROM state WHERE key = ?').get(key) as { value: Buffer }
    d.prepare('UPDATE state SET value = ? WHERE key = ?').run(Buffer.from(encodeAccount({ balance: 10n ** 30n, nonce: 0n })), key)
    d.close()
    try {
      const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
      expect(r.code).toBe(1)
      const report = JSON.parse(r.stdout)
      expect(report.ok).toBe(false)
      expect(report.mismatch).toMatchObject({ height: bobBlock, field: `state[${key}]` })
      const human = await runCli(['verify', '--data-dir', tmp.dir])
      expect(human.code).toBe(1)
      expect(human.stdout).toContain(`MISMATCH in block ${bobBlock}: state[${key}]`)
      await expect(startDevNode(tmp.dir)).rejects.toMatchObject({ code: 'integrity' })
    } finally {
      const d2 = db()
      d2.prepare('UPDATE state SET value = ? WHERE key = ?').run(original.value, key)
      d2.close()
    }
    expect((await runCli(['verify', '--data-dir', tmp.dir, '--json'])).code).toBe(0)
  })

  it('names the block after a stored tx is changed by hand', async () => {
    const d = db()
    const hashBlob = Buffer.from(txHash.slice(2), 'hex')
    const row = d.prepare('SELECT message, idx FROM txs WHERE hash = ?').get(hashBlob) as { message: string; idx: number }
    const message = JSON.parse(row.message)
    d.prepare('UPDATE txs SET message = ? WHERE hash = ?').run(JSON.stringify({ ...message, amount: '1' }), hashBlob)
    d.close()
    try {
      const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
      expect(r.code).toBe(1)
      expect(JSON.parse(r.stdout).mismatch).toMatchObject({ height: txBlock, field: `txs[${row.idx}].hash`, actual: txHash })
    } finally {
      const d2 = db()
      d2.prepare('UPDATE txs SET message = ? WHERE hash = ?').run(row.message, hashBlob)
      d2.close()
    }
  })

  it('names the block after a header root is changed by hand', async () => {
    const d = db()
    const row = d.prepare('SELECT tx_root FROM blocks WHERE height = 2').get() as { tx_root: string }
    d.prepare('UPDATE blocks SET tx_root = ? WHERE height = 2').run('0x' + '11'.repeat(32))
    d.close()
    try {
      const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
      expect(r.code).toBe(1)
      expect(JSON.parse(r.stdout).mismatch).toMatchObject({ height: '2', field: 'hash' })
    } finally {
      const d2 = db()
      d2.prepare('UPDATE blocks SET tx_root = ? WHERE height = 2').run(row.tx_root)
      d2.close()
    }
  })

  it('reports a data dir without a chain clearly', async () => {
    const empty = tempDir()
    const r = await runCli(['verify', '--data-dir', empty.dir])
    empty.cleanup()
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('No chain in')
  })
})
