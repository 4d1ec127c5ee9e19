/** `sinew node` (run a sequencer or, with --follow, a replica) and `sinew dev` (init if needed, then run). */
import { Command } from 'commander'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { loadConfig, parseUint, SinewError, type NodeConfig } from '../../core/index.ts'
import { formatUnits } from '../../core/index.ts'
import { genesisHash, parseGenesis, type Genesis } from '../../ledger/index.ts'
import { devAccounts } from '../../ledger/keys/index.ts'
import { servingWorkers, startNode, type RunningNode } from '../../server/index.ts'
import { NodeClient } from '../../client/index.ts'
import { initDataDir, loadSequencerKey, readGenesisFile, writeGenesisFile } from '../data-dir.ts'
import { printLines, reportError } from '../output.ts'
import { runDevSeed } from '../../datanets/index.ts'
import type { DevSettle } from './settle.ts'
import { DEMO_DATANET_NAME, DEMO_DATANET_VERSION, DEMO_MODEL, DEV_API_KEY, setupDemoModel, type DemoModelSetup } from './model.ts'

type NodeFlags = {
  dataDir?: string
  store?: string
  port?: string
  host?: string
  follow?: string
  config?: string
  logLevel?: string
  allowedHosts?: string
  allowedOrigins?: string
  trustProxy?: string
  workers?: string
  failover?: boolean
}

function nodeConfig(flags: NodeFlags, more: Record<string, unknown> = {}): NodeConfig {
  return loadConfig({
    flags: {
      ...more,
      dataDir: flags.dataDir,
      store: flags.store,
      port: flags.port,
      host: flags.host,
      follow: flags.follow,
      logLevel: flags.logLevel,
      allowedHosts: flags.allowedHosts,
      allowedOrigins: flags.allowedOrigins,
      trustProxy: flags.trustProxy,
      workers: flags.workers,
      failover: flags.failover,
    },
    configFile: flags.config,
  })
}

async function replicaGenesis(config: NodeConfig): Promise<Genesis> {
  const local = readGenesisFile(config.dataDir)
  if (local) return local
  const { genesis, hash } = await new NodeClient(config.follow).get<{ genesis: unknown; hash: string }>('/v1/genesis')
  const parsed = parseGenesis(genesis)
  if (genesisHash(parsed) !== hash) throw new SinewError({ code: 'genesis_mismatch', message: 'The leader served a genesis whose hash does not match' })
  writeGenesisFile(config.dataDir, parsed)
  process.stderr.write(`replica: took genesis ${hash} from ${config.follow} (pin it by comparing with a trusted source)\n`)
  return parsed
}

/**
 * A block the sequencer cannot make durable stops it (it logs why, at fatal): the process
 * ends with code 70 (EX_SOFTWARE), and a restart resumes from what is on disk.
 */
const exitOnFatal = (): void => void setImmediate(() => process.exit(70))

/** `afterClose` runs once the node has closed on SIGINT/SIGTERM, before the process exits (sinew dev --settle stops anvil there). */
export async function runNode(given: NodeConfig, o: { afterClose?: () => Promise<void> } = {}): Promise<RunningNode> {
  // Serving workers by default: one per core (a replica serves from one process).
  const config = { ...given, workers: servingWorkers(given, availableParallelism()) }
  let running: RunningNode
  if (config.follow) {
    const genesis = await replicaGenesis(config)
    running = await startNode({ config, genesis, onFatal: exitOnFatal })
  } else {
    const genesis = readGenesisFile(config.dataDir)
    if (!genesis) {
      throw new SinewError({
        code: 'not_initialised',
        message: `${config.dataDir} has no genesis.json`,
        hint: 'Run `sinew init` (or `sinew init --dev`) first, or `npm start` for a dev node.',
      })
    }
    running = await startNode({ config, genesis, sequencerKey: await loadSequencerKey(config.dataDir, genesis), onFatal: exitOnFatal })
  }
  const stop = async () => {
    await running.close()
    await o.afterClose?.()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return running
}

/**
 * Like `action`, but a node that fails to start ends the process: whatever it had opened
 * is closed by then, and nothing should keep a half-started node alive.
 */
function serve<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args)
    } catch (e) {
      reportError(e, false)
      process.exit(1)
    }
  }
}

const nodeOptions = (cmd: Command): Command =>
  cmd
    .option('--data-dir <dir>', 'data directory (default ~/.sinew/dev, or SINEW_DATA_DIR)')
    .option('--store <url>', 'where the chain is stored: sqlite (default, the data dir) or postgres://user:password@host:port/database (or SINEW_STORE)')
    .option('--port <port>', 'HTTP port (default 8545)')
    .option('--host <host>', 'HTTP host (default 127.0.0.1)')
    .option('--allowed-hosts <names>', 'comma-separated names the node answers to besides localhost and IP addresses (a public node lists its own; * for any)')
    .option('--allowed-origins <origins>', 'comma-separated web origins whose pages may call the node (CORS), e.g. https://app.example.org; * for any')
    .option(
      '--trust-proxy <addresses>',
      'comma-separated peers whose X-Forwarded-For is believed (addresses, CIDRs, loopback, private): your reverse proxies and replicas',
    )
    .option('--config <file>', 'config file (default <data-dir>/config.json)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('--workers <n>', 'serving processes sharing the HTTP port besides the writer (default: the number of cores; 0: one process)')
    .option(
      '--failover',
      'on a PostgreSQL store shared with other nodes: stand by if another node is the sequencer (serve, forward writes, take over if it goes) instead of refusing to start (or SINEW_FAILOVER)',
    )

export function nodeCommand(): Command {
  return nodeOptions(new Command('node').description('run a node: the sequencer of an initialised data dir, or a replica with --follow'))
    .option('--follow <url>', 'follow the node at URL as a read-only replica that re-executes and checks every block')
    .action(
      serve(async (flags: NodeFlags) => {
        const config = nodeConfig(flags)
        const running = await runNode(config)
        const g = running.node.chain.genesis
        printLines(
          `sinew ${config.follow ? 'replica of ' + config.follow : 'node'} on ${running.url}${running.node.readOnly && !config.follow ? ' (standby: another node is the sequencer)' : ''}  (chain ${g.network}, chainId ${g.chainId}${g.insecure ? ', INSECURE dev keys' : ''})`,
          `  data ${config.dataDir}  height ${running.node.chain.head.height}  ${
            running.workers
              ? `serving workers ${running.workers.status().length} (pids ${running.workers
                  .status()
                  .map((w) => w.pid)
                  .join(', ')})`
              : 'one process'
          }`,
        )
      }),
    )
}

export function devCommand(): Command {
  return nodeOptions(new Command('dev').description('run a local dev node (initialises an INSECURE dev chain with funded public keys if needed)'))
    .option('--settle', 'also run a local EVM chain (anvil) with the settlement contracts and a dev token deployed, and settle on it')
    .option('--settle-port <port>', "the local EVM chain's port with --settle (default: one the OS picks)")
    .action(
      serve(async (flags: NodeFlags & { settle?: boolean; settlePort?: string }) => {
        let config = nodeConfig(flags)
        if (!existsSync(`${config.dataDir}/genesis.json`)) await initDataDir({ dataDir: config.dataDir, dev: true })
        const genesis = readGenesisFile(config.dataDir)!
        if (!genesis.insecure)
          throw new SinewError({ code: 'not_dev', message: `${config.dataDir} is not a dev chain`, hint: 'Use `sinew node` for it, or another --data-dir.' })
        const log = (line: string) => process.stderr.write(line + '\n')
        let settle: DevSettle | undefined
        if (flags.settle) {
          const port = flags.settlePort === undefined ? undefined : Number(parseUint(flags.settlePort, 16, '--settle-port'))
          // Loaded only with --settle: plain `sinew dev` and `sinew node` do not pay for viem's contract code.
          const { startDevSettle } = await import('./settle.ts')
          settle = await startDevSettle({ dataDir: config.dataDir, genesis, port, log })
          // anvil ends with the node, however the node ends (it keeps its state in the data dir).
          const anvil = settle.anvil.process
          process.once('exit', () => anvil.kill('SIGTERM'))
          config = nodeConfig(flags, settle.settings)
        }
        const running = await runNode(config)
        // Fresh: nothing ever happened on this chain (a new data dir, or one whose first start
        // failed before the seed, say on a busy port). The seed itself resumes if cut short.
        const fresh = running.node.chain.head.height === 0n
        // The demo: the node answers from here on; the SOTU Datanet seeds through signed txs
        // (fresh data dir, or resuming a cut-short seed), then the demo model is registered over
        // its version 1 (RegisterModel needs the version on the ledger) and its index is ready.
        // Where the node is, before the seed (which can take a while on a fresh data dir).
        log(`sinew dev node on ${running.url}; setting up the demo…`)
        const settleLines = settle ? (await import('./settle.ts')).devSettleLines(settle, running.url) : []
        if (settle) log(settleLines.join('\n'))
        const t0 = Date.now()
        await runDevSeed(running.node, running.datanets, { dataDir: config.dataDir, fresh, ownerKey: devAccounts(10)[8].privateKey, print: log })
        // The node is up: a demo that cannot be set up (a dev key's nonce raced by a script, say)
        // is reported, and the node keeps running.
        const demo: DemoModelSetup = await setupDemoModel(running.url, { log }).catch((e: unknown) => ({
          ok: false as const,
          reason: (e as Error).message.split('\n')[0],
        }))
        if (demo.ok)
          log(
            `demo: ${DEMO_MODEL} over ${DEMO_DATANET_NAME}@${DEMO_DATANET_VERSION} (${demo.ref}), index ${demo.build}; demo setup took ${((Date.now() - t0) / 1000).toFixed(1)} s`,
          )
        const demoNote = !demo.ok
          ? [`      (not available on this data dir: ${demo.reason}; use a fresh --data-dir)`]
          : demo.build !== 'ready'
            ? [
                `      (its index is still ${demo.build}; calls answer 503 model_not_ready until GET ${running.url}/v1/datanets/${demo.ref.replace(/@.*$/, '')}/versions/${DEMO_DATANET_VERSION} says ready)`,
              ]
            : []
        const accounts = devAccounts(10)
        printLines(
          `Sinew dev node on ${running.url}  (chainId ${genesis.chainId}, data ${config.dataDir}, height ${running.node.chain.head.height})`,
          `INSECURE: the dev accounts below use keys from the public test mnemonic. Never send them anything of value.`,
          `Dev accounts (${formatUnits(genesis.alloc[0]?.balance ?? 0n)} SIN each at genesis):`,
          ...accounts.map((a) => `  (${a.index}) ${a.address}  key ${a.privateKey}`),
          ``,
          `Try:  npx sinew tx transfer --dev-account 0 --to ${accounts[1].address} --amount 1.5 --node ${running.url}`,
          `      curl ${running.url}/v1/accounts/${accounts[1].address}     (API docs: ${running.url}/openapi.json)`,
          ``,
          `Models (OpenAI-compatible, base URL ${running.url}/v1): ${DEMO_MODEL}, an infinity-gram model over the "${DEMO_DATANET_NAME}" Datanet, version ${DEMO_DATANET_VERSION}.`,
          ...demoNote,
          `Dev API key of account 0 (INSECURE, public): ${DEV_API_KEY}`,
          `      curl ${running.url}/v1/chat/completions -H 'Authorization: Bearer ${DEV_API_KEY}' -H 'Content-Type: application/json' -d '{"model": "${DEMO_MODEL}", "messages": [{"role": "user", "content": "The state of the Union is"}], "max_tokens": 40}'`,
          `      npx sinew chat ${DEMO_MODEL} "The state of the Union is" --api-key ${DEV_API_KEY} --node ${running.url}`,
          `      node -e "const OpenAI=require('openai').default; new OpenAI({baseURL:'${running.url}/v1', apiKey:'${DEV_API_KEY}'}).chat.completions.create({model:'${DEMO_MODEL}', messages:[{role:'user', content:'The state of the Union is'}], max_tokens:40}).then(r=>console.log(r.choices[0].message.content, r.sinew))"`,
          ...(settleLines.length ? ['', ...settleLines] : []),
        )
      }),
    )
}
