/**
 * The Datanets kinds executed directly on a state overlay: stakes move exactly, balances
 * plus locked stakes never change in sum, versions freeze the accepted set with its root.
 */
import { describe, expect, it } from 'vitest'
import type { Hex } from '../core/index.ts'
import { CommittedState, readAccount, StateOverlay, writeAccount, type Address, type TxContext, type TxKind } from '../ledger/index.ts'
import { parseRange } from '../server/routes/blobs.ts'
import { contributeKind, createDatanetKind, excludeContributionKind, publishVersionKind, reviewKind, versionRoot } from './kinds.ts'
import { getContribution, getDatanet, getVersion } from './state.ts'

const addr = (n: number) => ('0x' + n.toString(16).padStart(40, '0')) as Address
const OWNER = addr(1)
const A = addr(2)
const B = addr(3)
const START = 100n
const hash = (n: number) => ('0x' + n.toString(16).padStart(64, '0')) as Hex

function harness() {
  const state = new StateOverlay(new CommittedState())
  for (const a of [OWNER, A, B]) writeAccount(state, a, { balance: START, nonce: 0n })
  state.commitTx()
  let seq = 0
  const run = (kind: TxKind<any>, sender: Address, message: Record<string, unknown>) => {
    seq += 1
    const ctx: TxContext = {
      sender,
      txHash: hash(1000 + seq),
      height: BigInt(seq),
      timestamp: 5n,
      params: { protocolFeeBps: 500, treasury: addr(99) },
      sequencer: addr(98),
      chainId: 31415n,
      state,
    }
    try {
      kind.validate?.(message as any)
      const r = kind.execute(ctx, message as any)
      state.commitTx()
      return r as any
    } catch (e) {
      state.rollbackTx()
      throw e
    }
  }
  const total = (datanet: Hex) => [OWNER, A, B].reduce((s, a) => s + readAccount(state, a).balance, 0n) + BigInt(getDatanet(state, datanet)!.stakeLocked)
  return { state, run, total }
}

describe('Datanets kinds', () => {
  it('locks, returns and forfeits stakes exactly; publish freezes the accepted set', () => {
    const { state, run, total } = harness()
    const { datanet } = run(createDatanetKind, OWNER, { name: 'T', description: '', license: 'MIT', mediaTypes: ['text/plain'], maxSize: 10n, stake: 7n })
    const c1 = run(contributeKind, A, { datanet, contentHash: hash(1), title: 'one', mediaType: 'text/plain', size: 3n }).contribution
    const c2 = run(contributeKind, B, { datanet, contentHash: hash(2), title: 'two', mediaType: 'text/plain', size: 4n }).contribution
    expect(readAccount(state, A).balance).toBe(START - 7n)
    expect(total(datanet)).toBe(3n * START)
    expect(() => run(contributeKind, B, { datanet, contentHash: hash(1), title: 'copy', mediaType: 'text/plain', size: 3n })).toThrow(
      /already has this content/,
    )
    expect(() => run(publishVersionKind, OWNER, { datanet })).toThrow(/no accepted/)
    run(reviewKind, OWNER, { contribution: c1, accept: true, reason: '' })
    run(reviewKind, OWNER, { contribution: c2, accept: false, reason: 'no' })
    expect(readAccount(state, A).balance).toBe(START)
    expect(readAccount(state, B).balance).toBe(START - 7n)
    expect(readAccount(state, OWNER).balance).toBe(START + 7n)
    expect(total(datanet)).toBe(3n * START)
    expect(getContribution(state, c2)!.status).toBe('rejected')
    // The rejected hash is free again.
    const c3 = run(contributeKind, A, { datanet, contentHash: hash(2), title: 'two again', mediaType: 'text/plain', size: 4n }).contribution
    run(reviewKind, OWNER, { contribution: c3, accept: true, reason: '' })
    const v = run(publishVersionKind, OWNER, { datanet })
    expect(v).toMatchObject({ version: 1, contributions: 2, root: versionRoot([c1, c3]) })
    expect(getVersion(state, datanet, 1)).toMatchObject({ contributions: 2, bytes: '7' })
    expect(() => run(publishVersionKind, OWNER, { datanet })).toThrow(/already holds/)
  })

  it('an excluded contribution stays accepted and leaves later versions: their root and bytes are over the rest', () => {
    const { state, run } = harness()
    const { datanet } = run(createDatanetKind, OWNER, { name: 'X', description: '', license: 'MIT', mediaTypes: ['text/plain'], maxSize: 10n, stake: 0n })
    const ids = [1, 2, 3].map(
      (n) => run(contributeKind, A, { datanet, contentHash: hash(n), title: `c${n}`, mediaType: 'text/plain', size: BigInt(n) }).contribution,
    )
    const pending = run(contributeKind, B, { datanet, contentHash: hash(9), title: 'pending', mediaType: 'text/plain', size: 1n }).contribution
    for (const id of ids) run(reviewKind, OWNER, { contribution: id, accept: true, reason: '' })
    expect(run(publishVersionKind, OWNER, { datanet })).toMatchObject({ version: 1, root: versionRoot(ids) })
    const exclude = (sender: typeof OWNER, contribution: Hex, reason = 'bad bytes') => run(excludeContributionKind, sender, { datanet, contribution, reason })
    expect(() => exclude(A, ids[1])).toThrow(/Only the owner/)
    expect(() => exclude(OWNER, pending)).toThrow(/is pending/)
    expect(() => exclude(OWNER, ids[1], ' ')).toThrow(/must say why/)
    expect(() => exclude(OWNER, hash(77))).toThrow(/has no contribution/)
    expect(exclude(OWNER, ids[1])).toEqual({ datanet, contribution: ids[1], excluded: 1 })
    expect(() => exclude(OWNER, ids[1])).toThrow(/was excluded/)
    expect(getContribution(state, ids[1])).toMatchObject({ status: 'accepted', excluded: { by: OWNER, reason: 'bad bytes' } })
    // Version 1 keeps it; version 2 (nothing new accepted, one exclusion) does not.
    expect(getVersion(state, datanet, 1)!.excluded).toBeUndefined()
    expect(run(publishVersionKind, OWNER, { datanet })).toMatchObject({ version: 2, contributions: 3, excluded: 1, root: versionRoot([ids[0], ids[2]]) })
    expect(getVersion(state, datanet, 2)).toMatchObject({ contributions: 3, excluded: [ids[1]], bytes: '4' })
    expect(() => run(publishVersionKind, OWNER, { datanet })).toThrow(/already holds/)
    exclude(OWNER, ids[0])
    exclude(OWNER, ids[2])
    expect(() => run(publishVersionKind, OWNER, { datanet })).toThrow(/Every accepted contribution of X is excluded/)
  })

  it('parses byte ranges', () => {
    expect(parseRange('bytes=0-3', 10)).toEqual({ start: 0, end: 3 })
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 })
    expect(parseRange('bytes=-4', 10)).toEqual({ start: 6, end: 9 })
    expect(parseRange('bytes=8-100', 10)).toEqual({ start: 8, end: 9 })
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable')
    expect(parseRange('items=1-2', 10)).toBe('invalid')
  })
})
