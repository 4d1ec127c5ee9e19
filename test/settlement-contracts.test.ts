/**
 * SinewSettlement and SinewDevToken on a real anvil: deposits, checkpoints signed with
 * Sinew's own header code, withdrawals and escapes proven with Sinew's own state tree, and
 * every refusal of issue 13's "bad input" list that the contracts make, each with its named
 * custom error and nothing moved (token balances, stored roots, flags).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keccak256, parseSignature, serializeSignature, toHex as viemHex, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { sinewDevTokenAbi, sinewSettlementAbi } from '../src/settlement/index.ts'
import { dev } from './helpers.ts'
import {
  approveAndDeposit,
  ONE,
  revertOf,
  rootOf,
  SEQUENCER,
  SEQUENCER_KEY,
  siblingsOf,
  signHeader,
  sinewState,
  solHeader,
  startSettlementChain,
  withdrawalKey,
  type SettlementChain,
} from './settlement-fixtures.ts'

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const alice = dev[1]
const bob = dev[2]
const carol = dev[3]

describe('SinewSettlement on anvil', () => {
  let c: SettlementChain
  beforeAll(async () => {
    c = await startSettlementChain({ escapeDelaySeconds: 3600n })
  })
  afterAll(async () => {
    await c?.stop()
  })

  /** Everything a refused call must leave as it was. */
  const snapshot = async () => ({
    contract: await c.tokenBalance(c.deployment.settlement),
    alice: await c.tokenBalance(alice.address),
    bob: await c.tokenBalance(bob.address),
    carol: await c.tokenBalance(carol.address),
    height: await c.read<bigint>('lastCheckpointHeight'),
    hash: await c.read<Hex>('lastCheckpointHash'),
    time: await c.read<bigint>('lastCheckpointTime'),
    escaped: await c.read<boolean>('escaped'),
  })
  const expectRefused = async (call: () => Promise<unknown>, error: string) => {
    const before = await snapshot()
    const r = await revertOf(call())
    expect(r.name).toBe(error)
    expect(await snapshot()).toEqual(before)
    return r
  }

  it('deploys with the sequencer, token and delay given', async () => {
    expect((await c.read<Address>('sequencer')).toLowerCase()).toBe(SEQUENCER)
    expect((await c.read<Address>('token')).toLowerCase()).toBe(c.deployment.token.toLowerCase())
    expect(await c.read<bigint>('escapeDelay')).toBe(3600n)
    expect(await c.read<bigint>('lastCheckpointHeight')).toBe(0n)
    const decimals = await c.publicClient.readContract({ address: c.deployment.token, abi: sinewDevTokenAbi, functionName: 'decimals' })
    expect(decimals).toBe(18)
  })

  it('deposit locks the tokens and emits Deposited(from, sinewAccount, amount)', async () => {
    const before = await c.tokenBalance(alice.address)
    const receipt = await approveAndDeposit(c, c.wallets[1], 100n * ONE, carol.address)
    expect(await c.tokenBalance(alice.address)).toBe(before - 100n * ONE)
    expect(await c.tokenBalance(c.deployment.settlement)).toBe(100n * ONE)
    const logs = await c.publicClient.getContractEvents({
      address: c.deployment.settlement,
      abi: sinewSettlementAbi,
      eventName: 'Deposited',
      fromBlock: receipt.blockNumber,
    })
    expect(logs).toHaveLength(1)
    const { from, sinewAccount, amount } = logs[0].args
    expect([from?.toLowerCase(), sinewAccount?.toLowerCase(), amount]).toEqual([alice.address, carol.address, 100n * ONE])
  })

  it('depositWithPermit takes an EIP-2612 permit instead of an approve', async () => {
    const amount = 50n * ONE
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600)
    const nonce = await c.publicClient.readContract({ address: c.deployment.token, abi: sinewDevTokenAbi, functionName: 'nonces', args: [bob.address] })
    const signature = await privateKeyToAccount(bob.privateKey).signTypedData({
      domain: { name: 'Sinew Dev Token', version: '1', chainId: c.chain.id, verifyingContract: c.deployment.token },
      types: {
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      message: { owner: bob.address, spender: c.deployment.settlement, value: amount, nonce, deadline },
    })
    const { r, s, v } = parseSignature(signature)
    const contractBefore = await c.tokenBalance(c.deployment.settlement)
    await c.send(c.wallets[2], 'depositWithPermit', [amount, bob.address, deadline, Number(v), r, s])
    expect(await c.tokenBalance(c.deployment.settlement)).toBe(contractBefore + amount)
  })

  it('refuses a deposit of zero or to the zero Sinew account', async () => {
    await expectRefused(() => c.send(c.wallets[1], 'deposit', [0n, alice.address]), 'ZeroAmount')
    const r = await expectRefused(() => c.send(c.wallets[1], 'deposit', [ONE, '0x0000000000000000000000000000000000000000']), 'InvalidSinewAccount')
    expect(r.args).toEqual(['0x0000000000000000000000000000000000000000'])
  })

  // Sinew state at heights 5 and 6: alice withdrew 30 to bob (id1) at 5; at 6 carol withdrew 20 to herself (id2).
  const id1 = keccak256(viemHex('withdrawal one'))
  const id2 = keccak256(viemHex('withdrawal two'))
  const w1 = { id: id1, account: alice.address, recipient: bob.address, amount: 30n * ONE }
  const w2 = { id: id2, account: carol.address, recipient: carol.address, amount: 20n * ONE }
  const state5 = sinewState({ accounts: { [alice.address]: 70n * ONE, [carol.address]: 100n * ONE }, withdrawals: [w1] })
  const state6 = sinewState({ accounts: { [alice.address]: 70n * ONE, [carol.address]: 80n * ONE }, withdrawals: [w1, w2] })
  const h5 = signHeader(SEQUENCER_KEY, { height: 5n, stateRoot: rootOf(state5) })
  const h6 = signHeader(SEQUENCER_KEY, { height: 6n, parentHash: h5.hash, stateRoot: rootOf(state6) })
  const withdrawArgs = (height: bigint, w: typeof w1, siblings: Hex[], over: Partial<typeof w1> = {}) => {
    const x = { ...w, ...over }
    return [height, x.id, x.account, x.recipient, x.amount, siblings] as const
  }

  it('refuses a claim before any checkpoint covers it', async () => {
    const r = await expectRefused(() => c.send(c.wallets[2], 'withdraw', withdrawArgs(5n, w1, siblingsOf(state5, withdrawalKey(id1)))), 'UnknownCheckpoint')
    expect(r.args).toEqual([5n])
  })

  it('refuses forged, altered, high-s, foreign-proposer and malformed checkpoints', async () => {
    const forged = signHeader(dev[4].privateKey, { height: 5n, stateRoot: rootOf(state5), proposer: SEQUENCER })
    const r = await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [solHeader(forged), forged.signature]), 'BadSignature')
    expect(r.args).toEqual([privateKeyToAccount(dev[4].privateKey).address])
    // The sequencer's signature of h5 over a header whose stateRoot was swapped.
    const altered = { ...solHeader(h5), stateRoot: rootOf(state6) }
    await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [altered, h5.signature]), 'BadSignature')
    // The same signature in its malleable twin (s' = n - s, v flipped): ecrecover accepts it, the contract must not.
    const sig = parseSignature(h5.signature)
    const twin = serializeSignature({ r: sig.r, s: viemHex(SECP256K1_N - BigInt(sig.s), { size: 32 }), yParity: sig.yParity === 0 ? 1 : 0 })
    const high = await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [solHeader(h5), twin]), 'BadSignature')
    expect(high.args).toEqual(['0x0000000000000000000000000000000000000000'])
    await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [solHeader(h5), '0x1234']), 'BadSignature')
    const foreign = signHeader(dev[4].privateKey, { height: 5n, stateRoot: rootOf(state5) })
    await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [solHeader(foreign), foreign.signature]), 'NotSequencer')
  })

  it('accepts a sequencer-signed header and stores its state root', async () => {
    await c.send(c.wallets[0], 'postCheckpoint', [solHeader(h5), h5.signature])
    expect(await c.read<bigint>('lastCheckpointHeight')).toBe(5n)
    expect(await c.read<Hex>('lastCheckpointHash')).toBe(h5.hash)
    expect(await c.read<Hex>('stateRoots', [5n])).toBe(h5.stateRoot)
  })

  it('refuses a replayed checkpoint, a lower height and a wrong parent', async () => {
    const replay = await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [solHeader(h5), h5.signature]), 'HeightNotIncreasing')
    expect(replay.args).toEqual([5n, 5n])
    const lower = signHeader(SEQUENCER_KEY, { height: 4n, stateRoot: rootOf(state5) })
    await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [solHeader(lower), lower.signature]), 'HeightNotIncreasing')
    const orphan = signHeader(SEQUENCER_KEY, { height: 6n, parentHash: keccak256(viemHex('another chain')), stateRoot: rootOf(state6) })
    const wrong = await expectRefused(() => c.send(c.wallets[0], 'postCheckpoint', [solHeader(orphan), orphan.signature]), 'WrongParent')
    expect(wrong.args).toEqual([orphan.parentHash, h5.hash])
    expect(await c.read<Hex>('stateRoots', [6n])).toBe(`0x${'0'.repeat(64)}`)
  })

  it('pays a proven withdrawal once, to its recipient', async () => {
    const before = await c.tokenBalance(bob.address)
    const contract = await c.tokenBalance(c.deployment.settlement)
    await c.send(c.wallets[3], 'withdraw', withdrawArgs(5n, w1, siblingsOf(state5, withdrawalKey(id1))))
    expect(await c.tokenBalance(bob.address)).toBe(before + 30n * ONE)
    expect(await c.tokenBalance(c.deployment.settlement)).toBe(contract - 30n * ONE)
    expect(await c.read<boolean>('withdrawn', [id1])).toBe(true)
    const again = await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(5n, w1, siblingsOf(state5, withdrawalKey(id1)))), 'AlreadyWithdrawn')
    expect(again.args).toEqual([id1])
  })

  it('refuses a withdrawal proof against the wrong root, for another key or another amount, or not yet checkpointed', async () => {
    const proof2 = siblingsOf(state6, withdrawalKey(id2))
    // id2 exists only at height 6, which is not checkpointed yet: against 5's root it fails, at 6 there is no root.
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(5n, w2, proof2)), 'InvalidProof')
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, proof2)), 'UnknownCheckpoint')
    await c.send(c.wallets[0], 'postCheckpoint', [solHeader(h6), h6.signature])
    // Another key: id2's proof presented for id1's record (and id1's record under id2).
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, proof2, { id: keccak256(viemHex('not recorded')) })), 'InvalidProof')
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, siblingsOf(state6, withdrawalKey(id1)))), 'InvalidProof')
    // Another amount, another recipient, another account: the value hash differs.
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, proof2, { amount: 21n * ONE })), 'InvalidProof')
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, proof2, { recipient: alice.address })), 'InvalidProof')
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, proof2, { account: alice.address })), 'InvalidProof')
    // A tampered sibling.
    const tampered = [...proof2]
    tampered[0] = keccak256(tampered[0])
    await expectRefused(() => c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, tampered)), 'InvalidProof')
    const before = await c.tokenBalance(carol.address)
    await c.send(c.wallets[3], 'withdraw', withdrawArgs(6n, w2, proof2))
    expect(await c.tokenBalance(carol.address)).toBe(before + 20n * ONE)
  })

  it('refuses an escape before the delay', async () => {
    const opens = (await c.read<bigint>('lastCheckpointTime')) + 3600n
    const r = await expectRefused(
      () => c.send(c.wallets[1], 'escape', [alice.address, 70n * ONE, 1n, siblingsOf(state6, `acct/${alice.address.toLowerCase()}`)]),
      'EscapeNotOpen',
    )
    expect(r.args).toEqual([opens])
  })
})

describe('the escape hatch on anvil', () => {
  let c: SettlementChain
  beforeAll(async () => {
    c = await startSettlementChain({ escapeDelaySeconds: 600n })
    await approveAndDeposit(c, c.wallets[1], 300n * ONE, alice.address)
  })
  afterAll(async () => {
    await c?.stop()
  })

  const acct = (a: Address) => `acct/${a.toLowerCase()}`
  const state1 = sinewState({ accounts: { [alice.address]: 200n * ONE, [bob.address]: 60n * ONE } })
  const id = keccak256(viemHex('before escape'))
  const w = { id, account: alice.address, recipient: carol.address, amount: 40n * ONE }
  const state2 = sinewState({ accounts: { [alice.address]: 160n * ONE, [bob.address]: 60n * ONE }, withdrawals: [w] })
  const h1 = signHeader(SEQUENCER_KEY, { height: 1n, stateRoot: rootOf(state1) })
  const h2 = signHeader(SEQUENCER_KEY, { height: 2n, parentHash: h1.hash, stateRoot: rootOf(state2) })

  it('closes again when a checkpoint arrives after the delay, so an escape then is refused', async () => {
    await c.send(c.wallets[0], 'postCheckpoint', [solHeader(h1), h1.signature])
    await c.increaseTime(601)
    await c.send(c.wallets[0], 'postCheckpoint', [solHeader(h2), h2.signature])
    const before = await c.tokenBalance(c.deployment.settlement)
    const r = await revertOf(c.send(c.wallets[1], 'escape', [alice.address, 160n * ONE, 1n, siblingsOf(state2, acct(alice.address))]))
    expect(r.name).toBe('EscapeNotOpen')
    expect(await c.tokenBalance(c.deployment.settlement)).toBe(before)
    expect(await c.read<boolean>('escaped')).toBe(false)
  })

  it('after the delay pays each account its last checkpointed balance once, then takes no checkpoints or deposits', async () => {
    await c.increaseTime(601)
    // Only against the last checkpointed root: alice's balance at height 1 is refused.
    const stale = await revertOf(c.send(c.wallets[1], 'escape', [alice.address, 200n * ONE, 1n, siblingsOf(state1, acct(alice.address))]))
    expect(stale.name).toBe('InvalidProof')
    // A higher balance than proven.
    expect((await revertOf(c.send(c.wallets[1], 'escape', [alice.address, 161n * ONE, 1n, siblingsOf(state2, acct(alice.address))]))).name).toBe('InvalidProof')
    const aliceBefore = await c.tokenBalance(alice.address)
    // Anyone may send the escape; the tokens go to the account.
    await c.send(c.wallets[3], 'escape', [alice.address, 160n * ONE, 1n, siblingsOf(state2, acct(alice.address))])
    expect(await c.tokenBalance(alice.address)).toBe(aliceBefore + 160n * ONE)
    expect(await c.read<boolean>('escaped')).toBe(true)
    const twice = await revertOf(c.send(c.wallets[1], 'escape', [alice.address, 160n * ONE, 1n, siblingsOf(state2, acct(alice.address))]))
    expect(twice.name).toBe('AlreadyEscaped')
    expect(String(twice.args[0]).toLowerCase()).toBe(alice.address)
    const bobBefore = await c.tokenBalance(bob.address)
    await c.send(c.wallets[2], 'escape', [bob.address, 60n * ONE, 1n, siblingsOf(state2, acct(bob.address))])
    expect(await c.tokenBalance(bob.address)).toBe(bobBefore + 60n * ONE)

    const contract = await c.tokenBalance(c.deployment.settlement)
    const h3 = signHeader(SEQUENCER_KEY, { height: 3n, parentHash: h2.hash, stateRoot: rootOf(state2) })
    expect((await revertOf(c.send(c.wallets[0], 'postCheckpoint', [solHeader(h3), h3.signature]))).name).toBe('SettlementClosed')
    expect((await revertOf(approveAndDeposit(c, c.wallets[1], ONE, alice.address))).name).toBe('SettlementClosed')
    expect(await c.tokenBalance(c.deployment.settlement)).toBe(contract)
    expect(await c.read<bigint>('lastCheckpointHeight')).toBe(2n)

    // A withdrawal the last checkpoint covers can still be claimed: the escape paid alice's balance after it.
    await c.send(c.wallets[3], 'withdraw', [2n, id, alice.address, carol.address, 40n * ONE, siblingsOf(state2, withdrawalKey(id))])
    expect(await c.tokenBalance(c.deployment.settlement)).toBe(contract - 40n * ONE)
    // Deposits 300 = paid out 160 + 60 + 40 + 40 still held (no Sinew account holds it in this state).
    expect(await c.tokenBalance(c.deployment.settlement)).toBe(40n * ONE)
  })
})
