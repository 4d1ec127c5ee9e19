/**
 * A settled dev network in one call (`sinew settle deploy` on dev, `sinew dev --settle`, the
 * tests): deploys SinewDevToken and SinewSettlement, backs the genesis (mints the SIN the
 * genesis allocated to the contract, so the invariant holds from block 0), mints tokens to
 * the dev accounts to deposit, and gives the sequencer gas for its checkpoints. Plain EVM
 * JSON-RPC only: it works on any dev chain whose deployer has ETH.
 */
import { createWalletClient, http, parseEther, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { SinewError } from '../core/index.ts'
import type { Address, Genesis } from '../ledger/index.ts'
import { sinewDevTokenAbi } from './contracts.ts'
import { chainAt, deploySettlement, type SettlementDeployment } from './deploy.ts'
import { genesisMint } from './invariant.ts'
import { connectEvm } from './evm.ts'

export type DevSettlementOptions = {
  rpcUrl: string
  /** Pays for the deploy, owns the dev token (mints with it), sends the sequencer its gas. */
  deployer: Hex
  genesis: Genesis
  escapeDelaySeconds: bigint
  /** Dev tokens minted to these EVM accounts, to deposit. */
  mint?: readonly { to: Address; amount: bigint }[]
  /** ETH sent to the sequencer for checkpoint gas (default 10 ETH). */
  sequencerGas?: bigint
}

export type DevSettlement = SettlementDeployment & { backing: bigint }

export async function deployDevSettlement(o: DevSettlementOptions): Promise<DevSettlement> {
  if (!o.genesis.insecure) {
    throw new SinewError({
      code: 'invalid_input',
      message: 'A dev token is only for dev networks: this genesis is not marked insecure',
      hint: 'On a real network deploy with --token naming an existing ERC-20, and fund the contract with the genesis allocation.',
    })
  }
  const deployment = await deploySettlement({
    rpcUrl: o.rpcUrl,
    deployer: o.deployer,
    sequencer: o.genesis.sequencer,
    escapeDelaySeconds: o.escapeDelaySeconds,
    mint: o.mint,
  })
  const chain = await chainAt(o.rpcUrl)
  const wallet = createWalletClient({ account: privateKeyToAccount(o.deployer), chain, transport: http(o.rpcUrl) })
  const { client } = await connectEvm(o.rpcUrl)
  const mined = async (hash: Hex) => {
    const receipt = await client.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success')
      throw new SinewError({ code: 'settlement_deploy_failed', message: `dev setup tx ${hash} reverted`, details: { tx: hash } })
  }
  // Every SIN the genesis allocated is backed by a token held by the contract.
  const backing = genesisMint(o.genesis)
  if (backing > 0n)
    await mined(await wallet.writeContract({ address: deployment.token, abi: sinewDevTokenAbi, functionName: 'mint', args: [deployment.settlement, backing] }))
  await mined(await wallet.sendTransaction({ to: o.genesis.sequencer, value: o.sequencerGas ?? parseEther('10') }))
  return { ...deployment, backing }
}
