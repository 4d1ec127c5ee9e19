/**
 * The dev network's funded accounts (INSECURE: derived from the public test mnemonic, as
 * Hardhat and Anvil do; src/ledger/keys/dev.ts), derived in the page. Loaded only when a
 * dev account is picked.
 */
import { mnemonicToAccount } from 'viem/accounts'
import { bytesToHex } from 'viem'

const DEV_MNEMONIC = 'test test test test test test test test test test test junk'
export const DEV_ACCOUNT_COUNT = 10

let parent: ReturnType<ReturnType<typeof mnemonicToAccount>['getHdKey']> | undefined

export function devKey(index: number): `0x${string}` {
  parent ??= mnemonicToAccount(DEV_MNEMONIC, { path: "m/44'/60'/0'/0" }).getHdKey()
  const key = parent.deriveChild(index).privateKey
  if (!key) throw new Error(`no dev key at index ${index}`)
  return bytesToHex(key)
}
