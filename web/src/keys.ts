/**
 * API keys made in the browser: the secret is random bytes from this page, only its hash is
 * signed on chain (GrantApiKey). The secret is shown once; the playground keeps the one it
 * uses in this browser's storage (per account) so it can call models with it.
 */
import { bytesToHex, keccak256, stringToBytes } from 'viem'
import { sendTx, type Signer } from './signing.ts'

export const API_KEY_PREFIX = 'sk-sinew-'

export function newApiKey(): string {
  return API_KEY_PREFIX + bytesToHex(crypto.getRandomValues(new Uint8Array(32))).slice(2)
}

/** keccak256(utf8(secret)): GrantApiKey.keyHash (src/models/apikeys.ts). */
export const hashApiKey = (secret: string) => keccak256(stringToBytes(secret))

export async function grantApiKey(signer: Signer, o: { label: string; spendLimit: bigint; expiresAt: bigint }): Promise<{ secret: string; keyHash: string }> {
  const secret = newApiKey()
  const keyHash = hashApiKey(secret)
  await sendTx(signer, 'GrantApiKey', { keyHash, label: o.label, spendLimit: o.spendLimit.toString(), expiresAt: o.expiresAt.toString() })
  return { secret, keyHash }
}

const playgroundSlot = (address: string) => `sinew.playgroundKey.${address.toLowerCase()}`
export const playgroundKey = (address: string) => localStorage.getItem(playgroundSlot(address)) ?? undefined
export const setPlaygroundKey = (address: string, secret: string | undefined) =>
  secret ? localStorage.setItem(playgroundSlot(address), secret) : localStorage.removeItem(playgroundSlot(address))

/** The hashes of the keys this browser made for an account (the ledger has no list of an account's keys). */
const madeSlot = (address: string) => `sinew.keys.${address.toLowerCase()}`
export const madeKeys = (address: string): string[] => JSON.parse(localStorage.getItem(madeSlot(address)) ?? '[]')
export const rememberKey = (address: string, keyHash: string) =>
  localStorage.setItem(madeSlot(address), JSON.stringify([...new Set([keyHash, ...madeKeys(address)])]))
