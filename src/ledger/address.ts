/** Account addresses: 20-byte Ethereum addresses, kept lowercase inside Sinew. Input may be
 * lowercase, uppercase or EIP-55 mixed case; mixed case must carry a valid checksum. */
import { isAddress } from 'viem'
import { SinewError, type Hex } from '../core/index.ts'

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
  if (mixed && !isAddress(value, { strict: true })) {
    throw new SinewError({
      code: 'invalid_address',
      message: `${field} has a bad EIP-55 checksum`,
      details: { field, value },
      hint: 'Copy the address again, or send it all lowercase.',
    })
  }
  return value.toLowerCase() as Address
}

export const ZERO_ADDRESS = ('0x' + '00'.repeat(20)) as Address
