/** `sinew keys new|import|list`: v3 encrypted key files, as geth and ethers write them. */
import { Command } from 'commander'
import { generatePrivateKey } from 'viem/accounts'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { isHex, SinewError, type Hex } from '../../core/index.ts'
import { listKeys, saveKey } from '../../ledger/keys/index.ts'
import { action, printJson, printLines } from '../output.ts'
import { readPassword } from '../password.ts'

export const defaultKeysDir = (): string => process.env.SINEW_KEYS_DIR ?? join(homedir(), '.sinew', 'keys')

type KeyFlags = { keysDir?: string; json?: boolean; scryptN?: string }

export function keysCommand(): Command {
  const keys = new Command('keys').description('manage encrypted account keys (v3 keystore files; password from SINEW_PASSWORD or a prompt)')
  const withDir = (c: Command) => c.option('--keys-dir <dir>', 'key directory (default ~/.sinew/keys, or SINEW_KEYS_DIR)').option('--json', 'print JSON')
  withDir(keys.command('new').description('make a new key and store it encrypted'))
    .option('--scrypt-n <n>', 'scrypt cost (default 262144)')
    .action(
      action(async (flags: KeyFlags) => {
        const password = await readPassword('Password for the new key: ', 'SINEW_PASSWORD', true)
        const entry = await saveKey(flags.keysDir ?? defaultKeysDir(), generatePrivateKey(), password, scryptOptions(flags))
        if (flags.json) return printJson(entry)
        printLines(`New key ${entry.address}`, `  file ${entry.file}`, `Keep the password: without it the key cannot be used.`)
      }),
    )
  withDir(keys.command('import').description('store an existing private key encrypted (read from SINEW_PRIVATE_KEY or the argument)'))
    .argument('[privateKey]', '0x-prefixed 32-byte private key (prefer SINEW_PRIVATE_KEY: arguments end up in shell history)')
    .option('--scrypt-n <n>', 'scrypt cost (default 262144)')
    .action(
      action(async (arg: string | undefined, flags: KeyFlags) => {
        const key = (arg ?? process.env.SINEW_PRIVATE_KEY ?? '').trim()
        if (!isHex(key, 32)) {
          throw new SinewError({
            code: 'invalid_private_key',
            message: 'The private key must be 0x and 64 hex digits',
            hint: 'Pass it as an argument or in SINEW_PRIVATE_KEY.',
          })
        }
        const password = await readPassword('Password for the key file: ', 'SINEW_PASSWORD', true)
        const entry = await saveKey(flags.keysDir ?? defaultKeysDir(), key.toLowerCase() as Hex, password, scryptOptions(flags))
        if (flags.json) return printJson(entry)
        printLines(`Imported ${entry.address}`, `  file ${entry.file}`)
      }),
    )
  withDir(keys.command('list').description('list stored keys')).action(
    action(async (flags: KeyFlags) => {
      const entries = listKeys(flags.keysDir ?? defaultKeysDir())
      if (flags.json) return printJson(entries)
      if (entries.length === 0) return printLines(`No keys in ${flags.keysDir ?? defaultKeysDir()} (make one with \`sinew keys new\`)`)
      printLines(...entries.map((e) => `${e.address}  ${e.file}`))
    }),
  )
  return keys
}

function scryptOptions(flags: KeyFlags): { scryptN?: number } {
  if (flags.scryptN === undefined) return {}
  const n = Number(flags.scryptN)
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0)
    throw new SinewError({ code: 'invalid_field', message: '--scrypt-n must be a power of two', details: { field: '--scrypt-n' } })
  return { scryptN: n }
}
