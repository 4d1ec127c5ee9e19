/**
 * Session keys: an account (the delegator) signs `Delegate` to let another key (the
 * delegate, a session key an agent holds) sign txs for it, within a scope:
 *
 *   - which tx kinds it may sign (`kinds`; never Delegate or RevokeDelegate: no chains),
 *   - how much of the delegator's balance its txs may spend, in total (`spendCap`) and per
 *     UTC day of the block timestamp (`dailyCap`, 0 = no daily cap),
 *   - until when (`expiry`, ms since the epoch, compared with the block timestamp).
 *
 * `RevokeDelegate` ends it at once. A tx signed by a session key names its delegator in the
 * envelope (`delegator`), and the signature covers it: the key signs the EIP-712 struct
 * `ActFor { address delegator; <Kind> tx }` (see `ACT_FOR_TYPE`), so a signature made for
 * one delegator (or for the session key's own account) cannot be replayed for another. The
 * nonce in `tx` is the session key's own account nonce: the owner and its agents never race
 * for one nonce.
 *
 * Everything is checked inside execution (`executeDelegated`), so `sinew verify` and
 * replicas replay it: the grant exists and is not revoked or expired, the kind is in scope,
 * and the delegator's net balance decrease over the tx (whatever the kind debits: a
 * transfer, a task's escrow, a claim stake) fits the caps; a tx over a cap is refused whole.
 *
 * One level only: a session key cannot delegate (it is refused as delegator while it holds
 * an unrevoked grant) and an account that delegates cannot become a session key.
 */
import { SinewError } from '../core/index.ts'
import { readAccount } from './accounts.ts'
import type { Address } from './address.ts'
import { defineTxKind, type TxContext, type TxKind, type TxMessage } from './kinds.ts'
import type { Message, TypedFields } from './message.ts'
import type { StateOverlay, StateReader } from './state.ts'
import { readJson } from './state.ts'

/** The EIP-712 wrapper a session key signs: `ActFor(address delegator,<Kind> tx)` plus the kind's own types. */
export const ACT_FOR_TYPE = 'ActFor'
export const actForFields = (kindType: string): TypedFields => [
  { name: 'delegator', type: 'address' },
  { name: 'tx', type: kindType },
]

/** Kinds a session key may never sign: delegating again would make chains. */
export const UNDELEGABLE_KINDS: readonly string[] = ['Delegate', 'RevokeDelegate']
export const MAX_SCOPE_KINDS = 32
const DAY_MS = 86_400_000n

export type DelegationRecord = {
  delegator: Address
  delegate: Address
  kinds: string[]
  spendCap: string
  dailyCap: string
  expiry: string
  /** Net balance the delegate's txs have taken from the delegator, in total and on `day`. */
  spent: string
  day: string
  spentToday: string
  grantedAt: string
  revokedAt: string | null
}

/** Per address: the delegates it granted and the delegators it acts for (both directions, for the chain check and listing). */
type DelegationIndex = { delegates: Address[]; delegators: Address[] }

export const delegationKey = (delegator: Address, delegate: Address): string => `delegation/${delegator}/${delegate}`
const indexKey = (address: Address): string => `delegation-index/${address}`

export function getDelegation(state: StateReader, delegator: Address, delegate: Address): DelegationRecord | undefined {
  return readJson<DelegationRecord>(state, delegationKey(delegator, delegate))
}

function getIndex(state: StateReader, address: Address): DelegationIndex {
  return readJson<DelegationIndex>(state, indexKey(address)) ?? { delegates: [], delegators: [] }
}

/** Every grant `address` made (as delegator) and received (as delegate), revoked ones included. */
export function listDelegations(state: StateReader, address: Address): { granted: DelegationRecord[]; received: DelegationRecord[] } {
  const index = getIndex(state, address)
  return {
    granted: index.delegates.map((d) => getDelegation(state, address, d)!).filter(Boolean),
    received: index.delegators.map((d) => getDelegation(state, d, address)!).filter(Boolean),
  }
}

const active = (r: DelegationRecord | undefined): r is DelegationRecord => r !== undefined && r.revokedAt === null

function addToIndex(state: StateOverlay, address: Address, side: keyof DelegationIndex, other: Address): void {
  const index = getIndex(state, address)
  if (index[side].includes(other)) return
  state.setJson(indexKey(address), { ...index, [side]: [...index[side], other].sort() })
}

export const delegateKind = defineTxKind({
  type: 'Delegate',
  description:
    'Let `delegate` (a session key) sign txs of the listed `kinds` for the signer until `expiry` (ms since the epoch), spending at most `spendCap` base units of its balance in total and `dailyCap` per UTC day (0: no daily cap). Replaces an earlier grant to the same key, with fresh totals.',
  fields: [
    { name: 'delegate', type: 'address' },
    { name: 'kinds', type: 'string[]' },
    { name: 'spendCap', type: 'uint256' },
    { name: 'dailyCap', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
  ],
  maxStringBytes: 64,
  validate(m) {
    if (m.kinds.length === 0 || m.kinds.length > MAX_SCOPE_KINDS) {
      throw new SinewError({
        code: 'invalid_field',
        message: `message.kinds must list 1 to ${MAX_SCOPE_KINDS} tx kinds`,
        details: { field: 'message.kinds', got: m.kinds.length },
      })
    }
    m.kinds.forEach((k, i) => {
      if (UNDELEGABLE_KINDS.includes(k)) {
        throw new SinewError({
          code: 'delegation_chain',
          message: `A session key cannot be allowed to sign ${k}: delegation is one level only`,
          details: { field: `message.kinds[${i}]`, got: k },
          hint: 'Delegate from the account itself to each session key.',
        })
      }
      if (m.kinds.indexOf(k) !== i) {
        throw new SinewError({ code: 'invalid_field', message: `message.kinds lists ${k} twice`, details: { field: `message.kinds[${i}]`, got: k } })
      }
    })
    if (m.dailyCap > m.spendCap) {
      throw new SinewError({
        code: 'invalid_field',
        message: 'message.dailyCap is above message.spendCap',
        details: { field: 'message.dailyCap', got: m.dailyCap.toString(), max: m.spendCap.toString() },
        hint: 'Use 0 for no daily cap; the total cap always applies.',
      })
    }
  },
  execute(ctx, m) {
    if (m.delegate === ctx.sender) {
      throw new SinewError({
        code: 'delegation_self',
        message: `${ctx.sender} cannot delegate to itself`,
        details: { field: 'message.delegate', got: m.delegate },
        hint: 'Make a new key for the agent (`sinew delegate new`) and delegate to it.',
      })
    }
    const senderIndex = getIndex(ctx.state, ctx.sender)
    const actsFor = senderIndex.delegators.filter((d) => active(getDelegation(ctx.state, d, ctx.sender)))
    if (actsFor.length > 0) {
      throw new SinewError({
        code: 'delegation_chain',
        message: `${ctx.sender} is a session key of ${actsFor[0]}: a session key cannot delegate further`,
        details: { field: 'sender', delegators: actsFor },
        hint: 'Delegate from the account itself.',
      })
    }
    const grants = getIndex(ctx.state, m.delegate).delegates.filter((d) => active(getDelegation(ctx.state, m.delegate, d)))
    if (grants.length > 0) {
      throw new SinewError({
        code: 'delegation_chain',
        message: `${m.delegate} has delegates of its own: it cannot also be a session key`,
        details: { field: 'message.delegate', delegates: grants },
        hint: 'Use a fresh key as the session key.',
      })
    }
    if (m.expiry <= ctx.timestamp) {
      throw new SinewError({
        code: 'delegation_expired',
        message: `message.expiry ${m.expiry} is not after the block time ${ctx.timestamp}`,
        details: { field: 'message.expiry', got: m.expiry.toString(), blockTimestamp: ctx.timestamp.toString() },
        hint: 'Set expiry in ms since the epoch, in the future.',
      })
    }
    const record: DelegationRecord = {
      delegator: ctx.sender,
      delegate: m.delegate,
      kinds: [...m.kinds].sort(),
      spendCap: m.spendCap.toString(),
      dailyCap: m.dailyCap.toString(),
      expiry: m.expiry.toString(),
      spent: '0',
      day: (ctx.timestamp / DAY_MS).toString(),
      spentToday: '0',
      grantedAt: ctx.height.toString(),
      revokedAt: null,
    }
    ctx.state.setJson(delegationKey(ctx.sender, m.delegate), record)
    addToIndex(ctx.state, ctx.sender, 'delegates', m.delegate)
    addToIndex(ctx.state, m.delegate, 'delegators', ctx.sender)
    return { delegator: ctx.sender, delegate: m.delegate, kinds: record.kinds, spendCap: m.spendCap, dailyCap: m.dailyCap, expiry: m.expiry }
  },
})

export const revokeDelegateKind = defineTxKind({
  type: 'RevokeDelegate',
  description: 'End the signer’s grant to `delegate` at once: its later txs are refused.',
  fields: [{ name: 'delegate', type: 'address' }],
  execute(ctx, m) {
    const record = getDelegation(ctx.state, ctx.sender, m.delegate)
    if (!record || record.revokedAt !== null) {
      throw new SinewError({
        code: record ? 'delegation_revoked' : 'delegation_not_found',
        message: record ? `The grant to ${m.delegate} is revoked already` : `${ctx.sender} has no grant to ${m.delegate}`,
        details: { field: 'message.delegate', delegator: ctx.sender, delegate: m.delegate, ...(record ? { revokedAt: record.revokedAt } : {}) },
      })
    }
    ctx.state.setJson(delegationKey(ctx.sender, m.delegate), { ...record, revokedAt: ctx.height.toString() })
    return { delegator: ctx.sender, delegate: m.delegate, spent: record.spent }
  },
})

export type DelegateMessage = TxMessage<typeof delegateKind>

/**
 * Runs a tx signed by session key `signer` for `delegator`: checks the grant, runs the kind
 * with the delegator as sender, then charges the delegator's net balance decrease to the
 * grant's caps (throwing, so the whole tx rolls back, when it does not fit).
 */
export function executeDelegated(ctx: TxContext, signer: Address, kind: TxKind<Message>, message: Message): ReturnType<TxKind['execute']> {
  const delegator = ctx.sender
  const field = 'delegator'
  if (delegator === signer) {
    throw new SinewError({
      code: 'delegation_self',
      message: `${signer} names itself as delegator`,
      details: { field, signer },
      hint: 'Leave delegator out to sign for your own account.',
    })
  }
  const record = getDelegation(ctx.state, delegator, signer)
  const base = { field, delegator, signer }
  if (!record) {
    throw new SinewError({
      code: 'delegation_not_found',
      message: `${delegator} has not delegated to ${signer}`,
      details: base,
      hint: `The delegator signs Delegate {delegate: ${signer}, …} first (\`sinew delegate new\`).`,
    })
  }
  if (record.revokedAt !== null) {
    throw new SinewError({
      code: 'delegation_revoked',
      message: `${delegator} revoked ${signer}'s grant at block ${record.revokedAt}`,
      details: { ...base, revokedAt: record.revokedAt },
    })
  }
  if (BigInt(record.expiry) <= ctx.timestamp) {
    throw new SinewError({
      code: 'delegation_expired',
      message: `${signer}'s grant from ${delegator} expired`,
      details: { ...base, expiry: record.expiry, blockTimestamp: ctx.timestamp.toString() },
      hint: 'Ask the delegator for a new grant.',
    })
  }
  if (!record.kinds.includes(kind.type)) {
    throw new SinewError({
      code: 'delegation_out_of_scope',
      message: `${signer} may not sign ${kind.type} for ${delegator}`,
      details: { ...base, field: 'type', got: kind.type, allowed: record.kinds },
      hint: 'The delegator can grant a wider scope with a new Delegate.',
    })
  }
  const before = readAccount(ctx.state, delegator).balance
  const result = kind.execute(ctx, message)
  const after = readAccount(ctx.state, delegator).balance
  const spend = before > after ? before - after : 0n
  const today = ctx.timestamp / DAY_MS
  const spentToday = (BigInt(record.day) === today ? BigInt(record.spentToday) : 0n) + spend
  const spent = BigInt(record.spent) + spend
  const dailyCap = BigInt(record.dailyCap)
  const over = spent > BigInt(record.spendCap) ? 'spendCap' : dailyCap > 0n && spentToday > dailyCap ? 'dailyCap' : undefined
  if (over) {
    const cap = over === 'spendCap' ? record.spendCap : record.dailyCap
    const already = over === 'spendCap' ? spent - spend : spentToday - spend
    throw new SinewError({
      code: 'delegation_cap_exceeded',
      message: `This tx would spend ${spend} of ${delegator}'s balance, over ${signer}'s ${over === 'spendCap' ? 'total' : 'daily'} cap (${already} of ${cap} used)`,
      details: { ...base, cap: over, limit: cap, used: already.toString(), spend: spend.toString() },
      hint: over === 'dailyCap' ? 'Wait for the next UTC day, or ask the delegator for a larger cap.' : 'Ask the delegator for a new grant.',
    })
  }
  if (spend > 0n) {
    ctx.state.setJson(delegationKey(delegator, signer), { ...record, spent: spent.toString(), day: today.toString(), spentToday: spentToday.toString() })
  }
  return result
}
