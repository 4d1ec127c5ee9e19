/**
 * `sinew apikey new|list|show|update|revoke`: the key is made here; only its keccak256 goes on
 * the ledger (GrantApiKey, or GrantApiKeyWithControls when `new` is given controls). `update` signs a new grant of the key's terms (UpdateApiKey): what a
 * flag does not change is carried over from the key's record.
 */
import { Command } from 'commander'
import { formatUnits, isHex, parseUint, parseUnits, printable, SinewError } from '../../core/index.ts'
import { privateKeyToAccount } from 'viem/accounts'
import { BUDGET_WINDOWS, hashApiKey, isBudgetWindow, newApiKey, type ApiKeyRecord } from '../../models/index.ts'
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

/** A per-minute or concurrency limit: a whole number from 1 (0 would read as "none" and is refused, like --spend-limit 0). */
function parseLimit(v: string, flag: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 0xffffffff) {
    throw new SinewError({
      code: 'invalid_field',
      message: `${flag} must be a whole number from 1 to 4294967295, got ${JSON.stringify(v)}`,
      details: { field: flag, value: v },
      hint: `For no limit pass --no-${flag.slice(2)}.`,
    })
  }
  return Number(v)
}

/** `--budget day=2.5`: a budget per UTC day, week or month, in SIN, more than 0. */
function parseBudget(v: string, all: Record<string, string> = {}): Record<string, string> {
  const m = /^([a-z]+)=(.+)$/.exec(v)
  if (!m || !isBudgetWindow(m[1])) {
    throw new SinewError({
      code: 'invalid_field',
      message: `--budget must be WINDOW=SIN with WINDOW one of ${BUDGET_WINDOWS.join(', ')}, got ${JSON.stringify(v)}`,
      details: { field: '--budget', value: v },
      hint: 'E.g. --budget day=2.5 --budget month=40',
    })
  }
  const amount = parseUnits(m[2], 18, '--budget')
  if (amount === 0n)
    throw new SinewError({
      code: 'invalid_field',
      message: `--budget ${v}: a budget must be more than 0`,
      details: { field: '--budget', value: v },
      hint: 'For no budget pass --no-budgets.',
    })
  return { ...all, [m[1]]: amount.toString() }
}

const collect = (v: string, all: string[] = []) => [...all, v]
const keyHashOf = (key: string) => (isHex(key, 32) ? key.toLowerCase() : hashApiKey(key))

/** The human lines of a key record. */
function describeKey(k: ApiKeyRecord): string[] {
  const c = k.controls
  const budgets = Object.entries(c?.budgets ?? {}).map(([w, a]) => `${formatUnits(BigInt(a!))} SIN per ${w}`)
  return [
    `API key ${k.keyHash}${k.revoked ? '  REVOKED' : ''}`,
    `  owner ${k.owner}  label ${JSON.stringify(printable(k.label))}`,
    `  spent ${formatUnits(parseUint(k.spent, 256, 'spent'))} SIN of ${k.spendLimit === '0' ? 'no limit' : formatUnits(BigInt(k.spendLimit)) + ' SIN'} in ${k.calls} calls; expires ${k.expiresAt === '0' ? 'never' : new Date(Number(k.expiresAt)).toISOString()}`,
    `  models ${c?.models.length ? c.models.join(', ') : 'all'}; requests/min ${c?.requestsPerMinute ?? 'no limit'}; tokens/min ${c?.tokensPerMinute ?? 'no limit'}; concurrent ${c?.concurrentCalls ?? 'node default'}; budgets ${budgets.length ? budgets.join(', ') : 'none'}`,
  ]
}

type UpdateFlags = SignerFlags & {
  label?: string
  spendLimit?: string | false
  expires?: string
  expiry?: boolean
  model?: string[]
  allModels?: boolean
  rpm?: string | false
  tpm?: string | false
  concurrency?: string | false
  budget?: Record<string, string>
  budgets?: boolean
  node?: string
  json?: boolean
}

/** The UpdateApiKey (or GrantApiKeyWithControls) message: the key's terms, with what the flags change. */
function updatedTerms(k: Pick<ApiKeyRecord, 'keyHash' | 'label' | 'spendLimit' | 'expiresAt' | 'controls'>, f: UpdateFlags) {
  const c = k.controls ?? { models: [], budgets: {} }
  const limit = (v: string | false | undefined, flag: string, current: number | undefined) =>
    v === false ? undefined : v === undefined ? current : parseLimit(v, flag)
  const limits = {
    requestsPerMinute: limit(f.rpm, '--rpm', c.requestsPerMinute),
    tokensPerMinute: limit(f.tpm, '--tpm', c.tokensPerMinute),
    concurrentCalls: limit(f.concurrency, '--concurrency', c.concurrentCalls),
  }
  if (f.model && f.allModels)
    throw new SinewError({
      code: 'invalid_field',
      message: '--model and --all-models contradict each other',
      details: { field: '--model' },
      hint: 'Pass one of them.',
    })
  const budgets = f.budgets === false ? {} : { ...c.budgets, ...f.budget }
  return {
    keyHash: k.keyHash,
    label: f.label ?? k.label,
    spendLimit: (f.spendLimit === undefined ? BigInt(k.spendLimit) : parseSpendLimit(f.spendLimit)).toString(),
    expiresAt: (f.expires === undefined && f.expiry !== false ? BigInt(k.expiresAt) : parseExpiry(f.expires, f.expiry === false)).toString(),
    models: f.allModels ? [] : (f.model ?? c.models),
    limits: Object.entries(limits)
      .filter(([, v]) => v !== undefined)
      .map(([name, value]) => ({ name, value: String(value) })),
    budgets: BUDGET_WINDOWS.filter((w) => budgets[w] !== undefined).map((w) => ({ window: w, amount: budgets[w]! })),
  }
}

export function apikeyCommand(): Command {
  const cmd = new Command('apikey').description('API keys for the OpenAI-compatible gateway, bound to your account')
  withSigner(
    cmd
      .command('new')
      .description('make a random key locally and sign GrantApiKey with its hash (GrantApiKeyWithControls when given controls); prints the key once'),
  )
    .option('--label <text>', 'a name for the key', '')
    .option('--spend-limit <sin>', 'most this key may spend, in SIN, more than 0 (default: no limit)')
    .option('--no-spend-limit', 'no spend limit (the default, said explicitly)')
    .option('--expires <when>', 'a duration (30d, 12h, 15m, 90s) or a time in ms since the epoch, more than 0 (default: never)')
    .option('--no-expiry', 'the key never expires (the default, said explicitly)')
    .option('--model <name>', 'a model the key may call (repeat; default: all)', collect)
    .option('--rpm <n>', 'requests per minute, at least 1 (default: no limit)')
    .option('--tpm <n>', 'tokens (prompt + max_tokens) per minute, at least 1 (default: no limit)')
    .option('--concurrency <n>', 'calls in flight at once, at least 1 (default: the node’s cap)')
    .option('--budget <window=sin>', `a budget per UTC ${BUDGET_WINDOWS.join(' / ')}, e.g. day=2.5 (repeat)`, parseBudget)
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (flags: UpdateFlags & { label: string; expiry: boolean }) => {
        const spendLimit = parseSpendLimit(flags.spendLimit)
        const expiresAt = parseExpiry(flags.expires, flags.expiry === false)
        const secret = newApiKey()
        const keyHash = hashApiKey(secret)
        const client = new NodeClient(flags.node)
        const grant = { keyHash, label: flags.label, spendLimit: spendLimit.toString(), expiresAt: expiresAt.toString() }
        // Controls given: one signed grant carries them, so the key is never usable without them.
        const controlled =
          flags.model !== undefined || flags.rpm !== undefined || flags.tpm !== undefined || flags.concurrency !== undefined || flags.budget !== undefined
        const { envelope, ack } = controlled
          ? await signAndSubmit(
              client,
              await signerKey(flags),
              'GrantApiKeyWithControls',
              updatedTerms(grant, { ...flags, spendLimit: undefined, expires: undefined }),
            )
          : await signAndSubmit(client, await signerKey(flags), 'GrantApiKey', grant)
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
        const keyHash = keyHashOf(key)
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
        const k = await new NodeClient(flags.node).get(`/v1/apikeys/${keyHashOf(key)}`)
        if (flags.json) return printJson(k)
        printLines(...describeKey(k))
      }),
    )
  cmd
    .command('list')
    .description("an account's keys with their controls and spend (--owner, or the account of --dev-account / --from)")
    .option('--owner <address>', 'the account')
    .option('--dev-account <n>', 'the account of dev key n (INSECURE, dev networks)')
    .option('--from <address>', 'the account')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (flags: { owner?: string; devAccount?: string; from?: string; node?: string; json?: boolean }) => {
        const owner = flags.owner ?? flags.from ?? (flags.devAccount !== undefined ? privateKeyToAccount(await signerKey(flags)).address : undefined)
        if (!owner)
          throw new SinewError({
            code: 'missing_field',
            message: 'Say whose keys: --owner <address> (or --dev-account N, --from A)',
            details: { field: '--owner' },
          })
        const { keys } = await new NodeClient(flags.node).get(`/v1/apikeys?owner=${encodeURIComponent(owner.toLowerCase())}`)
        if (flags.json) return printJson({ owner: owner.toLowerCase(), keys })
        if (keys.length === 0) return printLines(`No API keys granted by ${owner}`)
        printLines(...keys.flatMap((k: ApiKeyRecord) => describeKey(k)))
      }),
    )
  withSigner(cmd.command('update').description("sign a new grant of a key's terms (UpdateApiKey); what no flag changes is kept"))
    .argument('<key>', 'the key (sk-sinew-…) or its 0x hash')
    .option('--label <text>', 'a new name for the key')
    .option('--spend-limit <sin>', 'most the key may spend in its life, in SIN, more than 0')
    .option('--no-spend-limit', 'no lifetime spend limit')
    .option('--expires <when>', 'a duration (30d, 12h, 15m, 90s) from now or a time in ms since the epoch')
    .option('--no-expiry', 'the key never expires')
    .option('--model <name>', 'a model the key may call (repeat; replaces the list; default: all)', collect)
    .option('--all-models', 'the key may call every model')
    .option('--rpm <n>', 'requests per minute, at least 1')
    .option('--no-rpm', 'no requests-per-minute limit')
    .option('--tpm <n>', 'tokens (prompt + max_tokens) per minute, at least 1')
    .option('--no-tpm', 'no tokens-per-minute limit')
    .option('--concurrency <n>', 'calls in flight at once, at least 1 (the node may cap it lower)')
    .option('--no-concurrency', "no limit of the key's own (the node's cap applies)")
    .option('--budget <window=sin>', `a budget per UTC ${BUDGET_WINDOWS.join(' / ')}, e.g. day=2.5 (repeat)`, parseBudget)
    .option('--no-budgets', 'remove every budget')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (key: string, flags: UpdateFlags) => {
        const client = new NodeClient(flags.node)
        const current: ApiKeyRecord = await client.get(`/v1/apikeys/${keyHashOf(key)}`)
        const message = updatedTerms(current, flags)
        const { ack } = await signAndSubmit(client, await signerKey(flags), 'UpdateApiKey', message)
        const k: ApiKeyRecord = await client.get(`/v1/apikeys/${current.keyHash}`)
        if (flags.json) return printJson({ ...k, tx: ack.hash, height: ack.height })
        printLines(...describeKey(k), `  tx ${ack.hash} in block ${ack.height}`)
      }),
    )
  return cmd
}
