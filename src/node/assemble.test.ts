import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig, type NodeConfig } from '../core/index.ts'
import { addressOf, DEV_CHAIN_ID, devGenesis, insecureDevKey } from '../ledger/index.ts'
import { devAccounts } from '../ledger/keys/index.ts'
import { assembleNode } from './assemble.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const sequencerKey = insecureDevKey('sequencer')
const genesis = devGenesis({ accounts: devAccounts(2), sequencer: addressOf(sequencerKey), treasury: addressOf(insecureDevKey('treasury')) })

function config(): NodeConfig {
  const dataDir = mkdtempSync(join(tmpdir(), 'sinew-assemble-'))
  dirs.push(dataDir)
  return loadConfig({ flags: { dataDir, port: 0, logLevel: 'silent', signatureWorkers: 0 }, env: {} })
}

async function transfer(nonce: bigint) {
  const [from, to] = devAccounts(2)
  const message = { to: to.address, amount: 1n, nonce }
  const signature = await privateKeyToAccount(from.privateKey).signTypedData({
    domain: { name: 'Sinew', version: '1', chainId: DEV_CHAIN_ID },
    types: {
      Transfer: [
        { name: 'to', type: 'address' },
        { name: 'amount', type: 'uint256' },
        { name: 'nonce', type: 'uint64' },
      ],
    },
    primaryType: 'Transfer',
    message,
  })
  return { type: 'Transfer', message: { to: to.address, amount: '1', nonce: String(nonce) }, signature }
}

describe('assembleNode', () => {
  it('a block that cannot be committed calls onFatal once, refuses its txs, and leaves the process to the caller', async () => {
    const fatal: unknown[] = []
    const assembled = await assembleNode({ config: config(), genesis, sequencerKey, onFatal: (e) => fatal.push(e) })
    try {
      expect((await assembled.node.submit(await transfer(0n))).height).toBe(1n)
      const disk = new Error('disk I/O error')
      assembled.node.store.commitBlock = async () => {
        throw disk
      }
      await expect(assembled.node.submit(await transfer(1n))).rejects.toMatchObject({ code: 'commit_failed', status: 503 })
      expect(fatal).toEqual([disk])
      // The sequencer has stopped: later txs are refused, and the node still answers reads.
      await expect(assembled.node.submit(await transfer(1n))).rejects.toMatchObject({ code: 'shutting_down' })
      expect(assembled.node.chain.head.height).toBe(1n)
      expect(fatal).toHaveLength(1)
    } finally {
      await assembled.close()
    }
  })

  it('holds the data dir until closed; closes what was built on it first, the ledger after, the lock last', async () => {
    const c = config()
    const assembled = await assembleNode({ config: c, genesis, sequencerKey })
    await expect(assembleNode({ config: c, genesis, sequencerKey })).rejects.toMatchObject({ code: 'data_dir_in_use' })
    const seen: string[] = []
    assembled.onClose(async () => {
      // Built on the node (an HTTP server): closed while the store still answers.
      seen.push(`server closed at height ${(await assembled.node.store.head())?.height}`)
    })
    assembled.start()
    await Promise.all([assembled.close(), assembled.close()]) // idempotent
    expect(seen).toEqual(['server closed at height 0'])
    await expect(assembled.node.store.head()).rejects.toThrow()
    const again = await assembleNode({ config: c, genesis, sequencerKey }) // the lock was released
    await again.close()
  })
})
