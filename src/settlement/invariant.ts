/**
 * The backing invariant of a settled network (docs/settlement.md#invariant): the tokens the
 * settlement contract holds cover every SIN on Sinew plus every recorded withdrawal not yet
 * paid out:
 *
 *   token.balanceOf(contract) >= genesisMint + deposited - withdrawalsPaid - escapesPaid
 *
 * (SIN in circulation on Sinew is genesisMint + deposited - withdrawn; the withdrawn SIN is
 * owed by the contract until claimed.) Nothing else on Sinew mints or burns SIN.
 */
import type { Genesis, StateReader } from '../ledger/index.ts'
import { readTotals } from './state.ts'

export type InvariantInputs = {
  genesis: Genesis
  state: StateReader
  contractBalance: bigint
  withdrawalsPaid: bigint
  escapesPaid: bigint
}

export type Invariant = {
  holds: boolean
  contractBalance: string
  /** SIN the genesis allocated: on a settled network the deployer funds the contract with this much at launch. */
  genesisMint: string
  /** SIN on Sinew: genesisMint + deposited - withdrawn. */
  circulating: string
  deposited: string
  withdrawn: string
  withdrawalsPaid: string
  escapesPaid: string
  /** What the contract must hold: circulating + (withdrawn - withdrawalsPaid) - escapesPaid. */
  required: string
  /** contractBalance - required (negative when the invariant is broken). */
  surplus: string
}

export const genesisMint = (genesis: Genesis): bigint => genesis.alloc.reduce((s, a) => s + a.balance, 0n)

export function computeInvariant(i: InvariantInputs): Invariant {
  const totals = readTotals(i.state)
  const mint = genesisMint(i.genesis)
  const deposited = BigInt(totals.deposited)
  const withdrawn = BigInt(totals.withdrawn)
  const circulating = mint + deposited - withdrawn
  const required = circulating + (withdrawn - i.withdrawalsPaid) - i.escapesPaid
  return {
    holds: i.contractBalance >= required,
    contractBalance: i.contractBalance.toString(),
    genesisMint: mint.toString(),
    circulating: circulating.toString(),
    deposited: deposited.toString(),
    withdrawn: withdrawn.toString(),
    withdrawalsPaid: i.withdrawalsPaid.toString(),
    escapesPaid: i.escapesPaid.toString(),
    required: required.toString(),
    surplus: (i.contractBalance - required).toString(),
  }
}
