/**
 * The task board's money rules, executed directly on a state overlay: every path moves
 * exactly the amounts documented in docs/agents.md, and balances + escrow never change in sum.
 */
import { describe, expect, it } from 'vitest'
import { isSinewError, type Hex } from '../core/index.ts'
import { CommittedState, readAccount, StateOverlay, writeAccount, type Address, type TxContext, type TxKind } from '../ledger/index.ts'
import {
  agentKinds,
  claimTaskKind,
  expireTaskKind,
  postTaskKind,
  submitResultKind,
  verifyResultKind,
  cancelTaskKind,
  registerAgentKind,
  updateAgentKind,
} from './kinds.ts'
import { getReputation, getTask, TASK_KEY } from './state.ts'
import { listTasks, taskView } from './queries.ts'

const addr = (n: number) => ('0x' + n.toString(16).padStart(40, '0')) as Address
const POSTER = addr(1)
const WORKER = addr(2)
const OTHER = addr(3)
const V1 = addr(4)
const V2 = addr(5)
const V3 = addr(6)
const ALL = [POSTER, WORKER, OTHER, V1, V2, V3]
const START = 1_000n
const SPEC = ('0x' + 'ab'.repeat(32)) as Hex
const RESULT = ('0x' + 'cd'.repeat(32)) as Hex

function harness() {
  const committed = new CommittedState()
  const state = new StateOverlay(committed)
  for (const a of ALL) writeAccount(state, a, { balance: START, nonce: 0n })
  state.commitTx()
  let seq = 0
  let now = 1_000_000n
  const run = (kind: TxKind<any>, sender: Address, message: Record<string, unknown>) => {
    seq += 1
    const ctx: TxContext = {
      sender,
      txHash: ('0x' + seq.toString(16).padStart(64, '0')) as Hex,
      height: BigInt(seq),
      timestamp: now,
      params: { protocolFeeBps: 500, treasury: addr(99) },
      sequencer: addr(98),
      chainId: 31415n,
      state,
    }
    try {
      kind.validate?.(message as any)
      const result = kind.execute(ctx, message as any)
      state.commitTx()
      return { ok: true as const, result: result as Record<string, any>, id: ctx.txHash }
    } catch (e) {
      state.rollbackTx()
      if (!isSinewError(e)) throw e
      return { ok: false as const, code: e.code, error: e }
    }
  }
  const balance = (a: Address) => readAccount(state, a).balance
  const escrow = () => {
    let total = 0n
    for (const [key] of state.writes()) if (TASK_KEY.test(key)) total += BigInt(state.getJson<{ escrow: string }>(key)!.escrow)
    return total
  }
  const conserved = () => ALL.reduce((s, a) => s + balance(a), 0n) + escrow()
  const post = (extra: Record<string, unknown> = {}) =>
    run(postTaskKind, POSTER, {
      title: 't',
      specHash: SPEC,
      reward: 100n,
      deadline: now + 10_000n,
      leaseMs: 1_000n,
      claimStake: 10n,
      verifiers: [],
      threshold: 0n,
      ...extra,
    })
  return { state, run, balance, escrow, conserved, post, advance: (ms: bigint) => (now += ms), now: () => now }
}

describe('task escrow', () => {
  it('accept: reward to the claimer, stake back, reputation counted', () => {
    const h = harness()
    const p = h.post()
    expect(p.ok).toBe(true)
    const id = p.id
    expect(h.balance(POSTER)).toBe(START - 100n)
    expect(h.run(claimTaskKind, WORKER, { task: id, stake: 10n }).ok).toBe(true)
    expect(h.balance(WORKER)).toBe(START - 10n)
    expect(h.escrow()).toBe(110n)
    expect(h.run(submitResultKind, WORKER, { task: id, resultHash: RESULT }).ok).toBe(true)
    const v = h.run(verifyResultKind, POSTER, { task: id, accept: true })
    expect(v.ok && v.result.outcome).toBe('accepted')
    expect(h.balance(WORKER)).toBe(START + 100n)
    expect(h.balance(POSTER)).toBe(START - 100n)
    expect(h.escrow()).toBe(0n)
    expect(h.conserved()).toBe(START * 6n)
    expect(getReputation(h.state, WORKER)).toMatchObject({ claims: 1, accepted: 1, earned: '100' })
    expect(getReputation(h.state, POSTER)).toMatchObject({ posted: 1, paid: '100', verdicts: 1 })
    // a second verdict on a decided task
    expect(h.run(verifyResultKind, POSTER, { task: id, accept: false })).toMatchObject({ ok: false, code: 'task_closed' })
    // the same spec again: the receipt points to the accepted result
    const again = h.post()
    expect(again.ok && again.result.priorResults).toEqual([{ task: id, resultHash: RESULT, claimer: WORKER, acceptedAt: expect.any(String) }])
  })

  it('reject: stake to the poster, the task reopens for another claimer', () => {
    const h = harness()
    const id = h.post().id!
    h.run(claimTaskKind, WORKER, { task: id, stake: 25n })
    h.run(submitResultKind, WORKER, { task: id, resultHash: RESULT })
    const v = h.run(verifyResultKind, POSTER, { task: id, accept: false })
    expect(v.ok && v.result).toMatchObject({ outcome: 'rejected', reopened: true })
    expect(h.balance(WORKER)).toBe(START - 25n)
    expect(h.balance(POSTER)).toBe(START - 100n + 25n)
    expect(getTask(h.state, id)!.status).toBe('open')
    expect(h.run(claimTaskKind, OTHER, { task: id, stake: 10n }).ok).toBe(true)
    expect(getReputation(h.state, WORKER)).toMatchObject({ rejected: 1, stakeForfeited: '25' })
    expect(h.conserved()).toBe(START * 6n)
  })

  it('a lapsed lease forfeits the stake to the poster when the next claim comes', () => {
    const h = harness()
    const id = h.post().id!
    h.run(claimTaskKind, WORKER, { task: id, stake: 10n })
    expect(h.run(claimTaskKind, OTHER, { task: id, stake: 10n })).toMatchObject({ ok: false, code: 'task_claimed' })
    h.advance(1_000n)
    expect(h.run(submitResultKind, WORKER, { task: id, resultHash: RESULT })).toMatchObject({ ok: false, code: 'lease_expired' })
    const c = h.run(claimTaskKind, OTHER, { task: id, stake: 10n })
    expect(c.ok && c.result.lapsedClaim).toEqual({ claimer: WORKER, stakeForfeited: '10' })
    expect(h.balance(WORKER)).toBe(START - 10n)
    expect(h.balance(POSTER)).toBe(START - 100n + 10n)
    expect(getReputation(h.state, WORKER)).toMatchObject({ expired: 1, stakeForfeited: '10' })
    expect(h.conserved()).toBe(START * 6n)
  })

  it('cancel returns the reward; refused under a live claim or by a stranger', () => {
    const h = harness()
    const id = h.post().id!
    expect(h.run(cancelTaskKind, OTHER, { task: id })).toMatchObject({ ok: false, code: 'not_poster' })
    h.run(claimTaskKind, WORKER, { task: id, stake: 10n })
    expect(h.run(cancelTaskKind, POSTER, { task: id })).toMatchObject({ ok: false, code: 'task_claimed' })
    h.advance(2_000n)
    const c = h.run(cancelTaskKind, POSTER, { task: id })
    expect(c.ok && c.result).toMatchObject({ refunded: 100n, lapsedClaim: { claimer: WORKER, stakeForfeited: '10' } })
    expect(h.balance(POSTER)).toBe(START + 10n)
    expect(h.escrow()).toBe(0n)
    expect(h.conserved()).toBe(START * 6n)
  })

  it('expiry with a pending result waits for the review window, then returns stake and reward', () => {
    const h = harness()
    const id = h.post({ deadline: h.now() + 500n }).id!
    h.run(claimTaskKind, WORKER, { task: id, stake: 10n })
    expect(getTask(h.state, id)!.claim!.leaseUntil).toBe((h.now() + 500n).toString()) // capped at the deadline
    h.advance(400n)
    h.run(submitResultKind, WORKER, { task: id, resultHash: RESULT })
    expect(h.run(expireTaskKind, OTHER, { task: id })).toMatchObject({ ok: false, code: 'deadline_not_reached' })
    h.advance(200n)
    expect(h.run(claimTaskKind, OTHER, { task: id, stake: 10n })).toMatchObject({ ok: false, code: 'task_deadline_passed' })
    expect(h.run(expireTaskKind, OTHER, { task: id })).toMatchObject({ ok: false, code: 'review_window_open' })
    expect(taskView(getTask(h.state, id)!, h.now()).expirable).toBe(false)
    h.advance(1_000n)
    const e = h.run(expireTaskKind, OTHER, { task: id })
    expect(e.ok && e.result).toMatchObject({ refunded: 100n, unverifiedResult: { claimer: WORKER, stakeReturned: '10' } })
    expect(h.balance(WORKER)).toBe(START)
    expect(h.balance(POSTER)).toBe(START)
    expect(getReputation(h.state, WORKER)).toMatchObject({ unverified: 1 })
    expect(getReputation(h.state, POSTER)).toMatchObject({ leftUnverified: 1 })
    expect(h.run(expireTaskKind, OTHER, { task: id })).toMatchObject({ ok: false, code: 'task_closed' })
  })

  it('expiry under a claim that produced nothing forfeits the stake', () => {
    const h = harness()
    const id = h.post({ deadline: h.now() + 500n }).id!
    h.run(claimTaskKind, WORKER, { task: id, stake: 30n })
    h.advance(500n)
    const e = h.run(expireTaskKind, OTHER, { task: id })
    expect(e.ok && e.result).toMatchObject({ refunded: 100n, lapsedClaim: { claimer: WORKER, stakeForfeited: '30' } })
    expect(h.balance(POSTER)).toBe(START + 30n)
    expect(h.conserved()).toBe(START * 6n)
  })

  it('k of n verifiers: 2 of 3 accept; non-verifiers and double votes are refused', () => {
    const h = harness()
    const id = h.post({ verifiers: [V1, V2, V3], threshold: 2n }).id!
    h.run(claimTaskKind, WORKER, { task: id, stake: 10n })
    expect(h.run(submitResultKind, OTHER, { task: id, resultHash: RESULT })).toMatchObject({ ok: false, code: 'not_claimer' })
    h.run(submitResultKind, WORKER, { task: id, resultHash: RESULT })
    expect(h.run(verifyResultKind, POSTER, { task: id, accept: true })).toMatchObject({ ok: false, code: 'not_verifier' })
    expect(h.run(verifyResultKind, V1, { task: id, accept: false })).toMatchObject({ ok: true, result: { outcome: 'pending' } })
    expect(h.run(verifyResultKind, V1, { task: id, accept: true })).toMatchObject({ ok: false, code: 'already_voted' })
    expect(h.run(verifyResultKind, V2, { task: id, accept: true })).toMatchObject({ ok: true, result: { outcome: 'pending' } })
    expect(h.run(verifyResultKind, V3, { task: id, accept: true })).toMatchObject({ ok: true, result: { outcome: 'accepted' } })
    expect(h.balance(WORKER)).toBe(START + 100n)
    expect(h.conserved()).toBe(START * 6n)
  })

  it('2 of 3: two rejections make acceptance impossible', () => {
    const h = harness()
    const id = h.post({ verifiers: [V1, V2, V3], threshold: 2n }).id!
    h.run(claimTaskKind, WORKER, { task: id, stake: 10n })
    h.run(submitResultKind, WORKER, { task: id, resultHash: RESULT })
    h.run(verifyResultKind, V1, { task: id, accept: false })
    expect(h.run(verifyResultKind, V2, { task: id, accept: false })).toMatchObject({ ok: true, result: { outcome: 'rejected' } })
    expect(h.balance(POSTER)).toBe(START - 100n + 10n)
  })

  it('state refusals: balance, stake, own task, deadline in the past', () => {
    const h = harness()
    expect(h.post({ reward: START + 1n })).toMatchObject({ ok: false, code: 'insufficient_balance' })
    expect(h.post({ deadline: h.now() })).toMatchObject({ ok: false, code: 'deadline_passed' })
    const id = h.post().id!
    expect(h.run(claimTaskKind, POSTER, { task: id, stake: 10n })).toMatchObject({ ok: false, code: 'poster_cannot_claim' })
    expect(h.run(claimTaskKind, WORKER, { task: id, stake: 9n })).toMatchObject({ ok: false, code: 'stake_too_low' })
    expect(h.run(claimTaskKind, WORKER, { task: ('0x' + '11'.repeat(32)) as Hex, stake: 9n })).toMatchObject({ ok: false, code: 'task_not_found' })
    expect(h.conserved()).toBe(START * 6n)
  })

  it('validation names the field', () => {
    const h = harness()
    const bad: [Record<string, unknown>, string][] = [
      [{ reward: 0n }, 'message.reward'],
      [{ leaseMs: 0n }, 'message.leaseMs'],
      [{ verifiers: [V1, V1], threshold: 1n }, 'message.verifiers'],
      [{ verifiers: [V1], threshold: 2n }, 'message.threshold'],
      [{ verifiers: [], threshold: 2n }, 'message.threshold'],
      [{ specHash: '0x' + '00'.repeat(32) }, 'message.specHash'],
    ]
    for (const [extra, field] of bad) {
      const r = h.post(extra)
      expect(r.ok).toBe(false)
      expect(!r.ok && r.error.details.field).toBe(field)
    }
  })

  it('lists tasks by spec and status', () => {
    const h = harness()
    const a = h.post().id!
    h.post({ specHash: '0x' + 'ee'.repeat(32) })
    h.run(claimTaskKind, WORKER, { task: a, stake: 10n })
    const committed = { get: (k: string) => h.state.get(k), entries: () => h.state.writes().entries() as any }
    expect(listTasks(committed, { spec: SPEC }, h.now()).tasks.map((t) => t.id)).toEqual([a])
    expect(listTasks(committed, { status: 'claimed' }, h.now()).tasks.map((t) => t.id)).toEqual([a])
    expect(listTasks(committed, { status: 'open' }, h.now() + 5_000n).total).toBe(2)
  })
})

describe('agent registry', () => {
  const agent = { name: 'summarizer', description: 'summaries', capabilities: ['summarize', 'code:ts'], endpoint: 'https://a.example/mcp' }
  it('registers once, updates, validates', () => {
    const h = harness()
    expect(h.run(updateAgentKind, WORKER, agent)).toMatchObject({ ok: false, code: 'agent_not_found' })
    expect(h.run(registerAgentKind, WORKER, agent).ok).toBe(true)
    expect(h.run(registerAgentKind, WORKER, agent)).toMatchObject({ ok: false, code: 'agent_exists' })
    expect(h.run(updateAgentKind, WORKER, { ...agent, name: 'sum2' }).ok).toBe(true)
    const bad = h.run(registerAgentKind, OTHER, { ...agent, capabilities: ['Bad Cap'] })
    expect(!bad.ok && bad.error.details.field).toBe('message.capabilities[0]')
    expect(h.run(registerAgentKind, OTHER, { ...agent, endpoint: 'ftp://x' })).toMatchObject({ ok: false, code: 'invalid_field' })
    expect(agentKinds.map((k) => k.type)).toEqual([
      'RegisterAgent',
      'UpdateAgent',
      'PostTask',
      'ClaimTask',
      'SubmitResult',
      'VerifyResult',
      'CancelTask',
      'ExpireTask',
    ])
  })
})

describe('free text that shows as something other than it is is refused', () => {
  const agent = { name: 'summarizer', description: 'summaries', capabilities: ['summarize'], endpoint: 'https://a.example/mcp' }
  // Bidi embeddings, overrides and isolates; line and paragraph separators; C0, DEL and C1 controls (ESC included).
  const unsafe = [
    '\u202a',
    '\u202b',
    '\u202c',
    '\u202d',
    '\u202e',
    '\u2066',
    '\u2067',
    '\u2068',
    '\u2069',
    '\u2028',
    '\u2029',
    '\u0000',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u009b',
  ]
  const codePoint = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`

  it('in agent names, descriptions and endpoints (RegisterAgent and UpdateAgent), naming the field and the code point', () => {
    for (const c of unsafe) {
      for (const [field, value] of [
        ['name', `evil${c}gpj.exe`],
        ['description', `does things${c}quietly`],
        ['endpoint', `https://a.example/${c}x`],
      ] as const) {
        const h = harness()
        const r = h.run(registerAgentKind, WORKER, { ...agent, [field]: value })
        expect(r, `${field} ${codePoint(c)}`).toMatchObject({ ok: false, code: 'invalid_field' })
        if (!r.ok) expect(r.error.details).toMatchObject({ field: `message.${field}`, ...(field === 'endpoint' ? {} : { codePoint: codePoint(c) }) })
        expect(h.run(registerAgentKind, WORKER, agent).ok).toBe(true)
        expect(h.run(updateAgentKind, WORKER, { ...agent, [field]: value })).toMatchObject({ ok: false, code: 'invalid_field' })
      }
    }
  })

  it('in task titles', () => {
    for (const c of unsafe) {
      const h = harness()
      const r = h.post({ title: `fix${c}bug` })
      expect(r).toMatchObject({ ok: false, code: 'invalid_field' })
      if (!r.ok) expect(r.error.details).toMatchObject({ field: 'message.title', codePoint: codePoint(c) })
    }
  })

  it('descriptions may span lines (LF, TAB); names and titles may not; other scripts and emoji are fine', () => {
    const h = harness()
    expect(h.run(registerAgentKind, WORKER, { ...agent, description: 'line one\n\tline two' }).ok).toBe(true)
    expect(h.run(registerAgentKind, OTHER, { ...agent, name: 'two\nlines' })).toMatchObject({ ok: false, code: 'invalid_field' })
    expect(h.run(registerAgentKind, V1, { ...agent, name: 'مترجم — 翻訳 🤖', description: 'עברית ‎and‏ العربية' }).ok).toBe(true)
    expect(h.post({ title: 'tab\there' })).toMatchObject({ ok: false, code: 'invalid_field' })
    expect(h.post({ title: 'Übersetzung ins Deutsche' }).ok).toBe(true)
  })
})
