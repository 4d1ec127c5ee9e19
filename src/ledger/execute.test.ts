/** Execution rules on an in-memory chain: nonces, rollback of a failed tx, determinism. */
import { describe, expect, it } from 'vitest'
import { devAccounts } from './keys/index.ts'
import { SinewError } from '../core/index.ts'
import {
  addressOf,
  Chain,
  createLedgerRegistry,
  defineTxKind,
  devGenesis,
  insecureDevKey,
  signDigest,
  TxKindRegistry,
  transferKind,
  eip712Types,
  signingDomain,
  type SignedTx,
} from './index.ts'
import { createTypedDataHasher } from './signing/index.ts'
import { credit, readAccount } from './accounts.ts'

const accounts = devAccounts(3)
const genesis = devGenesis({ accounts, sequencer: addressOf(insecureDevKey('sequencer')), treasury: addressOf(insecureDevKey('treasury')) })
const hasher = createTypedDataHasher(signingDomain(genesis.chainId), eip712Types(transferKind), 'Transfer')

function transfer(chain: Chain, from: number, to: number, amount: bigint, nonce: bigint): SignedTx {
  const message = { to: accounts[to].address, amount: amount.toString(), nonce: nonce.toString() }
  const digest = hasher({ to: accounts[to].address, amount, nonce })
  return chain.codec.recover(chain.codec.decode({ type: 'Transfer', message, signature: signDigest(accounts[from].privateKey, digest) }))
}

describe('block execution', () => {
  it('applies valid txs in order and leaves failed ones out, changing nothing for them', async () => {
    const chain = Chain.inMemory(genesis, createLedgerRegistry())
    const txs = [
      transfer(chain, 0, 1, 5n, 0n),
      transfer(chain, 0, 1, 6n, 2n), // skips nonce 1
      transfer(chain, 0, 1, 10n ** 30n, 1n), // too much
      transfer(chain, 0, 1, 7n, 1n),
    ]
    const { execution, header } = await chain.produceBlock(txs, insecureDevKey('sequencer'), 1n)
    expect(execution.included.map((x) => x.tx.hash)).toEqual([txs[0].hash, txs[3].hash])
    expect(execution.rejected.map((x) => x.error.code)).toEqual(['nonce_too_high', 'insufficient_balance'])
    expect(header.height).toBe(1n)
    expect(readAccount(chain.state, accounts[0].address).nonce).toBe(2n)
    expect(readAccount(chain.state, accounts[1].address).balance).toBe(genesis.alloc[1].balance + 12n)
  })

  it('rolls back everything a failing handler wrote, including the nonce bump', async () => {
    const failing = defineTxKind({
      type: 'Explode',
      description: 'credits then fails',
      fields: [],
      execute: (ctx) => {
        credit(ctx.state, ctx.sender, 1000n)
        throw new SinewError({ code: 'insufficient_balance', message: 'fails after writing' })
      },
    })
    const chain = Chain.inMemory(genesis, new TxKindRegistry().register(transferKind, failing))
    const h = createTypedDataHasher(signingDomain(genesis.chainId), eip712Types(failing), 'Explode')
    const tx = chain.codec.recover(
      chain.codec.decode({ type: 'Explode', message: { nonce: '0' }, signature: signDigest(accounts[2].privateKey, h({ nonce: 0n })) }),
    )
    const rootBefore = chain.head.stateRoot
    const { execution } = await chain.produceBlock([tx], insecureDevKey('sequencer'), 1n)
    expect(execution.rejected[0].error.code).toBe('insufficient_balance')
    expect(execution.rejected[0].error.shortMessage).toBe('fails after writing')
    expect(chain.head.height).toBe(0n)
    expect(chain.head.stateRoot).toBe(rootBefore)
    expect(readAccount(chain.state, accounts[2].address)).toEqual({ balance: genesis.alloc[2].balance, nonce: 0n })
  })

  it('two chains fed the same txs agree byte for byte, and a replay accepts the block', async () => {
    const a = Chain.inMemory(genesis, createLedgerRegistry())
    const b = Chain.inMemory(genesis, createLedgerRegistry())
    const txs = [transfer(a, 0, 1, 1n, 0n), transfer(a, 1, 2, 2n, 0n), transfer(a, 2, 0, 3n, 0n)]
    const pa = await a.produceBlock(txs, insecureDevKey('sequencer'), 42n)
    const pb = await b.produceBlock(txs, insecureDevKey('sequencer'), 42n)
    expect(pb.header).toEqual(pa.header)
    const replica = Chain.inMemory(genesis, createLedgerRegistry())
    await replica.applyBlock(pa.header, txs)
    expect(replica.head).toEqual(pa.header)
  })

  it('a replay refuses a block signed by someone else', async () => {
    const a = Chain.inMemory(genesis, createLedgerRegistry())
    const txs = [transfer(a, 0, 1, 1n, 0n)]
    const { header } = await a.produceBlock(txs, insecureDevKey('sequencer'), 42n)
    const forged = { ...header, signature: signDigest(accounts[0].privateKey, Buffer.from(header.hash.slice(2), 'hex')) }
    const replica = Chain.inMemory(genesis, createLedgerRegistry())
    await expect(replica.applyBlock(forged, txs)).rejects.toMatchObject({ code: 'block_mismatch', field: 'signature' })
    expect(replica.head.height).toBe(0n)
  })
})
