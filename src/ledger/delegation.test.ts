/** Session keys (Delegate / RevokeDelegate and txs signed for a delegator), executed on an in-memory chain. */
import { describe, expect, it } from 'vitest'
import { privateKeyToAccount } from 'viem/accounts'
import { hashTypedData } from 'viem'
import { toHex } from '../core/index.ts'
import { devAccounts } from './keys/index.ts'
import { addressOf, Chain, createLedgerRegistry, devGenesis, getDelegation, insecureDevKey, readAccount, type Address, type SignedTx } from './index.ts'

const [owner, agent, other, third] = devAccounts(4)
const seqKey = insecureDevKey('sequencer')
const genesis = devGenesis({ accounts: [owner, agent, other, third], sequencer: addressOf(seqKey), treasury: addressOf(insecureDevKey('treasury')) })
const SIN = 10n ** 18n
const DAY = 86_400_000n
const T0 = genesis.timestamp + 1000n

type Key = { address: Address; privateKey: `0x${string}` }

function setup() {
  const chain = Chain.inMemory(genesis, createLedgerRegistry())
  const nonces = new Map<string, bigint>()
  const tx = (key: Key, type: string, message: Record<string, unknown>, delegator?: Address): SignedTx => {
    const nonce = nonces.get(key.address) ?? 0n
    nonces.set(key.address, nonce + 1n)
    const env = chain.codec.sign(key.privateKey, type, { ...message, nonce: nonce.toString() }, delegator)
    return chain.codec.recover(chain.codec.decode(env))
  }
  /** One tx in its own block at `now`: its receipt, or the error that refused it (nonce given back). */
  const run = async (t: SignedTx, now = T0) => {
    const { execution } = await chain.produceBlock([t], seqKey, now)
    if (execution.rejected.length > 0) {
      nonces.set(t.sender, t.nonce)
      return { error: execution.rejected[0].error }
    }
    return { receipt: execution.included[0].receipt }
  }
  const delegate = (to: Address, o: { kinds?: string[]; spendCap?: bigint; dailyCap?: bigint; expiry?: bigint } = {}, from: Key = owner) =>
    tx(from, 'Delegate', {
      delegate: to,
      kinds: o.kinds ?? ['Transfer'],
      spendCap: (o.spendCap ?? SIN).toString(),
      dailyCap: (o.dailyCap ?? 0n).toString(),
      expiry: (o.expiry ?? T0 + 10n * DAY).toString(),
    })
  const pay = (amount: bigint, signer: Key = agent, delegator: Address = owner.address) =>
    tx(signer, 'Transfer', { to: third.address, amount: amount.toString() }, delegator)
  const balance = (a: Address) => readAccount(chain.state, a).balance
  return { chain, tx, run, delegate, pay, balance }
}

describe('session keys', () => {
  it('a session key spends for its delegator up to the total cap, and the receipt names both', async () => {
    const { run, delegate, pay, balance, chain } = setup()
    expect((await run(delegate(agent.address, { spendCap: SIN }))).receipt?.result).toMatchObject({ delegator: owner.address, delegate: agent.address })
    const ownerBefore = balance(owner.address)
    const agentBefore = balance(agent.address)
    const r = await run(pay(SIN / 2n))
    expect(r.receipt).toMatchObject({ sender: agent.address, delegator: owner.address, result: { from: owner.address, amount: (SIN / 2n).toString() } })
    expect((await run(pay(SIN / 2n))).receipt).toBeDefined()
    const refused = await run(pay(1n))
    expect(refused.error?.code).toBe('delegation_cap_exceeded')
    expect(refused.error?.details).toMatchObject({ cap: 'spendCap', used: SIN.toString() })
    // Oracle: the owner lost exactly the cap; the session key's own balance is untouched, its nonce moved twice.
    expect(ownerBefore - balance(owner.address)).toBe(SIN)
    expect(balance(agent.address)).toBe(agentBefore)
    expect(readAccount(chain.state, agent.address).nonce).toBe(2n)
    expect(getDelegation(chain.state, owner.address, agent.address)?.spent).toBe(SIN.toString())
  })

  it('the daily cap resets on the next UTC day of the block time', async () => {
    const { run, delegate, pay } = setup()
    await run(delegate(agent.address, { spendCap: 10n * SIN, dailyCap: SIN }))
    expect((await run(pay(SIN))).receipt).toBeDefined()
    const refused = await run(pay(1n))
    expect(refused.error?.code).toBe('delegation_cap_exceeded')
    expect(refused.error?.details).toMatchObject({ cap: 'dailyCap' })
    const tomorrow = (T0 / DAY + 1n) * DAY
    expect((await run(pay(SIN), tomorrow)).receipt).toBeDefined()
  })

  it('refuses a kind outside the scope, after expiry, after revocation, and with no grant', async () => {
    const { run, delegate, pay, tx, balance } = setup()
    const before = balance(owner.address)
    expect((await run(pay(1n))).error?.code).toBe('delegation_not_found')
    await run(delegate(agent.address, { kinds: ['Transfer'], expiry: T0 + DAY }))
    const outOfScope = tx(agent, 'RevokeDelegate', { delegate: other.address }, owner.address)
    expect((await run(outOfScope)).error?.code).toBe('delegation_out_of_scope')
    expect((await run(pay(1n), T0 + DAY)).error?.code).toBe('delegation_expired')
    await run(delegate(agent.address, { expiry: T0 + 30n * DAY }), T0 + DAY)
    expect((await run(pay(1n), T0 + DAY)).receipt).toBeDefined()
    await run(tx(owner, 'RevokeDelegate', { delegate: agent.address }), T0 + DAY)
    const revoked = await run(pay(1n), T0 + DAY)
    expect(revoked.error?.code).toBe('delegation_revoked')
    expect(before - balance(owner.address)).toBe(1n)
  })

  it('refuses self-delegation, naming oneself as delegator, and chains in both directions', async () => {
    const { run, delegate, pay, tx } = setup()
    expect((await run(delegate(owner.address))).error?.code).toBe('delegation_self')
    expect((await run(pay(1n, owner, owner.address))).error?.code).toBe('delegation_self')
    await run(delegate(agent.address))
    // The session key cannot delegate further (agent → other)...
    expect((await run(delegate(other.address, {}, agent))).error?.code).toBe('delegation_chain')
    // ...and an account that delegates cannot become a session key (other → owner).
    expect((await run(delegate(owner.address, {}, other))).error?.code).toBe('delegation_chain')
    // After revocation the session key is an ordinary account again and may delegate.
    await run(tx(owner, 'RevokeDelegate', { delegate: agent.address }))
    expect((await run(delegate(other.address, {}, agent))).receipt).toBeDefined()
    // Delegate itself is never delegable (refused as the message is read).
    expect(() => delegate(third.address, { kinds: ['Transfer', 'Delegate'] })).toThrow(/one level/)
  })

  it('the signature covers the delegator: naming another delegator does not recover the session key', async () => {
    const { chain, run, delegate, pay } = setup()
    await run(delegate(agent.address))
    await run(delegate(agent.address, {}, other))
    const signed = pay(1n)
    const env = { type: 'Transfer', message: signed.wire, signature: toHex(signed.signature), delegator: other.address }
    const moved = chain.codec.recover(chain.codec.decode(env))
    expect(moved.sender).not.toBe(agent.address)
  })

  it('the ActFor digest is what viem signs from GET /v1/types', async () => {
    const { chain } = setup()
    const described = chain.codec.describe()
    const kind = described.kinds.Transfer
    const message = { to: third.address, amount: 5n, nonce: 0n }
    const signature = await privateKeyToAccount(agent.privateKey).signTypedData({
      domain: { name: described.domain.name, version: described.domain.version, chainId: BigInt(described.domain.chainId) },
      types: { ...kind.types, [described.actFor.primaryType]: described.actFor.fields.map((f) => (f.name === 'tx' ? { ...f, type: 'Transfer' } : f)) },
      primaryType: 'ActFor',
      message: { delegator: owner.address, tx: message },
    } as any)
    const decoded = chain.codec.decode({ type: 'Transfer', message: { to: third.address, amount: '5', nonce: '0' }, signature, delegator: owner.address })
    expect(toHex(decoded.digest)).toBe(
      hashTypedData({
        domain: { name: 'Sinew', version: '1', chainId: genesis.chainId },
        types: {
          ...kind.types,
          ActFor: [
            { name: 'delegator', type: 'address' },
            { name: 'tx', type: 'Transfer' },
          ],
        } as any,
        primaryType: 'ActFor',
        message: { delegator: owner.address, tx: message },
      }),
    )
    expect(chain.codec.recover(decoded).sender).toBe(agent.address)
  })
})
