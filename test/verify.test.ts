/**
 * `sinew verify` on real SQLite files: passes on an honest chain; after each kind of hand
 * edit (a stored tx, its receipt column, a header root or signature, a missing block, a
 * changed, deleted or extra state row) it names the block or the state key and the field;
 * the node itself refuses to start on a state table that does not match its head. Each test
 * undoes its edit and checks the chain verifies again, so each runs alone or in any order.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mismatchLines } from '../src/cli/commands/verify.ts'
import { encodeAccount, replayChain, signDigest, type ReplayReport } from '../src/ledger/index.ts'
import { createNodeRegistry } from '../src/node/index.ts'
import { openSqliteStore } from '../src/store/index.ts'
import { fromHex } from '../src/core/index.ts'
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

type Db = Database.Database
type Verified = { report: ReplayReport; human: string }

/** Replays the data dir in this process, as `sinew verify` does; `human` is what the command prints for a mismatch. */
async function verifyHere(): Promise<Verified> {
  const store = openSqliteStore(join(tmp.dir, 'sinew.db'), { readonly: true })
  try {
    const report = await replayChain(store, createNodeRegistry(), { workers: 0 })
    return { report, human: report.ok ? '' : mismatchLines(report).join('\n') }
  } finally {
    await store.close()
  }
}

/** Applies `tamper` to the store (it returns the undo), verifies, undoes the edit and checks the chain verifies again. */
async function verifyTampered(tamper: (d: Db) => (d: Db) => void): Promise<Verified & { report: { mismatch: any } }> {
  const d = db()
  const undo = tamper(d)
  d.close()
  try {
    const result = await verifyHere()
    expect(result.report.ok).toBe(false)
    return result as Verified & { report: { mismatch: any } }
  } finally {
    const d2 = db()
    undo(d2)
    d2.close()
    expect((await verifyHere()).report.ok).toBe(true)
  }
}

const stateRow = (d: Db, key: string) =>
  d.prepare('SELECT key, value, height FROM state WHERE key = ?').get(key) as { key: string; value: Buffer; height: number }
const restoreRow = (row: { key: string; value: Buffer; height: number }) => (d: Db) =>
  d.prepare('INSERT OR REPLACE INTO state (key, value, height) VALUES (?, ?, ?)').run(row.key, row.value, row.height)

describe('sinew verify', () => {
  it('passes on an honest chain', async () => {
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ ok: true, blocks: 6, txs: 5 })
  })

  it('a balance changed by hand: `sinew verify` names the state key and the block that wrote it, and the node refuses to start', async () => {
    const key = `acct/${dev[1].address}`
    const d = db()
    const original = stateRow(d, key)
    d.prepare('UPDATE state SET value = ? WHERE key = ?').run(Buffer.from(encodeAccount({ balance: 10n ** 30n, nonce: 0n })), key)
    d.close()
    try {
      const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
      expect(r.code).toBe(1)
      const report = JSON.parse(r.stdout)
      expect(report.ok).toBe(false)
      expect(report.mismatch).toMatchObject({
        stage: 'state',
        height: '5',
        field: `state[${key}]`,
        details: { lastWrittenBy: bobBlock, storedHeight: bobBlock },
      })
      const human = await runCli(['verify', '--data-dir', tmp.dir])
      expect(human.code).toBe(1)
      expect(human.stdout).toContain(`MISMATCH in the state table: state[${key}] differs from the state replayed from genesis through block 5 (the head)`)
      expect(human.stdout).toContain(`(last written by block ${bobBlock})`)
      expect(human.stdout).toContain(`(the row says block ${bobBlock} wrote it)`)
      expect(human.stdout).not.toContain('blocks before')
      // The node checks the state table against its head's stateRoot at start-up.
      await expect(startDevNode(tmp.dir)).rejects.toMatchObject({ code: 'integrity' })
    } finally {
      const d2 = db()
      restoreRow(original)(d2)
      d2.close()
    }
    expect((await verifyHere()).report.ok).toBe(true)
  })

  it('a state row no block has touched since genesis: the state table, not "block 0"', async () => {
    const key = `acct/${dev[9].address}`
    const { report, human } = await verifyTampered((d) => {
      const original = stateRow(d, key)
      expect(original.height).toBe(0)
      d.prepare('UPDATE state SET value = ? WHERE key = ?').run(Buffer.from(encodeAccount({ balance: 1n, nonce: 0n })), key)
      return restoreRow(original)
    })
    expect(report.mismatch).toMatchObject({ stage: 'state', height: '5', field: `state[${key}]`, details: { lastWrittenBy: '0', storedHeight: '0' } })
    expect(human).toContain(`MISMATCH in the state table: state[${key}]`)
    expect(human).toContain('(last written by genesis)')
    expect(human).not.toContain('MISMATCH in block 0')
    expect(human).toContain('all 6 blocks and 5 txs verified')
  })

  it('a deleted state row: the key the replay has and the table lacks', async () => {
    const key = `acct/${dev[2].address}`
    const { report, human } = await verifyTampered((d) => {
      const original = stateRow(d, key)
      d.prepare('DELETE FROM state WHERE key = ?').run(key)
      return restoreRow(original)
    })
    expect(report.mismatch).toMatchObject({ stage: 'state', field: `state[${key}]`, actual: 'absent', details: { storedHeight: 'absent', lastWrittenBy: '5' } })
    expect(report.mismatch.expected).toMatch(/^0x[0-9a-f]+$/)
    expect(human).toContain(`MISMATCH in the state table: state[${key}]`)
    expect(human).toMatch(/stored +absent \(no row\)/)
  })

  it('an extra state row: a key no block wrote', async () => {
    const key = 'acct/0x000000000000000000000000000000000000dead'
    const { report, human } = await verifyTampered((d) => {
      d.prepare('INSERT INTO state (key, value, height) VALUES (?, ?, ?)').run(key, Buffer.from(encodeAccount({ balance: 5n, nonce: 0n })), 4)
      return (d2) => d2.prepare('DELETE FROM state WHERE key = ?').run(key)
    })
    expect(report.mismatch).toMatchObject({ stage: 'state', field: `state[${key}]`, expected: 'absent', details: { lastWrittenBy: 'none', storedHeight: '4' } })
    expect(human).toContain(`MISMATCH in the state table: state[${key}]`)
    expect(human).toMatch(/replay gives absent \(no block wrote this key\)/)
  })

  it('a stored tx changed by hand: its block and txs[i].hash', async () => {
    const hashBlob = Buffer.from(txHash.slice(2), 'hex')
    let idx = -1
    const { report, human } = await verifyTampered((d) => {
      const row = d.prepare('SELECT message, idx FROM txs WHERE hash = ?').get(hashBlob) as { message: string; idx: number }
      idx = row.idx
      d.prepare('UPDATE txs SET message = ? WHERE hash = ?').run(JSON.stringify({ ...JSON.parse(row.message), amount: '1' }), hashBlob)
      return (d2) => d2.prepare('UPDATE txs SET message = ? WHERE hash = ?').run(row.message, hashBlob)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: txBlock, field: `txs[${idx}].hash`, actual: txHash })
    expect(human).toContain(`MISMATCH in block ${txBlock}: txs[${idx}].hash`)
    expect(human).toContain(`(blocks before ${txBlock} verified: ${txBlock}`)
  })

  it("a tx's stored receipt column changed by hand: its block and txs[i].receipt", async () => {
    const hashBlob = Buffer.from(txHash.slice(2), 'hex')
    const { report } = await verifyTampered((d) => {
      const row = d.prepare('SELECT receipt FROM txs WHERE hash = ?').get(hashBlob) as { receipt: string }
      const receipt = JSON.parse(row.receipt)
      d.prepare('UPDATE txs SET receipt = ? WHERE hash = ?').run(JSON.stringify({ ...receipt, index: 7 }), hashBlob)
      return (d2) => d2.prepare('UPDATE txs SET receipt = ? WHERE hash = ?').run(row.receipt, hashBlob)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: txBlock, field: 'txs[0].receipt', details: { txHash } })
    expect(JSON.parse(report.mismatch.actual).index).toBe(7)
  })

  it('a header root changed by hand: its block and the hash', async () => {
    const { report } = await verifyTampered((d) => {
      const row = d.prepare('SELECT tx_root FROM blocks WHERE height = 2').get() as { tx_root: string }
      d.prepare('UPDATE blocks SET tx_root = ? WHERE height = 2').run('0x' + '11'.repeat(32))
      return (d2) => d2.prepare('UPDATE blocks SET tx_root = ? WHERE height = 2').run(row.tx_root)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: '2', field: 'hash' })
  })

  it('a block signed by someone else (a valid signature over the right hash): its block and the signature', async () => {
    const { report, human } = await verifyTampered((d) => {
      const row = d.prepare('SELECT hash, signature FROM blocks WHERE height = 3').get() as { hash: string; signature: string }
      const forged = signDigest(dev[4].privateKey, fromHex(row.hash as `0x${string}`))
      d.prepare('UPDATE blocks SET signature = ? WHERE height = 3').run(forged)
      return (d2) => d2.prepare('UPDATE blocks SET signature = ? WHERE height = 3').run(row.signature)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: '3', field: 'signature', actual: dev[4].address })
    expect(human).toContain('MISMATCH in block 3: signature')
  })

  it('a block signature that is not a signature: its block and the signature', async () => {
    const { report } = await verifyTampered((d) => {
      const row = d.prepare('SELECT signature FROM blocks WHERE height = 4').get() as { signature: string }
      d.prepare('UPDATE blocks SET signature = ? WHERE height = 4').run('0x' + 'ab'.repeat(65))
      return (d2) => d2.prepare('UPDATE blocks SET signature = ? WHERE height = 4').run(row.signature)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: '4', field: 'signature', actual: 'invalid' })
  })

  const blockRow = (d: Db, height: number) => d.prepare('SELECT * FROM blocks WHERE height = ?').get(height) as Record<string, unknown>
  const restoreBlock = (row: Record<string, unknown>) => (d: Db) =>
    d
      .prepare(
        'INSERT INTO blocks (height, hash, parent_hash, timestamp, tx_root, state_root, receipts_root, tx_count, proposer, signature) VALUES (@height, @hash, @parent_hash, @timestamp, @tx_root, @state_root, @receipts_root, @tx_count, @proposer, @signature)',
      )
      .run(row)

  it('a block missing in the middle of the chain: its height', async () => {
    const { report, human } = await verifyTampered((d) => {
      const row = blockRow(d, 3)
      d.prepare('DELETE FROM blocks WHERE height = 3').run()
      return restoreBlock(row)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: '3', field: 'height', actual: 'missing (next stored is 4)' })
    expect(human).toContain('MISMATCH in block 3: height')
  })

  it('the head block missing (its txs and state writes still stored): its height, not a state key', async () => {
    const { report, human } = await verifyTampered((d) => {
      const row = blockRow(d, 5)
      d.prepare('DELETE FROM blocks WHERE height = 5').run()
      return restoreBlock(row)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: '5', field: 'height', expected: '5' })
    expect(report.mismatch.actual).toContain('missing')
    expect(human).toContain('MISMATCH in block 5: height')
  })

  it('block 0 missing', async () => {
    const { report } = await verifyTampered((d) => {
      const row = blockRow(d, 0)
      d.prepare('DELETE FROM blocks WHERE height = 0').run()
      return restoreBlock(row)
    })
    expect(report.mismatch).toMatchObject({ stage: 'block', height: '0', field: 'hash', actual: 'missing' })
  })

  it('reports a data dir without a chain clearly', async () => {
    const empty = tempDir()
    const r = await runCli(['verify', '--data-dir', empty.dir])
    empty.cleanup()
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('No chain in')
  })
})
