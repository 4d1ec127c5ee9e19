/** API key secrets: made client-side, only their keccak256 goes on the ledger. */
import { randomBytes } from 'node:crypto'
import { keccak256, type Hex } from '../core/index.ts'

export const API_KEY_PREFIX = 'sk-sinew-'

/** A new random secret: `sk-sinew-` + 64 hex digits (32 random bytes). */
export function newApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('hex')
}

/** keyHash = keccak256(utf8(secret)), as in GrantApiKey.keyHash and RecordReceipt.apiKeyHash. */
export function hashApiKey(secret: string): Hex {
  return keccak256(secret)
}
