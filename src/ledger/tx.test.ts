/** TxCodec.sign: the node's fast signer gives exactly viem's signTypedData signature. */
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { devAccounts } from './keys/index.ts'
import { canonicalJson } from '../core/index.ts'
import { addressOf, Chain, createLedgerRegistry, devGenesis, insecureDevKey } from './index.ts'
import { receiptJsonWithResult, type Receipt } from './tx.ts'

const accounts = devAccounts(2)
const genesis = devGenesis({ accounts, sequencer: addressOf(insecureDevKey('sequencer')), treasury: addressOf(insecureDevKey('treasury')) })

describe('TxCodec.sign', () => {
  it("signs the bytes viem's signTypedData signs, and the tx recovers to the signer", async () => {
    const chain = Chain.inMemory(genesis, createLedgerRegistry())
    const wire = { to: accounts[1].address, amount: '1500000000000000000', nonce: '7' }
    const signed = chain.codec.sign(accounts[0].privateKey, 'Transfer', wire)
    const { domain, kinds } = chain.codec.describe()
    const viem = await privateKeyToAccount(accounts[0].privateKey).signTypedData({
      domain: { ...domain, chainId: BigInt(domain.chainId) },
      types: kinds.Transfer.types as any,
      primaryType: 'Transfer',
      message: { to: wire.to, amount: BigInt(wire.amount), nonce: BigInt(wire.nonce) },
    })
    expect(signed).toEqual({ type: 'Transfer', message: wire, signature: viem })
    expect(chain.codec.recover(chain.codec.decode(signed)).sender).toBe(accounts[0].address.toLowerCase())
  })

  it('refuses a message that does not fit the kind, naming the field', () => {
    const chain = Chain.inMemory(genesis, createLedgerRegistry())
    expect(() => chain.codec.sign(accounts[0].privateKey, 'Transfer', { to: accounts[1].address, amount: '-1', nonce: '0' })).toThrow(/message\.amount/)
    expect(() => chain.codec.sign(accounts[0].privateKey, 'Nope', {})).toThrow(/Nope/)
  })
})

describe('receiptJsonWithResult', () => {
  it('gives the canonical JSON of the whole receipt (what receiptsRoot hashes), with and without a delegator', () => {
    const base: Receipt = {
      txHash: `0x${'ab'.repeat(32)}`,
      index: 4095,
      type: 'Transfer',
      sender: `0x${'12'.repeat(20)}`,
      nonce: '18446744073709551616',
      result: { to: `0x${'34'.repeat(20)}`, amount: '7', nested: { z: [1, 'a\u0000"\\'], a: true, m: null }, ünï: 'c' },
    }
    const receipts: Receipt[] = [base, { ...base, delegator: `0x${'56'.repeat(20)}` }, { ...base, result: {} }]
    for (const receipt of receipts) {
      // Built the way execution builds it: the result's canonical JSON, then the object parsed back.
      const resultJson = canonicalJson(receipt.result)
      const r = { ...receipt, result: JSON.parse(resultJson) }
      expect(receiptJsonWithResult(r, resultJson)).toBe(canonicalJson(r))
    }
  })
})
