/**
 * Accounts: balance and nonce under `acct/<address>`, stored as abi.encode(uint256 balance,
 * uint256 nonce) so that a Solidity contract can check an account proof with one keccak.
 */
import { MAX_UINT256, uint256Word, SinewError } from '../core/index.ts'
import type { Address } from './address.ts'
import type { StateOverlay, StateReader } from './state.ts'

export type Account = { balance: bigint; nonce: bigint }

export const accountKey = (address: Address): string => `acct/${address}`

export function encodeAccount(account: Account): Uint8Array {
  const out = new Uint8Array(64)
  out.set(uint256Word(account.balance), 0)
  out.set(uint256Word(account.nonce), 32)
  return out
}

export function decodeAccount(bytes: Uint8Array): Account {
  if (bytes.length !== 64) throw new RangeError(`account value must be 64 bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, 64)
  const word = (at: number) =>
    (view.getBigUint64(at) << 192n) | (view.getBigUint64(at + 8) << 128n) | (view.getBigUint64(at + 16) << 64n) | view.getBigUint64(at + 24)
  return { balance: word(0), nonce: word(32) }
}

export function readAccount(state: StateReader, address: Address): Account {
  const bytes = state.get(accountKey(address))
  return bytes ? decodeAccount(bytes) : { balance: 0n, nonce: 0n }
}

export function writeAccount(state: StateOverlay, address: Address, account: Account): void {
  state.set(accountKey(address), encodeAccount(account))
}

/** Takes `amount` from `address`, refusing to go below zero. `field` names what is paid for. */
export function debit(state: StateOverlay, address: Address, amount: bigint, field = 'amount'): void {
  const account = readAccount(state, address)
  if (account.balance < amount) {
    throw new SinewError({
      code: 'insufficient_balance',
      message: `Balance too low: ${address} has ${account.balance}, needs ${amount}`,
      details: { field, address, balance: account.balance.toString(), required: amount.toString() },
      hint:
        account.balance === 0n && account.nonce === 0n
          ? 'This account has never been funded. If you expected another address, check the signing key and that you signed for this chain (GET /v1/types shows its chainId).'
          : 'Fund the account first or send a smaller amount.',
    })
  }
  writeAccount(state, address, { ...account, balance: account.balance - amount })
}

export function credit(state: StateOverlay, address: Address, amount: bigint): void {
  const account = readAccount(state, address)
  if (account.balance + amount > MAX_UINT256) {
    throw new SinewError({ code: 'balance_overflow', message: `Crediting ${address} would overflow uint256`, details: { address } })
  }
  writeAccount(state, address, { ...account, balance: account.balance + amount })
}
