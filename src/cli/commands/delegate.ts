/**
 * `sinew delegate new|list|revoke`: session keys. `new` makes a fresh key here, signs
 * `Delegate` to it with the account's key (--from), and writes the session-key file an agent
 * runs with (`sinew mcp --session-key FILE`). The file holds the session key in the clear
 * (mode 0600): it can only ever do what the grant allows, and `revoke` ends it at once.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Command } from 'commander'
import { formatUnits, parseUnits, SinewError, writeFileDurable, type Hex } from '../../core/index.ts'
import { parseAddress, type Address } from '../../ledger/index.ts'
import { NodeClient, signEnvelope, type TypesInfo } from '../../client/index.ts'
import { readInputFile } from '../files.ts'
import { action, printJson, printLines } from '../output.ts'
import { defaultKeysDir } from './keys.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'
import { nodeOption } from '../options.ts'

export const SESSION_KEY_FORMAT = 'sinew-session-key/1'

export type SessionKeyFile = { format: string; address: Address; privateKey: Hex; delegator: Address; chainId: string; kinds: string[]; expiry: string }

/** Reads and checks a session-key file written by `sinew delegate new`. */
export function readSessionKey(path: string, field = '--session-key'): SessionKeyFile {
  let f: Partial<SessionKeyFile>
  try {
    f = JSON.parse(readInputFile(path, field).toString('utf8'))
  } catch (e) {
    if (e instanceof SinewError) throw e
    throw new SinewError({ code: 'invalid_field', message: `${field}: ${path} is not JSON`, details: { field, file: path } })
  }
  if (f.format !== SESSION_KEY_FORMAT || typeof f.privateKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(f.privateKey) || typeof f.delegator !== 'string') {
    throw new SinewError({
      code: 'invalid_field',
      message: `${field}: ${path} is not a session-key file (${SESSION_KEY_FORMAT})`,
      details: { field, file: path },
      hint: 'Make one with `sinew delegate new --from <account> --kinds … --spend-cap …`.',
    })
  }
  return { ...(f as SessionKeyFile), delegator: parseAddress(f.delegator, `${field}.delegator`) }
}

/** Signs `type` as the session key for its delegator, with the session key's own next nonce. */
export async function signAsSessionKey(client: NodeClient, session: SessionKeyFile, type: string, message: Record<string, unknown>) {
  const [types, account] = await Promise.all([client.get<TypesInfo>('/v1/types'), client.get(`/v1/accounts/${session.address}`)])
  return signEnvelope(session.privateKey, types, type, { ...message, nonce: account.nonce }, session.delegator)
}

function parseDuration(v: string, field: string): bigint {
  const m = /^(\d+)([smhd])$/.exec(v)
  if (m && BigInt(m[1]) > 0n) return BigInt(m[1]) * BigInt({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]]!)
  throw new SinewError({ code: 'invalid_field', message: `${field} must be a positive duration like 7d, 12h, 15m or 90s`, details: { field, value: v } })
}

type NewFlags = SignerFlags & { kinds: string; spendCap: string; dailyCap?: string; expires: string; out?: string; node?: string; json?: boolean }

export function delegateCommand(): Command {
  const cmd = new Command('delegate').description('session keys: let another key sign chosen tx kinds for your account, within spend caps, until an expiry')
  withSigner(cmd.command('new').description('make a session key, sign Delegate to it, and write its key file (for `sinew mcp --session-key FILE`)'))
    .requiredOption('--kinds <list>', 'comma-separated tx kinds it may sign, e.g. PostTask,VerifyResult,CancelTask')
    .requiredOption('--spend-cap <sin>', 'most it may spend of your balance in total, in SIN')
    .option('--daily-cap <sin>', 'most per UTC day, in SIN (default: no daily cap beyond the total)')
    .option('--expires <duration>', 'how long the grant lasts: 7d, 12h, 15m, 90s', '7d')
    .option('--out <file>', 'where to write the session-key file (default <keys dir>/session-<address>.json)')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (flags: NewFlags) => {
        const kinds = flags.kinds
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean)
        const spendCap = parseUnits(flags.spendCap, 18, '--spend-cap')
        const dailyCap = flags.dailyCap === undefined ? 0n : parseUnits(flags.dailyCap, 18, '--daily-cap')
        const client = new NodeClient(flags.node)
        const expiry = BigInt(Date.now()) + parseDuration(flags.expires, '--expires')
        const { generatePrivateKey, privateKeyToAccount } = await import('viem/accounts')
        const privateKey = generatePrivateKey()
        const address = privateKeyToAccount(privateKey).address.toLowerCase() as Address
        const out = flags.out ?? join(flags.keysDir ?? defaultKeysDir(), `session-${address}.json`)
        if (existsSync(out)) throw new SinewError({ code: 'key_exists', message: `--out: ${out} exists already`, details: { field: '--out', file: out } })
        const { envelope, ack } = await signAndSubmit(client, await signerKey(flags), 'Delegate', {
          delegate: address,
          kinds,
          spendCap: spendCap.toString(),
          dailyCap: dailyCap.toString(),
          expiry: expiry.toString(),
        })
        const file: SessionKeyFile = {
          format: SESSION_KEY_FORMAT,
          address,
          privateKey,
          delegator: envelope.from as Address,
          chainId: envelope.chainId,
          kinds,
          expiry: expiry.toString(),
        }
        mkdirSync(dirname(out), { recursive: true, mode: 0o700 })
        writeFileDurable(out, JSON.stringify(file, null, 2) + '\n', 0o600)
        if (flags.json)
          return printJson({
            delegate: address,
            delegator: envelope.from,
            file: out,
            kinds,
            spendCap: spendCap.toString(),
            dailyCap: dailyCap.toString(),
            expiry: expiry.toString(),
            tx: ack.hash,
          })
        printLines(
          `Session key ${address} for ${envelope.from} (tx ${ack.hash}, block ${ack.height})`,
          `  may sign ${kinds.join(', ')}; spend cap ${formatUnits(spendCap)} SIN${dailyCap > 0n ? `, ${formatUnits(dailyCap)} SIN a day` : ''}; expires ${new Date(Number(expiry)).toISOString()}`,
          `  key file ${out} (keep it private; revoke with \`sinew delegate revoke ${address}\`)`,
          `Run an agent with it: sinew mcp --session-key ${out}`,
        )
      }),
    )
  cmd
    .command('list')
    .argument('<address>', 'the account whose grants (made and received) to list')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (address: string, flags: { node?: string; json?: boolean }) => {
        const d = await new NodeClient(flags.node).get(`/v1/accounts/${parseAddress(address, 'address')}/delegations`)
        if (flags.json) return printJson(d)
        const line = (g: any) =>
          `  ${g.delegator} → ${g.delegate}  ${g.revokedAt !== null ? 'REVOKED' : BigInt(g.expiry) <= BigInt(d.timestamp) ? 'EXPIRED' : 'active'}  ${g.kinds.join(',')}  spent ${formatUnits(BigInt(g.spent))} of ${formatUnits(BigInt(g.spendCap))} SIN${g.dailyCap !== '0' ? ` (daily cap ${formatUnits(BigInt(g.dailyCap))})` : ''}  expires ${new Date(Number(g.expiry)).toISOString()}`
        printLines(
          `Granted by ${d.address}: ${d.granted.length === 0 ? 'none' : ''}`,
          ...d.granted.map(line),
          `Received by ${d.address}: ${d.received.length === 0 ? 'none' : ''}`,
          ...d.received.map(line),
        )
      }),
    )
  withSigner(cmd.command('revoke').description('sign RevokeDelegate: the session key’s later txs are refused'))
    .argument('<delegate>', 'the session key address')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (delegate: string, flags: SignerFlags & { node?: string; json?: boolean }) => {
        const address = parseAddress(delegate, 'delegate')
        const { ack } = await signAndSubmit(new NodeClient(flags.node), await signerKey(flags), 'RevokeDelegate', { delegate: address })
        if (flags.json) return printJson({ delegate: address, tx: ack.hash, height: ack.height, spent: ack.receipt.result.spent })
        printLines(`Revoked session key ${address} (spent ${formatUnits(BigInt(ack.receipt.result.spent))} SIN; tx ${ack.hash}, block ${ack.height})`)
      }),
    )
  return cmd
}
