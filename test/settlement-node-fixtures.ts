/**
 * A settled dev network for the settlement end-to-end tests: a real anvil process, the
 * contracts deployed and the genesis backed (deployDevSettlement), and a Sinew dev node in
 * this process whose watcher and checkpointer talk to anvil. Anvil-only RPC methods
 * (anvil_mine, evm_snapshot/evm_revert, evm_increaseTime) are used here, in tests only.
 */
import { createServer, connect, type Socket } from 'node:net'
import { createTestClient, encodeFunctionData, http as viemHttp, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { makeDevGenesis } from '../src/cli/data-dir.ts'
import type { RunningNode } from '../src/server/index.ts'
import {
  connectEvm,
  deployDevSettlement,
  evmWallet,
  genesisMint,
  revertError,
  sinewDevTokenAbi,
  sinewSettlementAbi,
  startAnvil,
  type Anvil,
  type DevSettlement,
  type EvmClients,
} from '../src/settlement/index.ts'
import { dev, http, startDevNode, tempDir, waitFor } from './helpers.ts'

export const SIN = 10n ** 18n
/** The EVM account that deploys and owns the dev token: anvil's account 0 (= Sinew dev account 0). */
export const DEPLOYER = dev[0]

export type SettledNet = {
  anvil: Anvil
  evm: EvmClients
  deployment: DevSettlement
  running: RunningNode
  url: string
  /** The Sinew node's data dir. */
  dataDir: string
  /** anvil-only controls, for tests. */
  test: ReturnType<typeof anvilControls>
  /** Dev tokens of an EVM account. */
  tokenBalance(address: Hex): Promise<bigint>
  /** Approves the settlement contract to take `amount` of `key`'s tokens. */
  approve(key: Hex, amount: bigint): Promise<void>
  /** Approves (unless `approved`) and deposits `amount` from `key` for `sinewAccount`; `raw` is the signed deposit tx, to send again. */
  deposit(key: Hex, amount: bigint, sinewAccount: Hex, o?: { approved?: boolean }): Promise<{ txHash: Hex; blockNumber: bigint; raw: Hex }>
  sinewBalance(address: Hex): Promise<bigint>
  status(): Promise<any>
  /** With `rpcProxy`: the TCP proxy the node reaches anvil through, to cut and restore. */
  proxy: TcpProxy | undefined
  /** Stops the node and starts it again on the same data dir (a new URL). */
  restart(): Promise<void>
  close(): Promise<void>
}

export function anvilControls(rpcUrl: string) {
  const t = createTestClient({ mode: 'anvil', transport: viemHttp(rpcUrl) })
  return {
    mine: (blocks: number) => t.mine({ blocks }),
    snapshot: () => t.snapshot(),
    revert: (id: Hex) => t.revert({ id }),
    increaseTime: (seconds: number) => t.increaseTime({ seconds }),
    setAutomine: (on: boolean) => t.setAutomine(on),
  }
}

/**
 * A TCP proxy on 127.0.0.1 (a port the OS picks) in front of `targetPort`: `cut()` drops every
 * connection and refuses new ones (an RPC outage as the node sees it), `restore()` ends it.
 */
export type TcpProxy = { url: string; cut(): void; restore(): void; close(): Promise<void> }

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let down = false
  const open = new Set<Socket>()
  const server = createServer((client) => {
    if (down) return void client.destroy()
    const upstream = connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('close', () => open.delete(s))
      s.on('error', () => {})
    }
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      down = true
      for (const s of open) s.destroy()
    },
    restore() {
      down = false
    },
    async close() {
      for (const s of open) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

export async function startSettledNet(
  o: { confirmations?: number; checkpointBlocks?: number; escapeDelaySeconds?: bigint; nodeOverrides?: Record<string, unknown>; rpcProxy?: boolean } = {},
): Promise<SettledNet> {
  const anvil = await startAnvil()
  const tmp = tempDir('sinew-settle-')
  let running: RunningNode | undefined
  const proxy = o.rpcProxy ? await startTcpProxy(anvil.port) : undefined
  try {
    const deployment = await deployDevSettlement({
      rpcUrl: anvil.rpcUrl,
      deployer: DEPLOYER.privateKey,
      genesis: makeDevGenesis(),
      escapeDelaySeconds: o.escapeDelaySeconds ?? 3600n,
      mint: dev.slice(0, 10).map((a) => ({ to: a.address, amount: 1000n * SIN })),
    })
    const evm = await connectEvm(anvil.rpcUrl, { pollingIntervalMs: 50 })
    const approve = async (key: Hex, amount: bigint) => {
      const wallet = evmWallet(evm, key)
      const hash = await wallet.writeContract({
        address: deployment.token,
        abi: sinewDevTokenAbi,
        functionName: 'approve',
        args: [deployment.settlement, amount],
      })
      await evm.client.waitForTransactionReceipt({ hash })
    }
    const settings = {
      settlementRpcUrl: proxy?.url ?? anvil.rpcUrl,
      settlementContract: deployment.settlement,
      settlementStartBlock: Number(deployment.deployBlock),
      settlementConfirmations: o.confirmations ?? 3,
      settlementCheckpointBlocks: o.checkpointBlocks ?? 1,
      settlementCheckpointMs: 3_600_000,
      settlementPollMs: 50,
      ...o.nodeOverrides,
    }
    running = await startDevNode(tmp.dir, settings)
    const net: SettledNet = {
      anvil,
      evm,
      deployment,
      running,
      url: running.url,
      dataDir: tmp.dir,
      proxy,
      test: anvilControls(anvil.rpcUrl),
      tokenBalance: (address) => evm.client.readContract({ address: deployment.token, abi: sinewDevTokenAbi, functionName: 'balanceOf', args: [address] }),
      approve,
      async deposit(key, amount, sinewAccount, d = {}) {
        if (!d.approved) await approve(key, amount)
        const wallet = evmWallet(evm, key)
        const request = await wallet.prepareTransactionRequest({
          to: deployment.settlement,
          data: encodeFunctionData({ abi: sinewSettlementAbi, functionName: 'deposit', args: [amount, sinewAccount] }),
        })
        const raw = await wallet.signTransaction(request)
        const txHash = await evm.client.sendRawTransaction({ serializedTransaction: raw })
        const receipt = await evm.client.waitForTransactionReceipt({ hash: txHash })
        if (receipt.status !== 'success') throw new Error(`deposit ${txHash} reverted`)
        return { txHash, blockNumber: receipt.blockNumber, raw }
      },
      sinewBalance: async (address) => BigInt((await http(`${net.url}/v1/accounts/${address.toLowerCase()}`)).json.balance),
      status: async () => (await http(`${net.url}/v1/status`)).json,
      async restart() {
        await net.running.close()
        net.running = await startDevNode(tmp.dir, settings)
        net.url = net.running.url
      },
      async close() {
        await net.running.close()
        await proxy?.close()
        await anvil.stop()
        tmp.cleanup()
      },
    }
    return net
  } catch (e) {
    await running?.close()
    await proxy?.close()
    await anvil.stop()
    tmp.cleanup()
    throw e
  }
}

/**
 * The backing invariant by an independent oracle: what the test itself deposited, had
 * credited and saw paid out, against the token balance read from the chain; and the
 * node's own figure in /v1/status must say the same once it has caught up.
 */
export async function expectInvariant(net: SettledNet, o: { credited: bigint; paid: bigint; deposited: bigint }): Promise<void> {
  const backing = genesisMint(makeDevGenesis())
  const held = await net.tokenBalance(net.deployment.settlement)
  // What the contract holds is exactly the genesis backing, every deposit and nothing paid out...
  if (held !== backing + o.deposited - o.paid) throw new Error(`contract holds ${held}, expected ${backing + o.deposited - o.paid}`)
  // ...which covers every SIN on Sinew and every withdrawal not yet claimed.
  if (held < backing + o.credited - o.paid) throw new Error(`invariant broken: ${held} < ${backing + o.credited - o.paid}`)
  const required = (backing + o.credited - o.paid).toString()
  const s = await waitFor(
    () => net.status(),
    (st) => st.settlement?.invariant?.required === required && st.settlement.invariant.contractBalance === held.toString(),
  )
  if (!s.settlement.invariant.holds) throw new Error(`node reports the invariant broken: ${JSON.stringify(s.settlement.invariant)}`)
}

export { privateKeyToAccount, revertError }
