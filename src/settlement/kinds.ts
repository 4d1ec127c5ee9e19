/**
 * Settlement tx kinds (docs/settlement.md):
 * - `Deposit`, signed by the node (the sequencer key, like RecordReceipt): credits the SIN
 *   a confirmed `Deposited` log of the settlement contract paid for, exactly once per
 *   (EVM chain id, tx hash, log index). The node's watcher makes these; nobody else can.
 * - `Withdraw`, signed by the user: debits `amount` and records `withdrawal/<tx hash>`,
 *   which the contract pays to `recipient` once a checkpoint covers it.
 * SIN and the settlement token are 1:1 in base units (18 decimals).
 */
import { SinewError } from '../core/index.ts'
import {
  credit,
  debit,
  defineTxKind,
  requireSequencer,
  ZERO_ADDRESS,
  type FieldsValue,
  type NoStructs,
  type StateOverlay,
  type TxContext,
  type TxKind,
  type TxMessage,
} from '../ledger/index.ts'
import { depositKey, encodeWithdrawal, readDeposit, readTotals, TOTALS_KEY, withdrawalKey, type DepositRecord, type SettlementTotals } from './state.ts'

const bad = (field: string, why: string, got?: string): SinewError =>
  new SinewError({ code: 'invalid_field', message: `message.${field} ${why}`, details: { field: `message.${field}`, ...(got === undefined ? {} : { got }) } })

const writeTotals = (state: StateOverlay, totals: SettlementTotals): void => state.setJson(TOTALS_KEY, totals)

/** A credited EVM log: the fields of `Deposit` and of x402's `DepositTransfer`, which `creditDeposit` credits alike. */
export const depositLogFields = [
  { name: 'evmChainId', type: 'uint64' },
  { name: 'txHash', type: 'bytes32' },
  { name: 'logIndex', type: 'uint64' },
  { name: 'blockNumber', type: 'uint64' },
  { name: 'blockHash', type: 'bytes32' },
  { name: 'from', type: 'address' },
  { name: 'account', type: 'address' },
  { name: 'amount', type: 'uint256' },
] as const

export const depositKind = defineTxKind({
  type: 'Deposit',
  description: 'Node-signed: credit a confirmed Deposited log of the settlement contract to its Sinew account, once per (chain, tx, log)',
  fields: depositLogFields,
  validate(m) {
    if (m.amount === 0n) throw bad('amount', 'must be above zero', '0')
    if (m.account === ZERO_ADDRESS) throw bad('account', 'must not be the zero address', m.account)
    if (m.evmChainId === 0n) throw bad('evmChainId', 'must be above zero', '0')
  },
  execute(ctx, m) {
    requireSequencer(ctx, 'credits deposits')
    creditDeposit(ctx, m, { advancesCursor: true })
    return { account: m.account, amount: m.amount, evmChainId: m.evmChainId, txHash: m.txHash, logIndex: m.logIndex }
  },
})

export type DepositFields = FieldsValue<typeof depositLogFields, NoStructs>

/**
 * Credits one EVM log to `m.account`, once per (chain, tx, log): the `deposit/...` key is the
 * one place both the watcher's `Deposit` and x402's `DepositTransfer` mark a log credited, so
 * neither path can credit a log the other did. `advancesCursor`: only the watcher's deposits
 * move `lastDepositBlock` (where it resumes after a restart); a payment's transfer, credited
 * at once, must not make it skip unconfirmed `Deposited` logs of earlier blocks.
 */
export function creditDeposit(ctx: TxContext, m: DepositFields, o: { advancesCursor: boolean }): void {
  const earlier = readDeposit(ctx.state, m.evmChainId, m.txHash, m.logIndex)
  if (earlier) {
    throw new SinewError({
      code: 'deposit_already_credited',
      message: `The deposit in EVM tx ${m.txHash} log ${m.logIndex} (chain ${m.evmChainId}) is credited already, at Sinew height ${earlier.sinewHeight}`,
      details: {
        field: 'message.txHash',
        evmChainId: m.evmChainId.toString(),
        txHash: m.txHash,
        logIndex: m.logIndex.toString(),
        sinewHeight: earlier.sinewHeight,
      },
      hint: 'A deposit log is credited exactly once; nothing was changed.',
    })
  }
  credit(ctx.state, m.account, m.amount)
  const record: DepositRecord = {
    account: m.account,
    amount: m.amount.toString(),
    from: m.from,
    blockNumber: m.blockNumber.toString(),
    blockHash: m.blockHash,
    sinewHeight: ctx.height.toString(),
  }
  ctx.state.setJson(depositKey(m.evmChainId, m.txHash, m.logIndex), record)
  const totals = readTotals(ctx.state)
  writeTotals(ctx.state, {
    ...totals,
    deposited: (BigInt(totals.deposited) + m.amount).toString(),
    deposits: totals.deposits + 1,
    lastDepositBlock: (o.advancesCursor && m.blockNumber > BigInt(totals.lastDepositBlock) ? m.blockNumber : BigInt(totals.lastDepositBlock)).toString(),
  })
}

export const withdrawKind = defineTxKind({
  type: 'Withdraw',
  description: 'Take `amount` SIN off Sinew; once a checkpoint covers this tx, `recipient` claims the same amount of the settlement token on the EVM chain',
  fields: [
    { name: 'recipient', type: 'address' },
    { name: 'amount', type: 'uint256' },
  ],
  validate(m) {
    if (m.amount === 0n) throw bad('amount', 'must be above zero', '0')
    if (m.recipient === ZERO_ADDRESS) throw bad('recipient', 'must not be the zero address (the tokens would be burnt)', m.recipient)
  },
  execute(ctx, m) {
    debit(ctx.state, ctx.sender, m.amount)
    const id = ctx.txHash.toLowerCase()
    ctx.state.set(withdrawalKey(ctx.txHash), encodeWithdrawal({ account: ctx.sender, recipient: m.recipient, amount: m.amount }))
    const totals = readTotals(ctx.state)
    writeTotals(ctx.state, { ...totals, withdrawn: (BigInt(totals.withdrawn) + m.amount).toString(), withdrawals: totals.withdrawals + 1 })
    return { id, account: ctx.sender, recipient: m.recipient, amount: m.amount }
  },
})

export type DepositMessage = TxMessage<typeof depositKind>
export type WithdrawMessage = TxMessage<typeof withdrawKind>

export const settlementKinds: TxKind<any>[] = [depositKind, withdrawKind]
