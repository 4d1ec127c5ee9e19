/**
 * Dev accounts: the keys Hardhat and Anvil derive from the public test mnemonic, so a dev
 * network's funded accounts are the ones every Ethereum developer's tools already know
 * (account 0 = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266).
 *
 * INSECURE: the mnemonic is public. Anyone can sign for these accounts. Dev networks only.
 */
import { mnemonicToAccount } from 'viem/accounts'
import { toHex, type Hex } from '../../core/index.ts'
import { addressOf } from '../signing/index.ts'

export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

export type DevAccount = { index: number; address: Hex; privateKey: Hex }

// Turning the mnemonic into a seed is 2048 rounds of PBKDF2-SHA512 in pure JS (tens of ms),
// so it runs once: derive the parent node m/44'/60'/0'/0 and take child i from it, which
// gives the same keys as m/44'/60'/0'/0/i. Results are cached for the process.
let parent: ReturnType<ReturnType<typeof mnemonicToAccount>['getHdKey']> | undefined
const cache: DevAccount[] = []

export function devAccounts(count = 10): DevAccount[] {
  if (!Number.isInteger(count) || count < 0 || count > 1000) throw new RangeError(`devAccounts: count must be an integer in [0, 1000], got ${count}`)
  for (let i = cache.length; i < count; i++) {
    parent ??= mnemonicToAccount(DEV_MNEMONIC, { path: "m/44'/60'/0'/0" }).getHdKey()
    const key = parent.deriveChild(i).privateKey
    if (!key) throw new Error(`devAccounts: no private key at index ${i}`)
    const privateKey = toHex(key)
    cache.push(Object.freeze({ index: i, address: addressOf(privateKey), privateKey }))
  }
  return cache.slice(0, count)
}
