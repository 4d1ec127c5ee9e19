/** Account addresses: 20-byte Ethereum addresses, kept lowercase inside Sinew. Input may be
 * lowercase, uppercase or EIP-55 mixed case; mixed case must carry a valid checksum. */
import { keccak256, SinewError, type Hex } from '../core/index.ts'

export type Address = Hex

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

export function parseAddress(value: unknown, field = 'address'): Address {
  if (typeof value !== 'string' || !ADDRESS.test(value)) {
    throw new SinewError({
      code: 'invalid_address',
      message: `${field} is not an address`,
      details: { field, value: typeof value === 'string' ? value.slice(0, 100) : typeof value },
      hint: 'An address is 0x followed by 40 hex digits, e.g. 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266.',
    })
  }
  const body = value.slice(2)
  const mixed = body !== body.toLowerCase() && body !== body.toUpperCase()
  if (mixed && value !== checksumAddress(value)) {
    throw new SinewError({
      code: 'invalid_address',
      message: `${field} has a bad EIP-55 checksum`,
      details: { field, value },
      hint: 'Copy the address again, or send it all lowercase.',
    })
  }
  return value.toLowerCase() as Address
}

/**
 * The EIP-55 form of an address: a hex letter is upper case where the same nibble of
 * keccak256(the lowercase hex, as ASCII) is 8 or more. (viem's `getAddress`, without
 * loading viem: every CLI command parses addresses.)
 */
export function checksumAddress(value: string): string {
  const lower = value.slice(2).toLowerCase()
  const hash = keccak256(lower)
  let out = '0x'
  for (let i = 0; i < 40; i++) out += Number.parseInt(hash[2 + i], 16) >= 8 ? lower[i].toUpperCase() : lower[i]
  return out
}

export const ZERO_ADDRESS = ('0x' + '00'.repeat(20)) as Address
