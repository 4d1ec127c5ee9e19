/**
 * Each statement of docs/state-proofs.md, checked on a real EVM (anvil) with a test-only
 * contract (contracts/test/SinewProofHarness.sol, compiled here with the pinned solc-js)
 * that calls the documented Solidity: list trees (txRoot items are keccak256(abi.encode(
 * digest, sender)), receiptsRoot items keccak256 of the receipt JSON), the state tree's test
 * vectors, and a real dev node's proof bundle at the head and at a past height: key and
 * value hashes, Merkle path, header hash and the sequencer's signature (high s refused).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createPublicClient,
  createWalletClient,
  hashTypedData,
  http as viemHttp,
  keccak256,
  parseSignature,
  serializeSignature,
  toHex,
  type Address,
  type Hex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { compileContracts } from '../scripts/compile-contracts.ts'
import { fromHex, utf8 } from '../src/core/index.ts'
import { listLeaf, merkleProof, type SignedHeader } from '../src/ledger/index.ts'
import { parseHeaderJson } from '../src/ledger/proof-bundle.ts'
import type { RunningNode } from '../src/server/index.ts'
import { chainAt, startAnvil, type Anvil } from '../src/settlement/index.ts'
import { DEV_CHAIN_ID, dev, http, repoRoot, sendTx, startDevNode, tempDir, TRANSFER_TYPES } from './helpers.ts'
import { solHeader } from './settlement-fixtures.ts'

const word = (byte: string): Hex => `0x${byte.repeat(32)}`
let anvil: Anvil
let harness: Address
let call: <T>(functionName: string, args: readonly unknown[]) => Promise<T>
let node: RunningNode
let tmp: ReturnType<typeof tempDir>

beforeAll(async () => {
  const { artifacts } = compileContracts({ withTests: true })
  const artifact = artifacts.SinewProofHarness
  anvil = await startAnvil()
  const chain = await chainAt(anvil.rpcUrl)
  const transport = viemHttp(anvil.rpcUrl)
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 })
  const wallet = createWalletClient({ account: privateKeyToAccount(dev[0].privateKey), chain, transport })
  const hash = await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode })
  harness = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!
  call = <T>(functionName: string, args: readonly unknown[]) =>
    publicClient.readContract({ address: harness, abi: artifact.abi, functionName, args }) as Promise<T>
  tmp = tempDir()
  node = await startDevNode(tmp.dir)
}, 120_000)

afterAll(async () => {
  await anvil?.stop()
  await node?.close()
  tmp?.cleanup()
})

describe('§2 list trees on the EVM', () => {
  it('verifies the test vector with OpenZeppelin MerkleProof and refuses an index ≥ count', async () => {
    const items = [word('11'), word('22'), word('33')]
    const leaves = items.map((x, i) => listLeaf(i, fromHex(x)))
    const root = '0xb866c228b77b3811e5e067ae5394e9fa903b5ef71d58817755306becadd2efd5'
    for (let i = 0; i < 3; i++) {
      const proof = merkleProof(leaves, i).map((p) => toHex(p))
      expect(await call('verifyListItem', [root, 3n, BigInt(i), items[i], proof])).toBe(true)
      expect(await call('verifyListItem', [root, 3n, BigInt((i + 1) % 3), items[i], proof])).toBe(false)
    }
    // An inner node passed off as a leaf: index = min(a, b), item = max(a, b), one level shorter.
    const [a, b] = [toHex(leaves[0]), toHex(leaves[1])].sort()
    expect(await call('verifyListItem', [root, 3n, BigInt(a), b, [toHex(leaves[2])]])).toBe(false)
  })

  it('a txRoot item is keccak256(abi.encode(EIP-712 digest, sender)), not the digest; a receiptsRoot item is keccak256(receipt JSON)', async () => {
    const alice = dev[0]
    const { nonce } = (await http(`${node.url}/v1/accounts/${alice.address}`)).json
    const message = { to: dev[1].address, amount: 12345n, nonce: BigInt(nonce) }
    const ack = await sendTx(node.url, alice.privateKey, 'Transfer', { to: message.to, amount: '12345' })
    const header = parseHeaderJson((await http(`${node.url}/v1/blocks/${ack.height}?txs=none`)).json)
    const rows = await node.node.store.getBlockTxs(header.height)
    expect(rows).toHaveLength(1)
    const digest = hashTypedData({ domain: { name: 'Sinew', version: '1', chainId: DEV_CHAIN_ID }, types: TRANSFER_TYPES, primaryType: 'Transfer', message })
    const item = await call<Hex>('txItem', [digest, alice.address])
    expect(item).toBe(ack.hash)
    const proof = merkleProof([listLeaf(0, fromHex(item))], 0).map((p) => toHex(p))
    expect(await call('verifyListItem', [header.txRoot, BigInt(header.txCount), 0n, item, proof])).toBe(true)
    expect(await call('verifyListItem', [header.txRoot, BigInt(header.txCount), 0n, digest, proof])).toBe(false)
    const receiptItem = keccak256(utf8(rows[0].receipt))
    expect(await call('verifyListItem', [header.receiptsRoot, BigInt(header.txCount), 0n, receiptItem, proof])).toBe(true)
  })
})

describe('§3 the state tree on the EVM', () => {
  const root3 = '0xfdfd01c5697ecba5f1730247d1a8c417c37098fb5de2c6ae942eaf1d49640366'
  it('verifies the §3.5 inclusion and non-inclusion vectors and refuses tampered ones', async () => {
    const key = `0x40${'0'.repeat(62)}` as Hex
    const siblings = [
      '0xe19950ec46cc8aa7c904b3e95e486549fc2c25e27e223630303f0f21044644f0',
      '0x9efd20705f957e88dd7570ee1b5fff7482a59495f7a1a849122dfcf795947d45',
    ]
    expect(await call('verifyInclusion', [root3, key, word('cc'), siblings])).toBe(true)
    expect(await call('verifyInclusion', [root3, key, word('cd'), siblings])).toBe(false)
    expect(await call('verifyInclusion', [root3, key, word('cc'), [...siblings].reverse()])).toBe(false)
    const absent = `0xc0${'0'.repeat(62)}` as Hex
    const other = `0x80${'0'.repeat(62)}` as Hex
    const nonSiblings = ['0x7fa7913ff3a5afd4f1fe6c9d4a2a4390591cbf9202344ebe44d41570b0dc0358']
    expect(await call('verifyNonInclusion', [root3, absent, true, other, word('bb'), nonSiblings])).toBe(true)
    // The present key cannot be proven absent with its own leaf, nor with an empty subtree.
    expect(await call('verifyNonInclusion', [root3, other, true, other, word('bb'), nonSiblings])).toBe(false)
    expect(await call('verifyNonInclusion', [root3, absent, false, other, word('bb'), nonSiblings])).toBe(false)
  })

  it('the library in docs §3.4 is contracts/SinewStateProof.sol, verbatim', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'state-proofs.md'), 'utf8')
    const section = doc.slice(doc.indexOf('### 3.4'), doc.indexOf('### 3.5'))
    const code = /```solidity\n([\s\S]*?)```/.exec(section)?.[1]
    expect(code).toBe(readFileSync(join(repoRoot, 'contracts', 'SinewStateProof.sol'), 'utf8'))
  })
})

describe('§3.6 and §5: a dev node’s proof bundle, checked on the EVM', () => {
  const twinOf = (signature: Hex): Hex => {
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const sig = parseSignature(signature)
    return serializeSignature({ r: sig.r, s: toHex(n - BigInt(sig.s), { size: 32 }), yParity: sig.yParity === 0 ? 1 : 0 })
  }
  const checkBundle = async (path: string) => {
    const bundle = (await http(`${node.url}${path}`)).json
    const header: SignedHeader = parseHeaderJson(bundle.header)
    expect(await call('keyHash', [bundle.key])).toBe(bundle.proof.key)
    expect(await call('valueHash', [bundle.value])).toBe(bundle.proof.value)
    expect(await call('verifyInclusion', [header.stateRoot, bundle.proof.key, bundle.proof.value, bundle.proof.siblings])).toBe(true)
    expect(await call('headerHash', [solHeader(header)])).toBe(header.hash)
    const signer = await call<Address>('headerSigner', [solHeader(header), header.signature])
    expect(signer.toLowerCase()).toBe(header.proposer)
    expect(await call('headerSigner', [solHeader(header), twinOf(header.signature)])).toBe('0x0000000000000000000000000000000000000000')
    expect(await call('headerSigner', [{ ...solHeader(header), txCount: header.txCount + 1 }, header.signature])).not.toBe(signer)
    return bundle
  }

  it('at the head and at a past height: key/value hashes, path, header hash and signer', async () => {
    const bob = dev[1]
    await sendTx(node.url, dev[2].privateKey, 'Transfer', { to: bob.address, amount: '7' })
    const past = await checkBundle(`/v1/proof/${bob.address}`)
    await sendTx(node.url, dev[2].privateKey, 'Transfer', { to: bob.address, amount: '8' })
    const head = await checkBundle(`/v1/proof/acct/${bob.address}`)
    expect(BigInt(head.header.height)).toBeGreaterThan(BigInt(past.header.height))
    const again = await checkBundle(`/v1/proof/acct/${bob.address}?height=${past.header.height}`)
    expect(again).toEqual(past)
    // The account key as the contract spells it: "acct/" + Strings.toHexString(address), lower case.
    expect(await call('accountKeyHash', [privateKeyToAccount(bob.privateKey).address])).toBe(head.proof.key)
  })
})
