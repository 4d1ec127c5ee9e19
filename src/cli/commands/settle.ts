/**
 * `sinew settle deploy|deposit|withdraw|claim|status`: settlement on an EVM chain
 * (docs/settlement.md). EVM keys are the same as Sinew keys (--from a stored key file, or
 * --dev-account n on a local dev chain); the EVM endpoint is --rpc (or
 * SINEW_SETTLEMENT_RPC_URL) and the contract --contract (or SINEW_SETTLEMENT_CONTRACT, or the
 * one the node names in its /v1/status). Only standard JSON-RPC is used: any EVM endpoint works.
 */
import { Command, Option } from 'commander'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { defaultDataDir, formatUnits, parseUint, readConfigFile, SinewError, writeFileDurable, type Hex } from '../../core/index.ts'
import { addressOf, parseAddress, ZERO_ADDRESS, type Address, type Genesis } from '../../ledger/index.ts'
import { NodeClient } from '../../client/index.ts'
import {
  claimWithdrawal,
  connectEvm,
  deployDevSettlement,
  deploySettlement,
  depositKey,
  depositTokens,
  genesisMint,
  readContractState,
  startAnvil,
  type Anvil,
  type EvmClients,
  type SettlementDeployment,
} from '../../settlement/index.ts'
import { devAccounts } from '../../ledger/keys/index.ts'
import { readGenesisFile } from '../data-dir.ts'
import { action, printJson, printLines } from '../output.ts'
import { nodeOption } from '../options.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'

/** EVM chain ids of local dev chains (anvil, hardhat, ganache): the only ones INSECURE dev keys may be used on. */
const DEV_EVM_CHAIN_IDS = new Set([31337n, 1337n])
/** Dev tokens minted to each dev account by a dev deploy, to deposit. */
const DEV_MINT_EACH = 1000n * 10n ** 18n
/** A week without a checkpoint before anyone may escape (the default of `settle deploy`). */
const DEFAULT_ESCAPE_DELAY = 7n * 24n * 3600n

type EvmFlags = { rpc?: string; contract?: string; node?: string; json?: boolean }

const withEvm = (c: Command): Command =>
  c
    .option('--rpc <url>', 'EVM JSON-RPC endpoint (default: SINEW_SETTLEMENT_RPC_URL)')
    .option('--contract <address>', 'the SinewSettlement contract (default: SINEW_SETTLEMENT_CONTRACT, else the one the node names)')
    .addOption(nodeOption())
    .option('--json', 'print JSON')

/** Progress for a person on stderr; nothing with --json (scripts read stdout). */
const progress = (json: boolean | undefined) => (line: string) => {
  if (!json) process.stderr.write(line + '\n')
}

function rpcUrl(flags: { rpc?: string }): string {
  const url = flags.rpc ?? process.env.SINEW_SETTLEMENT_RPC_URL
  if (!url)
    throw new SinewError({
      code: 'missing_field',
      message: 'Name the EVM chain: --rpc <url> (or SINEW_SETTLEMENT_RPC_URL)',
      details: { field: '--rpc' },
      hint: '`sinew dev --settle` prints the URL of its local chain.',
    })
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new SinewError({ code: 'invalid_field', message: `--rpc must be an http(s) URL, got ${JSON.stringify(url)}`, details: { field: '--rpc' } })
  return url
}

/** The node's settlement block of /v1/status (undefined when the node settles nowhere). */
async function nodeSettlement(node: NodeClient): Promise<Record<string, any> | undefined> {
  return (await node.get('/v1/status')).settlement
}

/** The contract: --contract, SINEW_SETTLEMENT_CONTRACT, or the one the node watches. */
async function contractAddress(flags: EvmFlags): Promise<Address> {
  const given = flags.contract ?? process.env.SINEW_SETTLEMENT_CONTRACT
  if (given) return parseAddress(given, '--contract')
  const s = await nodeSettlement(new NodeClient(flags.node))
  if (!s)
    throw new SinewError({
      code: 'settlement_not_configured',
      message: 'The node settles on no EVM chain, and no --contract was named',
      details: { node: new NodeClient(flags.node).url },
      hint: 'Pass --contract, or start the node with settlementRpcUrl and settlementContract (`sinew settle deploy` writes them).',
    })
  return s.contract as Address
}

/** The EVM key of --from / --dev-account; dev keys only on a local dev chain. */
async function evmKey(flags: SignerFlags, evm: EvmClients): Promise<Hex> {
  if (flags.devAccount !== undefined && !DEV_EVM_CHAIN_IDS.has(evm.chainId)) {
    throw new SinewError({
      code: 'dev_key_on_live_chain',
      message: `--dev-account keys are public; EVM chain ${evm.chainId} is not a local dev chain (31337 or 1337)`,
      details: { field: '--dev-account', evmChainId: evm.chainId.toString() },
      hint: 'Use --from <address> with a key from `sinew keys new|import`.',
    })
  }
  return signerKey(flags)
}

/**
 * An amount of SIN (= tokens, 18 decimals) from the command line: a decimal like 1.5, or with
 * `units` an integer of base units. Zero, negative, malformed and over-precise amounts are refused.
 */
export function parseAmount(text: string, units = false): bigint {
  const field = 'AMOUNT'
  const bad = (why: string, hint?: string) =>
    new SinewError({ code: 'invalid_field', message: `${field} ${why}: ${JSON.stringify(text)}`, details: { field, got: text }, hint })
  const t = text.trim()
  if (t.startsWith('-')) throw bad('must not be negative')
  let amount: bigint
  if (units) {
    if (!/^\d+$/.test(t))
      throw bad('must be an integer number of base units (with --units)', 'Without --units, AMOUNT is in SIN and may have decimals, e.g. 1.5.')
    amount = parseUint(t, 256, field)
  } else {
    const m = /^(\d+)(?:\.(\d+))?$/.exec(t)
    if (!m) throw bad('is not a number', 'Write it in SIN, e.g. 10 or 1.5 (or base units with --units).')
    if ((m[2] ?? '').length > 18) throw bad('has more than 18 decimals', 'One base unit is 0.000000000000000001 SIN.')
    amount = BigInt(m[1]) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0'))
    if (amount >= 2n ** 256n) throw bad('is too large')
  }
  if (amount === 0n) throw bad('must be more than 0')
  return amount
}

const nonZeroAddress = (text: string, field: string): Address => {
  const a = parseAddress(text, field)
  if (a === ZERO_ADDRESS) throw new SinewError({ code: 'invalid_field', message: `${field} must not be the zero address`, details: { field, got: text } })
  return a
}

const sin = (units: bigint | string) => `${formatUnits(BigInt(units))} SIN`

// ---------------------------------------------------------------- deploy

export type DeployAndWireOptions = {
  rpcUrl: string
  deployerKey: Hex
  genesis: Genesis
  escapeDelaySeconds: bigint
  /** An existing ERC-20 (production); without it (dev only) a SinewDevToken is deployed. */
  token?: Address
  /** Writes settlementRpcUrl, settlementContract and settlementStartBlock into this data dir's config.json. */
  configDir?: string
  log?: (line: string) => void
}

export type DeployAndWireResult = SettlementDeployment & { backing: string; mintedTo: Address[]; configFile: string | null }

/**
 * Deploys the contracts for `genesis`: on a dev genesis without a token, the dev token too,
 * backs the genesis allocation and mints dev tokens to the dev accounts; then wires the node's
 * config. Shared by `sinew settle deploy` and `sinew dev --settle`.
 */
export async function deployAndWire(o: DeployAndWireOptions): Promise<DeployAndWireResult> {
  const log = o.log ?? (() => {})
  let deployment: SettlementDeployment & { backing: bigint }
  let mintedTo: Address[] = []
  if (o.token) {
    log(`deploying SinewSettlement for token ${o.token} (sequencer ${o.genesis.sequencer})…`)
    deployment = {
      ...(await deploySettlement({
        rpcUrl: o.rpcUrl,
        deployer: o.deployerKey,
        sequencer: o.genesis.sequencer,
        escapeDelaySeconds: o.escapeDelaySeconds,
        token: o.token,
      })),
      backing: 0n,
    }
  } else {
    if (!o.genesis.insecure)
      throw new SinewError({
        code: 'missing_field',
        message: 'A production network names its settlement token: --token <ERC-20 address>',
        details: { field: '--token' },
        hint: 'The dev token is only for dev networks (a genesis marked insecure).',
      })
    mintedTo = devAccounts(10).map((a) => a.address)
    log(`deploying SinewDevToken and SinewSettlement (sequencer ${o.genesis.sequencer}), backing the genesis, minting dev tokens…`)
    deployment = await deployDevSettlement({
      rpcUrl: o.rpcUrl,
      deployer: o.deployerKey,
      genesis: o.genesis,
      escapeDelaySeconds: o.escapeDelaySeconds,
      mint: mintedTo.map((to) => ({ to, amount: DEV_MINT_EACH })),
    })
  }
  const configFile = o.configDir
    ? writeSettlementConfig(o.configDir, {
        settlementRpcUrl: o.rpcUrl,
        settlementContract: deployment.settlement,
        settlementStartBlock: Number(deployment.deployBlock),
      })
    : null
  return { ...deployment, backing: deployment.backing.toString(), mintedTo, configFile }
}

/** Merges settlement settings into `<dataDir>/config.json` (other settings kept). */
export function writeSettlementConfig(dataDir: string, settings: Record<string, unknown>): string {
  const file = join(dataDir, 'config.json')
  const current = readConfigFile(file) ?? {}
  writeFileDurable(file, JSON.stringify({ ...current, ...settings }, null, 2) + '\n')
  return file
}

function deployCommand(): Command {
  return withSigner(new Command('deploy').description('deploy the settlement contract (and, on a dev network, the dev token) and wire the node to it'))
    .option('--rpc <url>', 'EVM JSON-RPC endpoint (default: SINEW_SETTLEMENT_RPC_URL)')
    .option('--token <address>', 'the existing ERC-20 (18 decimals) to settle in; required on a production network')
    .option('--escape-delay <seconds>', 'seconds without a checkpoint before anyone may escape', String(DEFAULT_ESCAPE_DELAY))
    .option(
      '--data-dir <dir>',
      "the network's data dir: its genesis names the sequencer; its config.json gets the settlement settings (default SINEW_DATA_DIR or ~/.sinew/dev)",
    )
    .option('--no-config', 'do not write the settlement settings into <data-dir>/config.json')
    .option('--json', 'print JSON')
    .action(
      action(async (flags: SignerFlags & { rpc?: string; token?: string; escapeDelay: string; dataDir?: string; config: boolean; json?: boolean }) => {
        const url = rpcUrl(flags)
        const escapeDelaySeconds = parseUint(flags.escapeDelay, 64, '--escape-delay')
        const token = flags.token === undefined ? undefined : nonZeroAddress(flags.token, '--token')
        const dataDir = resolve(flags.dataDir ?? process.env.SINEW_DATA_DIR ?? defaultDataDir())
        const genesis = readGenesisFile(dataDir)
        if (!genesis)
          throw new SinewError({
            code: 'not_initialised',
            message: `${dataDir} has no genesis.json: the contract must know the network's sequencer`,
            details: { field: '--data-dir', dataDir },
            hint: 'Run `sinew init` (or `sinew init --dev`) first, or name the data dir with --data-dir.',
          })
        const evm = await connectEvm(url)
        const key = await evmKey(flags, evm)
        const log = progress(flags.json)
        log(`EVM chain ${evm.chainId} at ${url}, deployer ${addressOf(key)}`)
        const r = await deployAndWire({ rpcUrl: url, deployerKey: key, genesis, escapeDelaySeconds, token, configDir: flags.config ? dataDir : undefined, log })
        if (flags.json) return printJson(r)
        const owed = genesisMint(genesis)
        printLines(
          `Deployed on EVM chain ${r.chainId} (block ${r.deployBlock})`,
          `  settlement ${r.settlement}`,
          `  token      ${r.token}${r.devToken ? '  (SinewDevToken, INSECURE dev token)' : ''}`,
          `  sequencer  ${r.sequencer}   escape delay ${r.escapeDelaySeconds} s`,
          ...(r.devToken
            ? [
                `  backing    ${sin(r.backing)} minted to the contract for the genesis allocation`,
                `  dev tokens ${sin(DEV_MINT_EACH)} minted to each of the ${r.mintedTo.length} dev accounts`,
              ]
            : owed > 0n
              ? [
                  `  NOTE: the genesis allocates ${sin(owed)}: send the contract ${owed} base units of the token before the network opens, or the backing invariant fails.`,
                ]
              : []),
          r.configFile
            ? `Wrote settlementRpcUrl, settlementContract, settlementStartBlock to ${r.configFile}; (re)start the node to watch deposits and post checkpoints.`
            : `Start the node with SINEW_SETTLEMENT_RPC_URL=${url} SINEW_SETTLEMENT_CONTRACT=${r.settlement} SINEW_SETTLEMENT_START_BLOCK=${r.deployBlock}`,
        )
      }),
    )
}

// ---------------------------------------------------------------- deposit

function depositCommand(): Command {
  return withEvm(
    withSigner(new Command('deposit').description('deposit tokens into the settlement contract; the node credits the same SIN after its confirmations'))
      .argument('<amount>', 'amount in SIN = tokens (e.g. 10 or 1.5; base units with --units)')
      .option('--to <account>', 'the Sinew account credited (default: the signer)')
      .option('--units', 'AMOUNT is in base units (an integer)')
      .option('--no-wait', 'return once the deposit is mined, without waiting for the node to credit it'),
  ).action(
    action(async (amountText: string, flags: SignerFlags & EvmFlags & { to?: string; units?: boolean; wait: boolean }) => {
      const amount = parseAmount(amountText, flags.units)
      const to = flags.to === undefined ? undefined : nonZeroAddress(flags.to, '--to')
      const evm = await connectEvm(rpcUrl(flags))
      const contract = await contractAddress(flags)
      const key = await evmKey(flags, evm)
      const log = progress(flags.json)
      const node = new NodeClient(flags.node)
      // Before any token moves: the node must be watching this contract, or nothing would be credited.
      let confirmations: number | undefined
      if (flags.wait) {
        const s = await nodeSettlement(node)
        if (!s || s.contract !== contract.toLowerCase())
          throw new SinewError({
            code: 'settlement_not_configured',
            message: s ? `The node watches contract ${s.contract}, not ${contract}` : 'The node settles on no EVM chain: nothing would credit this deposit',
            details: { node: node.url, contract },
            hint: 'Point --node at the node that watches this contract, or pass --no-wait to deposit anyway.',
          })
        confirmations = s.confirmations
      }
      const d = await depositTokens({
        evm,
        contract,
        key,
        amount,
        account: to ?? addressOf(key),
        onStep: (step, tx) =>
          log(step === 'approving' ? 'approving the settlement contract to take the tokens…' : `deposit sent (${tx}), waiting for it to be mined…`),
      })
      let credited: { sinewHeight: string } | null = null
      if (flags.wait) {
        log(`deposited in EVM block ${d.blockNumber}; waiting for ${confirmations} confirmations and the node's credit…`)
        const stateKey = encodeURIComponent(depositKey(evm.chainId, d.evmTx, d.logIndex))
        let shown = -1n
        for (;;) {
          const p = await node.get<{ value: Hex | null }>(`/v1/proof/${stateKey}`)
          if (p.value) {
            credited = { sinewHeight: JSON.parse(Buffer.from(p.value.slice(2), 'hex').toString('utf8')).sinewHeight }
            break
          }
          const head = await evm.client.getBlockNumber({ cacheTime: 0 })
          const have = head - d.blockNumber
          if (have !== shown) log(`  ${have < 0n ? 0n : have}/${confirmations} confirmations`)
          shown = have
          await new Promise((r) => setTimeout(r, 500))
        }
      }
      const result = {
        evmTx: d.evmTx,
        evmChainId: evm.chainId.toString(),
        blockNumber: d.blockNumber.toString(),
        logIndex: d.logIndex.toString(),
        from: d.from,
        account: d.account,
        amount: d.amount.toString(),
        gasUsed: d.gasUsed.toString(),
        approveTx: d.approveTx,
        credited,
      }
      if (flags.json) return printJson(result)
      printLines(
        `Deposited ${sin(d.amount)} from ${d.from} for Sinew account ${d.account}`,
        `  EVM tx ${d.evmTx} in block ${d.blockNumber} (log ${d.logIndex}, ${d.gasUsed} gas)`,
        credited
          ? `  credited on Sinew in block ${credited.sinewHeight}`
          : `  not waited for: the node credits it after its confirmations (see \`sinew settle status\`)`,
      )
    }),
  )
}

// ---------------------------------------------------------------- withdraw

function withdrawCommand(): Command {
  return withSigner(
    new Command('withdraw').description('take SIN off Sinew (a signed Withdraw tx); claim the tokens on the EVM chain once a checkpoint covers it'),
  )
    .argument('<amount>', 'amount in SIN (e.g. 10 or 1.5; base units with --units)')
    .requiredOption('--recipient <address>', 'the EVM address paid by the claim')
    .option('--units', 'AMOUNT is in base units (an integer)')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (amountText: string, flags: SignerFlags & { recipient: string; units?: boolean; node?: string; json?: boolean }) => {
        const amount = parseAmount(amountText, flags.units)
        const recipient = nonZeroAddress(flags.recipient, '--recipient')
        const node = new NodeClient(flags.node)
        const key = await signerKey(flags)
        const account = await node.get(`/v1/accounts/${addressOf(key)}`)
        if (BigInt(account.balance) < amount)
          throw new SinewError({
            code: 'insufficient_balance',
            message: `${addressOf(key)} holds ${sin(account.balance)} on Sinew, less than the ${sin(amount)} to withdraw`,
            details: { field: 'AMOUNT', account: addressOf(key), balance: account.balance, amount: amount.toString() },
            hint: 'Withdraw at most the balance (`sinew account <address>`).',
          })
        const { ack } = await signAndSubmit(node, key, 'Withdraw', { recipient, amount: amount.toString() })
        const result = { id: ack.hash, height: ack.height, account: addressOf(key), recipient, amount: amount.toString() }
        if (flags.json) return printJson(result)
        printLines(
          `Withdrew ${sin(amount)} from ${result.account} on Sinew, for ${recipient} on the EVM chain`,
          `  withdrawal id ${ack.hash} (Sinew block ${ack.height})`,
          `  claim it once a checkpoint covers block ${ack.height}:  sinew settle claim ${ack.hash} --wait`,
        )
      }),
    )
}

// ---------------------------------------------------------------- claim

function claimCommand(): Command {
  return withEvm(
    withSigner(
      new Command('claim').description(
        'pay out a withdrawal on the EVM chain with its proof against a checkpoint (anyone may send it; the signer pays the gas)',
      ),
    )
      .argument('<id>', 'the withdrawal id (the Withdraw tx hash `settle withdraw` printed)')
      .addOption(new Option('--wait [seconds]', 'wait for a checkpoint to cover the withdrawal (without seconds: as long as it takes)')),
  ).action(
    action(async (id: string, flags: SignerFlags & EvmFlags & { wait?: string | true }) => {
      const waitMs = flags.wait === undefined ? 0 : flags.wait === true ? Number.POSITIVE_INFINITY : Number(parseUint(flags.wait, 32, '--wait')) * 1000
      const evm = await connectEvm(rpcUrl(flags))
      const contract = await contractAddress(flags)
      const key = await evmKey(flags, evm)
      const log = progress(flags.json)
      let shown: bigint | undefined
      const r = await claimWithdrawal({
        api: new NodeClient(flags.node),
        evm,
        contract,
        key,
        id: id as Hex,
        waitMs,
        pollMs: 500,
        onWait: ({ withdrawnAt, lastCheckpointHeight }) => {
          if (shown !== lastCheckpointHeight) log(`waiting for a checkpoint covering Sinew block ${withdrawnAt} (last checkpoint: ${lastCheckpointHeight})…`)
          shown = lastCheckpointHeight
        },
      })
      if (flags.json) return printJson(r)
      printLines(
        `Claimed withdrawal ${r.id}: ${sin(r.amount)} paid to ${r.recipient}`,
        `  proven against the checkpoint at Sinew height ${r.checkpointHeight}; EVM tx ${r.evmTx} (${r.gasUsed} gas)`,
      )
    }),
  )
}

// ---------------------------------------------------------------- status

function statusCommand(): Command {
  return withEvm(new Command('status').description("the node's settlement status (watcher, checkpointer, invariant) and the contract's own state")).action(
    action(async (flags: EvmFlags) => {
      const node = new NodeClient(flags.node)
      const status = await node.get('/v1/status')
      const s = status.settlement ?? null
      const url = flags.rpc ?? process.env.SINEW_SETTLEMENT_RPC_URL
      const contract = flags.contract ?? process.env.SINEW_SETTLEMENT_CONTRACT ?? s?.contract
      const chain = url && contract ? await readContractState(await connectEvm(rpcUrl({ rpc: url })), parseAddress(contract, '--contract')) : null
      if (flags.json) return printJson({ height: status.height, settlement: s, contract: chain })
      const job = (name: string, j: any) =>
        j
          ? `  ${name.padEnd(12)} ${j.running ? 'running' : 'stopped'}${j.failures ? `, ${j.failures} failures in a row: ${j.lastError}` : ''}`
          : `  ${name.padEnd(12)} -`
      printLines(
        ...(s
          ? [
              `Node (height ${status.height}) settles on EVM chain ${s.chainId ?? '(not reached yet)'} at contract ${s.contract}`,
              `  last checkpoint  height ${s.lastCheckpoint?.height ?? '-'}${s.lastCheckpoint?.evmTx ? ` (EVM tx ${s.lastCheckpoint.evmTx})` : ''}; ${s.lagBlocks ?? '?'} Sinew blocks since`,
              `  deposits         ${s.pendingDeposits} pending (${sin(s.pendingAmount)}), waiting for ${s.confirmations} confirmations; scanned to EVM block ${s.scannedTo ?? '-'} of ${s.evmHead ?? '-'}`,
              `  invariant        ${s.invariant ? `${s.invariant.holds ? 'holds' : 'BROKEN'}: contract holds ${sin(s.invariant.contractBalance)}, owes ${sin(s.invariant.required)}` : 'not computed yet'}`,
              job('watcher', s.watcher),
              job('checkpointer', s.checkpointer),
            ]
          : [`Node (height ${status.height}) settles on no EVM chain.`]),
        ...(chain
          ? [
              `Contract ${chain.contract} on EVM chain ${chain.evmChainId} (block ${chain.block})`,
              `  token ${chain.token}, holds ${sin(chain.balance)}; sequencer ${chain.sequencer}`,
              `  last checkpoint height ${chain.lastCheckpointHeight} at ${new Date(Number(chain.lastCheckpointTime) * 1000).toISOString()}`,
              chain.escaped
                ? `  ESCAPED: the contract takes no more checkpoints or deposits`
                : `  escape hatch ${chain.escapeOpen ? 'OPEN' : `opens at ${new Date(Number(chain.escapeOpensAt) * 1000).toISOString()}`} unless a checkpoint arrives (delay ${chain.escapeDelay} s)`,
            ]
          : [`(pass --rpc, or set SINEW_SETTLEMENT_RPC_URL, and --contract if the node names none, to read the contract itself)`]),
      )
    }),
  )
}

export function settleCommand(): Command {
  const settle = new Command('settle').description('settlement on an EVM chain: deploy the contracts, deposit, withdraw, claim, status')
  settle.addCommand(deployCommand())
  settle.addCommand(depositCommand())
  settle.addCommand(withdrawCommand())
  settle.addCommand(claimCommand())
  settle.addCommand(statusCommand())
  return settle
}

// ---------------------------------------------------------------- sinew dev --settle

/** Where `sinew dev --settle` keeps its local chain: anvil's state and what was deployed on it. */
export const DEV_ANVIL_STATE = 'anvil-state.json'
export const DEV_SETTLEMENT_FILE = 'settlement-dev.json'

export type DevSettle = {
  anvil: Anvil
  deployment: { chainId: number; settlement: Address; token: Address; deployBlock: string }
  /** Node settings (config flags) that wire the node to it. */
  settings: Record<string, unknown>
  /** True when this start deployed the contracts (a fresh local chain). */
  deployed: boolean
}

/**
 * The local EVM chain of `sinew dev --settle`: anvil (npm @foundry-rs/anvil) mining a block a
 * second, its state kept in the data dir (anvil --state) so a restart finds the same contracts
 * and balances; on first start it deploys the dev token and the settlement contract and backs
 * the genesis. The node talks to it with standard JSON-RPC only, like any EVM endpoint.
 */
export async function startDevSettle(o: { dataDir: string; genesis: Genesis; port?: number; log: (line: string) => void }): Promise<DevSettle> {
  const record = join(o.dataDir, DEV_SETTLEMENT_FILE)
  o.log(`settlement: starting a local EVM chain (anvil)…`)
  const anvil = await startAnvil({
    port: o.port,
    blockTime: 1,
    args: ['--state', join(o.dataDir, DEV_ANVIL_STATE), '--state-interval', '1'],
  })
  try {
    const evm = await connectEvm(anvil.rpcUrl)
    let deployment: DevSettle['deployment'] | undefined = existsSync(record) ? JSON.parse(readFileSync(record, 'utf8')) : undefined
    let deployed = false
    if (deployment) {
      const code = await evm.client.getCode({ address: deployment.settlement })
      if (!code || code === '0x')
        throw new SinewError({
          code: 'settlement_contract_missing',
          message: `This data dir's chain settled on a local EVM chain whose state is gone (no contract at ${deployment.settlement})`,
          details: { dataDir: o.dataDir, contract: deployment.settlement, state: join(o.dataDir, DEV_ANVIL_STATE) },
          hint: 'Deposits credited from it would be unbacked: use a fresh --data-dir for `sinew dev --settle`.',
        })
    } else {
      const r = await deployAndWire({
        rpcUrl: anvil.rpcUrl,
        deployerKey: devAccounts(1)[0].privateKey,
        genesis: o.genesis,
        escapeDelaySeconds: 24n * 3600n,
        log: o.log,
      })
      deployment = { chainId: r.chainId, settlement: r.settlement, token: r.token, deployBlock: r.deployBlock.toString() }
      writeFileDurable(record, JSON.stringify(deployment, null, 2) + '\n')
      deployed = true
    }
    return {
      anvil,
      deployment,
      deployed,
      settings: {
        settlementRpcUrl: anvil.rpcUrl,
        settlementContract: deployment.settlement,
        settlementStartBlock: deployment.deployBlock,
        settlementConfirmations: 2,
        settlementCheckpointBlocks: 20,
        settlementCheckpointMs: 3000,
        settlementPollMs: 500,
      },
    }
  } catch (e) {
    await anvil.stop()
    throw e
  }
}

/** What `sinew dev --settle` prints: where the chain and contracts are, and the commands to try. */
export function devSettleLines(s: DevSettle, nodeUrl: string): string[] {
  const a = devAccounts(3)
  const flags = `--rpc ${s.anvil.rpcUrl} --node ${nodeUrl}`
  return [
    `Settlement: local EVM chain (anvil, chainId ${s.deployment.chainId}, a block a second) at ${s.anvil.rpcUrl}`,
    `  contract ${s.deployment.settlement}   token ${s.deployment.token} (dSIN, 1 dSIN = 1 SIN; ${sin(DEV_MINT_EACH)} worth minted to each dev account)`,
    `  the node credits deposits after 2 confirmations and posts a checkpoint every 20 blocks or 3 s`,
    `Try:  npx sinew settle deposit 10 --dev-account 1 ${flags}`,
    `      npx sinew settle withdraw 4 --dev-account 1 --recipient ${a[2].address} --node ${nodeUrl}`,
    `      npx sinew settle claim <withdrawal id> --wait --dev-account 1 ${flags}`,
    `      npx sinew settle status ${flags}`,
  ]
}
