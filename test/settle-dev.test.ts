/**
 * `sinew dev --settle` in a child process: it starts anvil, deploys the contracts and the dev
 * token, wires the node and prints where everything is; a deposit made with the printed
 * command is credited; stopping the node stops anvil, and a restart finds the same contracts
 * and balances (anvil's state is kept in the data dir).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { connectEvm, sinewDevTokenAbi } from '../src/settlement/index.ts'
import { dev, http, runCli, spawnServer, tempDir, waitFor, type SpawnedNode } from './helpers.ts'
import { SIN } from './settlement-node-fixtures.ts'

const tmp = tempDir('sinew-dev-settle-')
let spawned: SpawnedNode | undefined

afterAll(async () => {
  await stop()
  tmp.cleanup()
})

async function stop(): Promise<void> {
  if (!spawned || spawned.child.exitCode !== null) return
  const exited = new Promise((r) => spawned!.child.once('exit', r))
  spawned.child.kill('SIGTERM')
  await exited
}

/** Starts `sinew dev --settle` and reads the RPC URL and contract it prints. */
async function startDev(): Promise<{ url: string; rpc: string; contract: string; token: string }> {
  spawned = await spawnServer('dev', ['--settle', '--data-dir', tmp.dir])
  const printed = await waitFor(
    async () => /Settlement: local EVM chain .* at (http:\/\/127\.0\.0\.1:\d+)\n\s+contract (0x[0-9a-f]{40})\s+token (0x[0-9a-f]{40})/.exec(spawned!.output()),
    Boolean,
    120_000,
  )
  return { url: spawned.url, rpc: printed![1], contract: printed![2], token: printed![3] }
}

const rpcAnswers = (rpc: string) =>
  fetch(rpc, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
  }).then(
    (r) => r.ok,
    () => false,
  )

describe('sinew dev --settle', () => {
  it('one command: a local chain, contracts deployed and wired; a deposit is credited; the chain survives a restart', async () => {
    const first = await startDev()
    const record = JSON.parse(readFileSync(join(tmp.dir, 'settlement-dev.json'), 'utf8'))
    expect(record.settlement).toBe(first.contract)
    const evm = await connectEvm(first.rpc)
    const balanceOf = (a: `0x${string}`) =>
      evm.client.readContract({ address: first.token as `0x${string}`, abi: sinewDevTokenAbi, functionName: 'balanceOf', args: [a] })
    expect(await balanceOf(dev[4].address)).toBe(1000n * SIN)
    const status = await waitFor(
      async () => (await http(`${first.url}/v1/status`)).json,
      (s) => s.settlement?.invariant?.holds === true,
    )
    expect(status.settlement.contract).toBe(first.contract)
    const sinewBefore = BigInt((await http(`${first.url}/v1/accounts/${dev[4].address}`)).json.balance)

    // The printed command, as a newcomer runs it: it waits for the confirmations (anvil mines a block a second).
    const d = await runCli(['settle', 'deposit', '3', '--dev-account', '4', '--rpc', first.rpc, '--node', first.url, '--json'])
    expect(d.code, d.stderr).toBe(0)
    expect(JSON.parse(d.stdout).credited).not.toBeNull()
    expect(BigInt((await http(`${first.url}/v1/accounts/${dev[4].address}`)).json.balance)).toBe(sinewBefore + 3n * SIN)
    expect(await balanceOf(dev[4].address)).toBe(997n * SIN)

    // Stopping the node stops anvil with it: by the time the process has exited, so has anvil.
    await stop()
    expect(await rpcAnswers(first.rpc)).toBe(false)

    // A restart: same contract, same token balances, the credit still backed.
    const second = await startDev()
    expect(second.contract).toBe(first.contract)
    const evm2 = await connectEvm(second.rpc)
    expect(
      await evm2.client.readContract({ address: second.token as `0x${string}`, abi: sinewDevTokenAbi, functionName: 'balanceOf', args: [dev[4].address] }),
    ).toBe(997n * SIN)
    const after = await waitFor(
      async () => (await http(`${second.url}/v1/status`)).json,
      (s) => s.settlement?.invariant?.holds === true && s.settlement.invariant.deposited === (3n * SIN).toString(),
    )
    expect(after.settlement.invariant.contractBalance).toBe(after.settlement.invariant.required)
    expect(BigInt((await http(`${second.url}/v1/accounts/${dev[4].address}`)).json.balance)).toBe(sinewBefore + 3n * SIN)
  }, 300_000)
})
