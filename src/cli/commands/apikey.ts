/** `sinew apikey new|show|revoke`: the key is made here; only its keccak256 goes on the ledger (GrantApiKey). */
import { Command } from 'commander'
import { formatUnits, isHex, parseUint, parseUnits, SinewError } from '../../core/index.ts'
import { hashApiKey, newApiKey } from '../../models/index.ts'
import { NodeClient } from '../client.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'

function parseExpiry(v: string | undefined): bigint {
  if (v === undefined || v === '0' || v === 'never') return 0n
  const m = /^(\d+)([smhd])$/.exec(v)
  if (m) return BigInt(Date.now()) + BigInt(m[1]) * BigInt({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]]!)
  if (/^\d+$/.test(v)) return BigInt(v)
  throw new SinewError({
    code: 'invalid_field',
    message: '--expires must be a duration like 30d, 12h, or ms since the epoch, or "never"',
    details: { field: '--expires' },
  })
}

export function apikeyCommand(): Command {
  const cmd = new Command('apikey').description('API keys for the OpenAI-compatible gateway, bound to your account')
  withSigner(cmd.command('new').description('make a random key locally and sign GrantApiKey with its hash; prints the key once'))
    .option('--label <text>', 'a name for the key', '')
    .option('--spend-limit <sin>', 'most this key may spend, in SIN (default: no limit)')
    .option('--expires <when>', 'duration (30d, 12h, 15m) or ms since the epoch (default never)')
    .option('--node <url>', 'node URL')
    .option('--json', 'print JSON')
    .action(
      action(async (flags: SignerFlags & { label: string; spendLimit?: string; expires?: string; node?: string; json?: boolean }) => {
        const secret = newApiKey()
        const keyHash = hashApiKey(secret)
        const spendLimit = flags.spendLimit === undefined ? 0n : parseUnits(flags.spendLimit, 18, '--spend-limit')
        const expiresAt = parseExpiry(flags.expires)
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
    .option('--node <url>', 'node URL')
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
    .option('--node <url>', 'node URL')
    .option('--json', 'print JSON')
    .action(
      action(async (key: string, flags: { node?: string; json?: boolean }) => {
        const keyHash = isHex(key, 32) ? key.toLowerCase() : hashApiKey(key)
        const k = await new NodeClient(flags.node).get(`/v1/apikeys/${keyHash}`)
        if (flags.json) return printJson(k)
        printLines(
          `API key ${keyHash}${k.revoked ? '  REVOKED' : ''}`,
          `  owner ${k.owner}  label ${JSON.stringify(k.label)}`,
          `  spent ${formatUnits(parseUint(k.spent, 256, 'spent'))} SIN of ${k.spendLimit === '0' ? 'no limit' : formatUnits(BigInt(k.spendLimit)) + ' SIN'} in ${k.calls} calls; expires ${k.expiresAt === '0' ? 'never' : new Date(Number(k.expiresAt)).toISOString()}`,
        )
      }),
    )
  return cmd
}
