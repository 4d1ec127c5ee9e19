/** `sinew apikey new|show|revoke`: the key is made here; only its keccak256 goes on the ledger (GrantApiKey). */
import { Command } from 'commander'
import { formatUnits, isHex, parseUint, parseUnits, printable, SinewError } from '../../core/index.ts'
import { hashApiKey, newApiKey } from '../../models/index.ts'
import { NodeClient } from '../../client/index.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'
import { nodeOption } from '../options.ts'

/**
 * On the ledger 0 means "none" for both the spend limit and the expiry, so `--spend-limit 0`
 * or `--expires 0` would silently make a key without a limit or one that never expires: the
 * opposite of what someone typing 0 likely wants. Those are refused; no limit and no expiry
 * are said with --no-spend-limit and --no-expiry (or by leaving the option out).
 */
function parseSpendLimit(v: string | false | undefined): bigint {
  if (v === undefined || v === false) return 0n
  const limit = parseUnits(v, 18, '--spend-limit')
  if (limit === 0n) {
    throw new SinewError({
      code: 'invalid_field',
      message: '--spend-limit 0 would make a key with no spend limit (0 means none on the ledger)',
      details: { field: '--spend-limit', value: v },
      hint: 'Give a positive amount in SIN, e.g. --spend-limit 0.5; for a key without a limit pass --no-spend-limit.',
    })
  }
  return limit
}

function parseExpiry(v: string | undefined, noExpiry: boolean): bigint {
  if (v !== undefined && noExpiry) {
    throw new SinewError({
      code: 'invalid_field',
      message: '--expires and --no-expiry contradict each other',
      details: { field: '--expires', value: v },
      hint: 'Pass one of them.',
    })
  }
  if (v === undefined || v === 'never') return 0n
  const m = /^(\d+)([smhd])$/.exec(v)
  if (m && BigInt(m[1]) > 0n) return BigInt(Date.now()) + BigInt(m[1]) * BigInt({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]]!)
  if (/^[1-9]\d*$/.test(v)) return BigInt(v)
  if (/^0+$/.test(v)) {
    throw new SinewError({
      code: 'invalid_field',
      message: `--expires ${v} would make a key that never expires (0 means never on the ledger)`,
      details: { field: '--expires', value: v },
      hint: 'Give a positive duration (30d, 12h, 15m, 90s) or a time in ms since the epoch; for a key that never expires pass --no-expiry.',
    })
  }
  throw new SinewError({
    code: 'invalid_field',
    message: '--expires must be a positive duration like 30d, 12h, 15m or 90s, or a time in ms since the epoch',
    details: { field: '--expires', value: v },
    hint: 'For a key that never expires pass --no-expiry.',
  })
}

export function apikeyCommand(): Command {
  const cmd = new Command('apikey').description('API keys for the OpenAI-compatible gateway, bound to your account')
  withSigner(cmd.command('new').description('make a random key locally and sign GrantApiKey with its hash; prints the key once'))
    .option('--label <text>', 'a name for the key', '')
    .option('--spend-limit <sin>', 'most this key may spend, in SIN, more than 0 (default: no limit)')
    .option('--no-spend-limit', 'no spend limit (the default, said explicitly)')
    .option('--expires <when>', 'a duration (30d, 12h, 15m, 90s) or a time in ms since the epoch, more than 0 (default: never)')
    .option('--no-expiry', 'the key never expires (the default, said explicitly)')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (flags: SignerFlags & { label: string; spendLimit?: string | false; expires?: string; expiry: boolean; node?: string; json?: boolean }) => {
        const spendLimit = parseSpendLimit(flags.spendLimit)
        const expiresAt = parseExpiry(flags.expires, flags.expiry === false)
        const secret = newApiKey()
        const keyHash = hashApiKey(secret)
        const client = new NodeClient(flags.node)
        const { envelope, ack } = await signAndSubmit(client, await signerKey(flags), 'GrantApiKey', {
          keyHash,
          label: flags.label,
          spendLimit: spendLimit.toString(),
          expiresAt: expiresAt.toString(),
        })
        if (flags.json) return printJson({ apiKey: secret, keyHash, owner: envelope.from, tx: ack.hash, height: ack.height })
        printLines(
          `API key for ${envelope.from} (shown once; only its hash is on the ledger):`,
          ``,
          `  ${secret}`,
          ``,
          `  keyHash ${keyHash}  spend limit ${spendLimit === 0n ? 'none' : formatUnits(spendLimit) + ' SIN'}  expires ${expiresAt === 0n ? 'never' : new Date(Number(expiresAt)).toISOString()}`,
          `  tx ${ack.hash} in block ${ack.height}`,
          `Use it as: export OPENAI_API_KEY=${secret} OPENAI_BASE_URL=${client.url}/v1`,
        )
      }),
    )
  withSigner(cmd.command('revoke').description('sign RevokeApiKey for a key (give the key or its hash)'))
    .argument('<key>', 'the key (sk-sinew-…) or its 0x hash')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (key: string, flags: SignerFlags & { node?: string; json?: boolean }) => {
        const keyHash = isHex(key, 32) ? key.toLowerCase() : hashApiKey(key)
        const { ack } = await signAndSubmit(new NodeClient(flags.node), await signerKey(flags), 'RevokeApiKey', { keyHash })
        if (flags.json) return printJson({ keyHash, tx: ack.hash, height: ack.height })
        printLines(`Revoked ${keyHash} (tx ${ack.hash}, block ${ack.height})`)
      }),
    )
  cmd
    .command('show')
    .argument('<key>', 'the key (sk-sinew-…) or its 0x hash')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (key: string, flags: { node?: string; json?: boolean }) => {
        const keyHash = isHex(key, 32) ? key.toLowerCase() : hashApiKey(key)
        const k = await new NodeClient(flags.node).get(`/v1/apikeys/${keyHash}`)
        if (flags.json) return printJson(k)
        printLines(
          `API key ${keyHash}${k.revoked ? '  REVOKED' : ''}`,
          `  owner ${k.owner}  label ${JSON.stringify(printable(k.label))}`,
          `  spent ${formatUnits(parseUint(k.spent, 256, 'spent'))} SIN of ${k.spendLimit === '0' ? 'no limit' : formatUnits(BigInt(k.spendLimit)) + ' SIN'} in ${k.calls} calls; expires ${k.expiresAt === '0' ? 'never' : new Date(Number(k.expiresAt)).toISOString()}`,
        )
      }),
    )
  return cmd
}
