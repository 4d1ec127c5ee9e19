/** `sinew tx transfer` (sign with a stored key or a dev key, submit, wait for the block) and `sinew tx get`. */
import { Command } from 'commander'
import { formatUnits, parseUint, parseUnits, SinewError, type Hex } from '../../core/index.ts'
import { parseAddress } from '../../ledger/index.ts'
import { devAccounts, loadKey } from '../../ledger/keys/index.ts'
import { NodeClient, signEnvelope, type TypesInfo } from '../../client/index.ts'
import { action, printJson, printLines } from '../output.ts'
import { readPassword } from '../password.ts'
import { defaultKeysDir } from './keys.ts'
import { nodeOption } from '../options.ts'

export type SignerFlags = { from?: string; devAccount?: string; keysDir?: string }

export const withSigner = (c: Command): Command =>
  c
    .option('--from <address>', 'sign with this stored key (password from SINEW_PASSWORD or a prompt)')
    .option('--dev-account <n>', 'sign with INSECURE dev account n (0-9) of the public test mnemonic')
    .option('--keys-dir <dir>', 'key directory (default ~/.sinew/keys)')

/** The signing key chosen by --from or --dev-account. */
export async function signerKey(flags: SignerFlags): Promise<Hex> {
  if (flags.devAccount !== undefined) {
    const n = Number(flags.devAccount)
    if (!Number.isInteger(n) || n < 0 || n > 9)
      throw new SinewError({ code: 'invalid_field', message: '--dev-account must be 0 to 9', details: { field: '--dev-account' } })
    return devAccounts(10)[n].privateKey
  }
  if (!flags.from)
    throw new SinewError({
      code: 'missing_field',
      message: 'Say who signs: --from <address> (a stored key) or --dev-account <n>',
      details: { field: '--from' },
    })
  const address = parseAddress(flags.from, '--from')
  return loadKey(flags.keysDir ?? defaultKeysDir(), address, await readPassword(`Password for ${address}: `))
}

/** Signs `message` with the signer's next nonce (from the node) plus `nonceOffset`; submits nothing. */
export async function signTx(client: NodeClient, key: Hex, type: string, message: Record<string, unknown>, nonceOffset = 0n) {
  const { privateKeyToAccount } = await import('viem/accounts')
  const from = privateKeyToAccount(key).address.toLowerCase()
  const [types, account] = await Promise.all([client.get<TypesInfo>('/v1/types'), client.get(`/v1/accounts/${from}`)])
  return signEnvelope(key, types, type, { ...message, nonce: (BigInt(account.nonce) + nonceOffset).toString() })
}

/**
 * Signs `message` (nonce filled in from the node) and submits it; resolves at
 * acknowledgment. `signed` runs in between with the envelope (an upload it authorises).
 */
export async function signAndSubmit(
  client: NodeClient,
  key: Hex,
  type: string,
  message: Record<string, unknown>,
  signed?: (envelope: Awaited<ReturnType<typeof signTx>>) => Promise<void>,
) {
  const envelope = await signTx(client, key, type, message)
  await signed?.(envelope)
  return { envelope, ack: await client.post('/v1/tx', envelope) }
}

export function txCommand(): Command {
  const tx = new Command('tx').description('sign and submit transactions; look them up')
  withSigner(tx.command('transfer').description('send SIN to an address'))
    .requiredOption('--to <address>', 'recipient')
    .option('--amount <sin>', 'amount in SIN, e.g. 1.5')
    .option('--amount-units <n>', 'amount in base units (18 decimals)')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (flags: SignerFlags & { to: string; amount?: string; amountUnits?: string; node?: string; json?: boolean }) => {
        if ((flags.amount === undefined) === (flags.amountUnits === undefined)) {
          throw new SinewError({
            code: 'missing_field',
            message: 'Give exactly one of --amount (SIN) or --amount-units (base units)',
            details: { field: '--amount' },
          })
        }
        const amount = flags.amount !== undefined ? parseUnits(flags.amount, 18, '--amount') : parseUint(flags.amountUnits, 256, '--amount-units')
        const to = parseAddress(flags.to, '--to')
        const client = new NodeClient(flags.node)
        const { envelope, ack } = await signAndSubmit(client, await signerKey(flags), 'Transfer', { to, amount: amount.toString() })
        if (flags.json) return printJson({ ...ack, from: envelope.from })
        printLines(`Transferred ${formatUnits(amount)} SIN from ${envelope.from} to ${to}`, `  tx ${ack.hash}`, `  in block ${ack.height} (committed)`)
      }),
    )
  tx.command('get')
    .description('a committed tx and its receipt')
    .argument('<hash>')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (hash: string, flags: { node?: string; json?: boolean }) => {
        const t = await new NodeClient(flags.node).get(`/v1/tx/${encodeURIComponent(hash)}`)
        if (flags.json) return printJson(t)
        printLines(
          `${t.type} ${t.hash}`,
          `  block ${t.height} #${t.index}  from ${t.sender}  nonce ${t.nonce}`,
          `  message ${JSON.stringify(t.message)}`,
          `  result  ${JSON.stringify(t.receipt.result)}`,
        )
      }),
    )
  return tx
}
