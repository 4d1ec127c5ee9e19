/**
 * RecordReceipt's key rule, executed directly on a state overlay: a call is paid for if its key
 * was good when the node authorised it (the block height and time the receipt names), however
 * the key changed while the call ran; an authorisation from the future, or older than
 * MAX_RECEIPT_DELAY_MS, is refused.
 *
 * And the free-text rule: descriptions and API key labels show as what they are.
 */
import { describe, expect, it } from 'vitest'
import { isSinewError, type Hex } from '../core/index.ts'
import { CommittedState, readAccount, StateOverlay, writeAccount, type Address, type TxContext, type TxKind } from '../ledger/index.ts'
import { computeFee } from './fees.ts'
import { createModelKinds, MAX_RECEIPT_DELAY_MS, type ReceiptMessage } from './kinds.ts'
import { readApiKey } from './state.ts'

const addr = (n: number) => ('0x' + n.toString(16).padStart(40, '0')) as Address
const CALLER = addr(1)
const OWNER = addr(2)
const SEQUENCER = addr(98)
const KEY = ('0x' + 'ab'.repeat(32)) as Hex
const PRICE = 1_000_000n
const kinds = Object.fromEntries(createModelKinds().map((k) => [k.type, k])) as Record<string, TxKind<any>>

function harness() {
  const state = new StateOverlay(new CommittedState())
  for (const a of [CALLER, OWNER]) writeAccount(state, a, { balance: 10n ** 18n, nonce: 0n })
  state.commitTx()
  let height = 0n
  let now = 1_000_000n
  let seq = 0
  const run = (type: string, sender: Address, message: Record<string, unknown>) => {
    height += 1n
    now += 1000n
    const ctx: TxContext = {
      sender,
      txHash: ('0x' + (++seq).toString(16).padStart(64, '0')) as Hex,
      height,
      timestamp: now,
      params: { protocolFeeBps: 500, treasury: addr(99) },
      sequencer: SEQUENCER,
      chainId: 31415n,
      state,
    }
    try {
      kinds[type].validate?.(message as any)
      const result = kinds[type].execute(ctx, message as any)
      state.commitTx()
      return { ok: true as const, result: result as Record<string, any> }
    } catch (e) {
      state.rollbackTx()
      if (!isSinewError(e)) throw e
      return { ok: false as const, code: e.code }
    }
  }
  const model = run('RegisterModel', OWNER, {
    name: 'm',
    description: '',
    backend: 'openai-compatible:https://api.example.com/v1',
    datanets: [],
    pricePerMillion: PRICE,
    contributorShareBps: 0n,
  })
  expect(model.ok).toBe(true)
  const receipt = (auth: { height: bigint; at: bigint }, id = seq + 1): Partial<ReceiptMessage> => ({
    id: ('0x' + id.toString(16).padStart(64, '0')) as Hex,
    model: 'm',
    modelVersion: 1n,
    apiKeyHash: KEY,
    authorizedHeight: auth.height,
    authorizedAt: auth.at,
    requestHash: KEY,
    outputHash: KEY,
    promptTokens: 1n,
    outputTokens: 100n,
    finishReason: 'stop',
    method: 'x',
    coverageBps: 0n,
    spans: [],
    weights: [],
  })
  return { run, receipt, state, at: () => ({ height, at: now }) }
}

describe('RecordReceipt: the key as it was when the call was authorised', () => {
  it('a key revoked after the authorisation is charged; one revoked at or before it is not', () => {
    const h = harness()
    expect(h.run('GrantApiKey', CALLER, { keyHash: KEY, label: '', spendLimit: 0n, expiresAt: 0n }).ok).toBe(true)
    const before = h.at()
    const balance = readAccount(h.state, CALLER).balance
    expect(h.run('RevokeApiKey', CALLER, { keyHash: KEY }).ok).toBe(true)
    const revokedAt = h.at()
    expect(readApiKey(h.state, KEY)).toMatchObject({ revoked: true, revokedHeight: revokedAt.height.toString() })
    const paid = h.run('RecordReceipt', SEQUENCER, h.receipt(before))
    expect(paid).toMatchObject({ ok: true, result: { payer: CALLER, fee: computeFee(PRICE, 100n) } })
    expect(readAccount(h.state, CALLER).balance).toBe(balance - computeFee(PRICE, 100n))
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt(revokedAt))).toMatchObject({ ok: false, code: 'apikey_revoked' })
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt(h.at()))).toMatchObject({ ok: false, code: 'apikey_revoked' })
  })

  it('a key that expired after the authorisation is charged; one authorised at or after its expiry is not', () => {
    const h = harness()
    const expiresAt = h.at().at + 5000n
    expect(h.run('GrantApiKey', CALLER, { keyHash: KEY, label: '', spendLimit: 0n, expiresAt }).ok).toBe(true)
    const auth = { height: h.at().height, at: expiresAt - 1n }
    // Blocks go by (a stranger's refused revocations).
    for (let i = 0; i < 6; i++) expect(h.run('RevokeApiKey', addr(7), { keyHash: KEY })).toMatchObject({ ok: false, code: 'not_apikey_owner' })
    expect(h.at().at).toBeGreaterThan(expiresAt)
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt(auth)).ok).toBe(true)
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt({ height: auth.height, at: expiresAt }))).toMatchObject({ ok: false, code: 'apikey_expired' })
  })

  it('an authorisation not before the receipt, or older than MAX_RECEIPT_DELAY_MS, is refused', () => {
    const h = harness()
    expect(h.run('GrantApiKey', CALLER, { keyHash: KEY, label: '', spendLimit: 0n, expiresAt: 0n }).ok).toBe(true)
    const now = h.at()
    // The next block is height + 1, time + 1000.
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt({ height: now.height + 1n, at: now.at }))).toMatchObject({
      ok: false,
      code: 'receipt_authorization_stale',
    })
    const later = h.at()
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt({ height: later.height, at: later.at + 1001n }))).toMatchObject({
      ok: false,
      code: 'receipt_authorization_stale',
    })
    const t = h.at()
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt({ height: t.height, at: t.at + 1000n - MAX_RECEIPT_DELAY_MS - 1n }))).toMatchObject({
      ok: false,
      code: 'receipt_authorization_stale',
    })
    const u = h.at()
    expect(h.run('RecordReceipt', SEQUENCER, h.receipt({ height: u.height, at: u.at + 1000n - MAX_RECEIPT_DELAY_MS })).ok).toBe(true)
  })
})

const model = {
  name: 'm',
  description: 'a model',
  backend: 'openai-compatible:http://127.0.0.1:9/v1',
  datanets: [],
  pricePerMillion: 1n,
  contributorShareBps: 0n,
  active: true,
  nonce: 0n,
}
const refusal = (type: string, message: Record<string, unknown>) => {
  try {
    kinds[type].validate?.(message as never)
    return undefined
  } catch (e) {
    if (!isSinewError(e)) throw e
    return { code: e.code, details: e.details }
  }
}

describe('model descriptions and API key labels', () => {
  const unsafe = ['\u202e', '\u2066', '\u2028', '\u2029', '\u001b', '\u0000', '\u009b']
  it('refuse control characters, bidi overrides and isolates, and line separators, naming the field', () => {
    for (const c of unsafe) {
      for (const type of ['RegisterModel', 'UpdateModel']) {
        expect(refusal(type, { ...model, description: `fast${c}model` })).toMatchObject({ code: 'invalid_field', details: { field: 'message.description' } })
      }
      expect(refusal('GrantApiKey', { keyHash: '0x' + '11'.repeat(32), label: `ci${c}key`, spendLimit: 0n, expiresAt: 0n, nonce: 0n })).toMatchObject({
        code: 'invalid_field',
        details: { field: 'message.label' },
      })
    }
  })
  it('let ordinary text through: other scripts, and line breaks in a description', () => {
    expect(refusal('RegisterModel', { ...model, description: 'Résumés, 要約\nand\tmore' })).toBeUndefined()
    expect(refusal('GrantApiKey', { keyHash: '0x' + '11'.repeat(32), label: 'laptop – ノート', spendLimit: 0n, expiresAt: 0n, nonce: 0n })).toBeUndefined()
    expect(refusal('GrantApiKey', { keyHash: '0x' + '11'.repeat(32), label: 'two\nlines', spendLimit: 0n, expiresAt: 0n, nonce: 0n })).toMatchObject({
      code: 'invalid_field',
    })
  })
})
