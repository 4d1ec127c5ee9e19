/** `sinew model register|update|list|show`: models served through the gateway. */
import { Command } from 'commander'
import { formatUnits, keccak256, parseUnits, printable, SinewError } from '../../core/index.ts'
import { SOTU_NAME } from '../../datanets/index.ts'
import { devAccounts } from '../../ledger/keys/index.ts'
import { BUILTIN_INFINIGRAM, hashApiKey } from '../../models/index.ts'
import { NodeClient } from '../../client/index.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'
import { nodeOption } from '../options.ts'

type ModelFlags = SignerFlags & { backend: string; datanet?: string[]; price: string; share: string; description: string; node?: string; json?: boolean }

const collect = (v: string, acc: string[] = []) => [...acc, v]

function modelMessage(name: string, f: ModelFlags) {
  const share = Number(f.share)
  if (!Number.isInteger(share) || share < 0 || share > 10_000) {
    throw new SinewError({ code: 'invalid_field', message: '--share must be basis points from 0 to 10000', details: { field: '--share' } })
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
    .addOption(nodeOption())
    .option('--json', 'print JSON')

type Refusal = { code: string; reason: string }

/**
 * Whether the node the model was registered on refuses to serve it (GET /v1/models/:name,
 * its `sinew.refusal`), warned on stderr: the tx stands, but calls there would get 403.
 * Nothing is said if the node cannot tell (an older node, or none serving the OpenAI routes).
 */
async function warnIfRefused(client: NodeClient, name: string): Promise<Refusal | null> {
  let refusal: Refusal | null = null
  try {
    refusal = (await client.get<{ sinew?: { refusal?: Refusal | null } }>(`/v1/models/${encodeURIComponent(name)}`)).sinew?.refusal ?? null
  } catch {
    return null
  }
  if (refusal)
    process.stderr.write(
      `warning: the node at ${client.url} refuses to serve ${name}: ${refusal.reason} (${refusal.code}). Calls there get 403; change the backend with \`sinew model update\`, or serve it from a node that allows it.\n`,
    )
  return refusal
}

export function modelCommand(): Command {
  const cmd = new Command('model').description('models served through the OpenAI-compatible gateway')
  modelOptions(cmd.command('register').description('sign RegisterModel').argument('<name>')).action(
    action(async (name: string, flags: ModelFlags) => {
      const client = new NodeClient(flags.node)
      const { envelope, ack } = await signAndSubmit(client, await signerKey(flags), 'RegisterModel', modelMessage(name, flags))
      if (!flags.json) printLines(`Registered model ${name} (owner ${envelope.from}) in block ${ack.height}`, `  tx ${ack.hash}`)
      const refusal = await warnIfRefused(client, name)
      if (flags.json) printJson({ ...ack, owner: envelope.from, refusal })
    }),
  )
  modelOptions(cmd.command('update').description('sign UpdateModel (a new version of the terms)').argument('<name>'))
    .option('--inactive', 'stop serving the model')
    .action(
      action(async (name: string, flags: ModelFlags & { inactive?: boolean }) => {
        const client = new NodeClient(flags.node)
        const { ack } = await signAndSubmit(client, await signerKey(flags), 'UpdateModel', {
          ...modelMessage(name, flags),
          active: !flags.inactive,
        })
        if (!flags.json) printLines(`Updated model ${name} to version ${ack.receipt.result.version} in block ${ack.height}`)
        const refusal = flags.inactive ? null : await warnIfRefused(client, name)
        if (flags.json) printJson({ ...ack, refusal })
      }),
    )
  cmd
    .command('list')
    .addOption(nodeOption())
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
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, flags: { node?: string; json?: boolean }) => {
        const client = new NodeClient(flags.node)
        const { models } = await client.get('/v1/registry/models')
        const m = models.find((x: any) => x.name === name)
        if (!m) throw new SinewError({ code: 'model_not_found', message: `No model named ${name}`, details: { name } })
        const earnings = await client.get(`/v1/accounts/${m.owner}/earnings`)
        if (flags.json) return printJson({ ...m, ownerEarnings: earnings.byModel[name] ?? '0' })
        printLines(
          `${m.name} v${m.version} (${m.active ? 'active' : 'inactive'})  owner ${m.owner}`,
          m.description ? `  ${printable(m.description, { multiline: true })}` : '',
          `  backend ${m.backend.replace(/#.*$/, '')}`,
          `  Datanet versions: ${m.datanets.join(', ') || '(none: nothing is traced)'}`,
          `  price ${formatUnits(BigInt(m.pricePerMillion))} SIN per million output tokens; contributors get ${m.contributorShareBps / 100} % x coverage of the fee after the protocol fee`,
          `  owner earned ${formatUnits(BigInt(earnings.byModel[name] ?? '0'))} SIN from it`,
        )
      }),
    )
  return cmd
}

/**
 * The dev demo: `sotu-infinigram`, a built-in ∞-gram model over version 1 of the "State of
 * the Union" Datanet that `sinew dev` seeds (src/datanets/seed.ts), and a public dev API key.
 */
export const DEMO_MODEL = 'sotu-infinigram'
export const DEMO_DATANET_NAME = SOTU_NAME
export const DEMO_DATANET_VERSION = 1
/** INSECURE and public, like the dev keys: granted by dev account 0 on dev chains only. */
export const DEV_API_KEY = 'sk-sinew-dev-insecure-' + keccak256('sinew dev api key').slice(2, 42)

export type DemoModelSetup =
  /** The model is registered over `ref` (`<datanet id>@1`); `build` is its index's state when setup returned. */
  { ok: true; ref: string; build: 'ready' | 'queued' | 'building' | 'failed' } | { ok: false; reason: string }

/**
 * Makes sure a dev node serves the demo model, idempotently: finds the seeded SOTU Datanet's
 * version 1 on the node, registers the model over it (owner: dev account 1; a model left
 * over from an older dev chain that names another ref gets an UpdateModel), grants
 * DEV_API_KEY to dev account 0, then waits (up to `readyTimeoutMs`, default 120 s) for the
 * version's index to be ready; until it is, the gateway answers `backend_unavailable`.
 * Returns `ok: false` when the Datanet or its version is not on the ledger (seed not run).
 */
export async function setupDemoModel(nodeUrl: string, o: { log?: (line: string) => void; readyTimeoutMs?: number } = {}): Promise<DemoModelSetup> {
  const log = o.log ?? (() => {})
  const client = new NodeClient(nodeUrl)
  const notFound = (e: unknown) => e instanceof SinewError && (e.code === 'datanet_not_found' || e.code === 'version_not_found')
  let id: string
  try {
    id = (await client.get(`/v1/datanets/${encodeURIComponent(DEMO_DATANET_NAME)}`)).id
    await client.get(`/v1/datanets/${id}/versions/${DEMO_DATANET_VERSION}`)
  } catch (e) {
    if (notFound(e))
      return { ok: false, reason: `the "${DEMO_DATANET_NAME}" Datanet has no version ${DEMO_DATANET_VERSION} on this chain (it is seeded on a fresh data dir)` }
    throw e
  }
  const ref = `${id}@${DEMO_DATANET_VERSION}`
  const [dev0, dev1] = devAccounts(2)
  const message = {
    name: DEMO_MODEL,
    description: `Infinity-gram language model over the "${DEMO_DATANET_NAME}" Datanet v${DEMO_DATANET_VERSION} (233 addresses, 1790-2016); presidents are the contributors`,
    backend: BUILTIN_INFINIGRAM,
    datanets: [ref],
    pricePerMillion: (10n * 10n ** 18n).toString(),
    contributorShareBps: '5000',
  }
  const { models } = await client.get('/v1/registry/models')
  const m = models.find((x: any) => x.name === DEMO_MODEL)
  if (!m) await signAndSubmit(client, dev1.privateKey, 'RegisterModel', message)
  else if ((m.datanets.join('\n') !== ref || !m.active) && m.owner === dev1.address) {
    log(`demo: pointing ${DEMO_MODEL} at ${DEMO_DATANET_NAME}@${DEMO_DATANET_VERSION} (${ref})`)
    await signAndSubmit(client, dev1.privateKey, 'UpdateModel', { ...message, active: true })
  }
  const keyHash = hashApiKey(DEV_API_KEY)
  const known = await client.get(`/v1/apikeys/${keyHash}`).then(
    () => true,
    () => false,
  )
  if (!known) await signAndSubmit(client, dev0.privateKey, 'GrantApiKey', { keyHash, label: 'dev (INSECURE, public)', spendLimit: '0', expiresAt: '0' })

  const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000)
  let said = ''
  for (;;) {
    const build = (await client.get(`/v1/datanets/${id}/versions/${DEMO_DATANET_VERSION}`)).build as {
      state: 'ready' | 'queued' | 'building' | 'failed'
      done?: number
      total?: number
    }
    if (build.state === 'ready' || build.state === 'failed' || Date.now() >= deadline) return { ok: true, ref, build: build.state }
    const line = `demo: waiting for the index of ${DEMO_DATANET_NAME}@${DEMO_DATANET_VERSION} (${build.state})`
    if (line !== said) log(line)
    said = line
    await new Promise((r) => setTimeout(r, 200))
  }
}
