/**
 * `sinew settle …` end to end on a real anvil, every step through the CLI with --json:
 * deploy (contracts, dev token, config wired into the data dir) → deposit (credited after its
 * confirmations) → withdraw (signed with a key file) → a claim before any checkpoint is
 * refused → the node posts a checkpoint → claim pays the recipient → a second claim is
 * refused. Balances on both sides are checked against the chain itself (the token's
 * balanceOf read with viem) and the node's accounts. Then the CLI's bad-input refusals.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initDataDir, makeDevGenesis } from '../src/cli/data-dir.ts'
import type { RunningNode } from '../src/server/index.ts'
import { connectEvm, genesisMint, sinewDevTokenAbi, startAnvil, type Anvil, type EvmClients } from '../src/settlement/index.ts'
import { dev, http, runCli, startDevNode, tempDir, waitFor } from './helpers.ts'
import { anvilControls, SIN } from './settlement-node-fixtures.ts'

let anvil: Anvil
let evm: EvmClients
let node: RunningNode | undefined
const data = tempDir('sinew-settle-cli-')
const keysDir = join(data.dir, 'keys')
const dataDir = join(data.dir, 'chain')
/** The node's settings beyond what `settle deploy` wrote into config.json. */
const nodeSettings = (checkpointBlocks: number) => ({
  settlementConfirmations: 2,
  settlementCheckpointBlocks: checkpointBlocks,
  settlementCheckpointMs: 3_600_000,
  settlementPollMs: 50,
})
let deployed: { settlement: `0x${string}`; token: `0x${string}`; deployBlock: string; devToken: boolean }
/** A Sinew account with no genesis SIN: everything it holds comes from its deposit. Its key lives in a key file. */
const userKey = generatePrivateKey()
const user = privateKeyToAccount(userKey).address.toLowerCase() as `0x${string}`
const recipient = privateKeyToAccount(generatePrivateKey()).address.toLowerCase() as `0x${string}`
const depositor = dev[1]
const env = { SINEW_PASSWORD: 'settle-cli-test', SINEW_KEYS_DIR: keysDir }

/** Runs `sinew settle …` with --json and --node; resolves with the parsed stdout, or rejects with the parsed error. */
async function settle(args: string[], o: { node?: boolean; rpc?: boolean } = {}): Promise<any> {
  const extra = [...(o.node !== false && node ? ['--node', node.url] : []), ...(o.rpc === false || args[0] === 'withdraw' ? [] : ['--rpc', anvil.rpcUrl])]
  const r = await runCli(['settle', args[0], ...extra, '--json', ...args.slice(1)], env)
  if (r.code !== 0) {
    let error: any
    try {
      error = JSON.parse(r.stderr).error
    } catch {
      throw new Error(`sinew settle ${args.join(' ')} failed without a JSON error: ${r.stderr}`)
    }
    throw Object.assign(new Error(error.message), error)
  }
  return JSON.parse(r.stdout)
}

const tokenBalance = (address: `0x${string}`) =>
  evm.client.readContract({ address: deployed.token, abi: sinewDevTokenAbi, functionName: 'balanceOf', args: [address] })
const sinewBalance = async (address: string) => BigInt((await http(`${node!.url}/v1/accounts/${address}`)).json.balance)
const status = async () => (await http(`${node!.url}/v1/status`)).json

async function startNode(checkpointBlocks: number): Promise<void> {
  await node?.close()
  // config.json (written by `settle deploy`) names the RPC and the contract; the test adds its pace.
  node = await startDevNode(dataDir, nodeSettings(checkpointBlocks))
}

beforeAll(async () => {
  anvil = await startAnvil()
  evm = await connectEvm(anvil.rpcUrl, { pollingIntervalMs: 50 })
  await initDataDir({ dataDir, dev: true })
  const imported = await runCli(['keys', 'import', userKey, '--scrypt-n', '1024', '--json'], env)
  expect(imported.code, imported.stderr).toBe(0)
}, 120_000)

afterAll(async () => {
  await node?.close()
  await anvil?.stop()
  data.cleanup()
})

/** Each step spawns the CLI (tsx, viem) a few times: on a loaded 2-core machine one spawn can take 20 s. */
const CLI_STEP = { timeout: 240_000 }

describe('sinew settle: deploy → deposit → withdraw → checkpoint → claim', CLI_STEP, () => {
  let withdrawal: { id: `0x${string}`; height: string }
  const backing = genesisMint(makeDevGenesis())

  it('deploy creates the contracts and the dev token, backs the genesis and wires the data dir', async () => {
    deployed = await settle(['deploy', '--dev-account', '0', '--data-dir', dataDir, '--escape-delay', '3600'], { node: false })
    expect(deployed.devToken).toBe(true)
    // The chain itself: the contract holds exactly the genesis allocation, each dev account its dev tokens.
    expect(await tokenBalance(deployed.settlement)).toBe(backing)
    expect(await tokenBalance(depositor.address)).toBe(1000n * SIN)
    const config = JSON.parse(readFileSync(join(dataDir, 'config.json'), 'utf8'))
    expect(config).toEqual({ settlementRpcUrl: anvil.rpcUrl, settlementContract: deployed.settlement, settlementStartBlock: Number(deployed.deployBlock) })
    await startNode(1_000_000)
    const s = await waitFor(status, (st) => st.settlement?.invariant != null)
    expect(s.settlement.contract).toBe(deployed.settlement.toLowerCase())
    expect(s.settlement.invariant).toMatchObject({ holds: true, contractBalance: backing.toString() })
  })

  it('deposit moves the tokens into the contract and waits until the node credits the Sinew account', async () => {
    const before = await tokenBalance(depositor.address)
    const cli = settle(['deposit', '25', '--dev-account', '1', '--to', user])
    // The node has seen the deposit and waits for its 2 confirmations: mine them (anvil, test only).
    await waitFor(status, (st) => st.settlement.pendingDeposits === 1)
    expect(await sinewBalance(user)).toBe(0n)
    await anvilControls(anvil.rpcUrl).mine(2)
    const d = await cli
    expect(d).toMatchObject({ account: user, from: depositor.address.toLowerCase(), amount: (25n * SIN).toString(), evmChainId: '31337' })
    expect(d.credited).not.toBeNull()
    expect(await tokenBalance(depositor.address)).toBe(before - 25n * SIN)
    expect(await tokenBalance(deployed.settlement)).toBe(backing + 25n * SIN)
    expect(await sinewBalance(user)).toBe(25n * SIN)
  })

  it('withdraw signs the Withdraw tx with the key file and debits the balance', async () => {
    withdrawal = await settle(['withdraw', '10', '--from', user, '--recipient', recipient])
    expect(withdrawal).toMatchObject({ account: user, recipient, amount: (10n * SIN).toString() })
    expect(withdrawal.id).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await sinewBalance(user)).toBe(15n * SIN)
  })

  it('a claim before any checkpoint covers the withdrawal is refused and pays nothing', async () => {
    await expect(settle(['claim', withdrawal.id, '--dev-account', '3'])).rejects.toMatchObject({
      code: 'withdrawal_not_checkpointed',
      details: { id: withdrawal.id, lastCheckpointHeight: '0' },
    })
    expect(await tokenBalance(recipient)).toBe(0n)
  })

  it('once the node checkpoints, claim --wait proves the withdrawal and pays the recipient exactly', async () => {
    // The node again, now checkpointing every block: it resumes from what the contract says.
    await startNode(1)
    const held = await tokenBalance(deployed.settlement)
    const c = await settle(['claim', withdrawal.id, '--dev-account', '3', '--wait', '120'])
    expect(c).toMatchObject({ id: withdrawal.id, account: user, recipient, amount: (10n * SIN).toString() })
    expect(BigInt(c.checkpointHeight)).toBeGreaterThanOrEqual(BigInt(withdrawal.height))
    expect(await tokenBalance(recipient)).toBe(10n * SIN)
    expect(await tokenBalance(deployed.settlement)).toBe(held - 10n * SIN)
    expect(await sinewBalance(user)).toBe(15n * SIN)
  })

  it('status shows the node view and the contract state; the invariant holds', async () => {
    const s = await settle(['status'])
    expect(BigInt(s.contract.lastCheckpointHeight)).toBeGreaterThanOrEqual(BigInt(withdrawal.height))
    expect(s.contract).toMatchObject({ contract: deployed.settlement.toLowerCase(), token: deployed.token.toLowerCase(), escaped: false, escapeOpen: false })
    expect(s.contract.balance).toBe((await tokenBalance(deployed.settlement)).toString())
    expect(s.settlement.contract).toBe(deployed.settlement.toLowerCase())
    const node = await waitFor(status, (st) => st.settlement.invariant?.withdrawalsPaid === (10n * SIN).toString())
    expect(node.settlement.invariant.holds).toBe(true)
  })

  it('a second claim of the same withdrawal is refused by the contract and pays nothing', async () => {
    await expect(settle(['claim', withdrawal.id, '--dev-account', '3'])).rejects.toMatchObject({
      code: 'evm_tx_reverted',
      details: { errorName: 'AlreadyWithdrawn' },
    })
    expect(await tokenBalance(recipient)).toBe(10n * SIN)
  })
})

describe('sinew settle: bad input gets a specific error and moves nothing', CLI_STEP, () => {
  it('refuses malformed, negative, zero and over-precise amounts', async () => {
    const cases: [string[], RegExp][] = [
      [['deposit', 'ten', '--dev-account', '1'], /is not a number/],
      [['deposit', '--dev-account', '1', '--', '-5'], /must not be negative/],
      [['deposit', '0', '--dev-account', '1'], /must be more than 0/],
      [['deposit', '1.5', '--units', '--dev-account', '1'], /must be an integer number of base units/],
      [['withdraw', '0.0000000000000000001', '--dev-account', '2', '--recipient', recipient], /more than 18 decimals/],
    ]
    const before = await tokenBalance(depositor.address)
    await Promise.all(
      cases.map(([args, message]) =>
        expect(settle(args)).rejects.toMatchObject({ code: 'invalid_field', details: { field: 'AMOUNT' }, message: expect.stringMatching(message) }),
      ),
    )
    expect(await tokenBalance(depositor.address)).toBe(before)
  })

  it('refuses a recipient or Sinew account that is not an address, or is the zero address', async () => {
    const height = (await status()).height
    await Promise.all([
      expect(settle(['withdraw', '1', '--dev-account', '2', '--recipient', '0x1234'])).rejects.toMatchObject({ code: 'invalid_address' }),
      expect(settle(['withdraw', '1', '--dev-account', '2', '--recipient', `0x${'0'.repeat(40)}`])).rejects.toMatchObject({
        code: 'invalid_field',
        details: { field: '--recipient' },
      }),
      expect(settle(['deposit', '1', '--dev-account', '1', '--to', 'alice'])).rejects.toMatchObject({ code: 'invalid_address' }),
    ])
    expect((await status()).height).toBe(height)
  })

  it('refuses a withdrawal above the Sinew balance, and a deposit above the token balance', async () => {
    const balance = await sinewBalance(user)
    await expect(settle(['withdraw', '15.000000000000000001', '--from', user, '--recipient', recipient])).rejects.toMatchObject({
      code: 'insufficient_balance',
      details: { balance: balance.toString() },
    })
    expect(await sinewBalance(user)).toBe(balance)
    const tokens = await tokenBalance(depositor.address)
    await expect(settle(['deposit', '1000000', '--dev-account', '1'])).rejects.toMatchObject({
      code: 'insufficient_token_balance',
      details: { balance: tokens.toString() },
    })
    expect(await tokenBalance(depositor.address)).toBe(tokens)
  })

  it('refuses a claim of an unknown or malformed withdrawal id', async () => {
    await Promise.all([
      expect(settle(['claim', `0x${'ab'.repeat(32)}`, '--dev-account', '3'])).rejects.toMatchObject({ code: 'withdrawal_not_found' }),
      expect(settle(['claim', 'not-a-hash', '--dev-account', '3'])).rejects.toMatchObject({ code: 'invalid_field', details: { field: 'id' } }),
    ])
  })

  it('refuses a missing --rpc and a contract address with no settlement contract', async () => {
    await expect(settle(['deposit', '1', '--dev-account', '1'], { rpc: false })).rejects.toMatchObject({ code: 'missing_field', details: { field: '--rpc' } })
    await expect(settle(['deposit', '1', '--dev-account', '1', '--no-wait', '--contract', depositor.address])).rejects.toMatchObject({
      code: 'settlement_contract_missing',
    })
  })

  it('refuses an INSECURE --dev-account key on an EVM chain that is not a local dev chain, before sending anything', async () => {
    const other = await startAnvil({ chainId: 8453 })
    try {
      const r = await runCli(['settle', 'deploy', '--rpc', other.rpcUrl, '--dev-account', '0', '--data-dir', dataDir, '--no-config', '--json'], env)
      expect(r.code).toBe(1)
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'dev_key_on_live_chain', details: { field: '--dev-account', evmChainId: '8453' } })
      // Nothing was sent from the dev key.
      const otherEvm = await connectEvm(other.rpcUrl)
      expect(await otherEvm.client.getTransactionCount({ address: dev[0].address })).toBe(0)
    } finally {
      await other.stop()
    }
  })

  it('deploy with --token settles in an existing ERC-20; a production genesis must name one; a token that is not an ERC-20 is refused', async () => {
    const prodDir = join(data.dir, 'prod')
    process.env.SINEW_NODE_PASSWORD = 'settle-cli-test'
    try {
      await initDataDir({ dataDir: prodDir, network: 'prod-test' })
    } finally {
      delete process.env.SINEW_NODE_PASSWORD
    }
    const deploy = (dir: string, more: string[]) => settle(['deploy', '--dev-account', '0', '--data-dir', dir, '--no-config', ...more], { node: false })
    const [existing] = await Promise.all([
      deploy(prodDir, ['--token', deployed.token]),
      expect(deploy(prodDir, [])).rejects.toMatchObject({ code: 'missing_field', details: { field: '--token' } }),
      expect(deploy(prodDir, ['--token', dev[5].address])).rejects.toMatchObject({ code: 'settlement_token_unsuitable' }),
    ])
    expect(existing.devToken).toBe(false)
    expect(existing.token.toLowerCase()).toBe(deployed.token.toLowerCase())
    expect(existing.settlement).not.toBe(deployed.settlement)
    // The new contract holds nothing yet (the operator funds it with the genesis allocation) and no config was written.
    expect(await tokenBalance(existing.settlement)).toBe(0n)
    expect(existsSync(join(prodDir, 'config.json'))).toBe(false)
  })
})
