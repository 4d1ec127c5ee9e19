/**
 * Deploys the settlement contracts with viem over plain EVM JSON-RPC (transactions signed
 * locally and sent with eth_sendRawTransaction), so any EVM endpoint works: a dev chain, a
 * testnet, mainnet. On dev it also deploys `SinewDevToken` and mints to the accounts named;
 * in production it names an existing ERC-20 with 18 decimals (1 token = 1 SIN).
 */
import { createPublicClient, createWalletClient, defineChain, http, type Account, type Address, type Chain, type Hex, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { SinewError } from '../core/index.ts'
import { sinewDevTokenAbi, sinewDevTokenBytecode, sinewSettlementAbi, sinewSettlementBytecode } from './contracts.ts'

export type SettlementDeployment = {
  chainId: number
  token: Address
  settlement: Address
  sequencer: Address
  escapeDelaySeconds: bigint
  /** The EVM block the settlement contract was created in: where a deposit watcher starts. */
  deployBlock: bigint
  /** True when this deploy created the (dev) token. */
  devToken: boolean
}

export type DeployOptions = {
  rpcUrl: string
  /** Pays for and sends the deploy transactions (a viem account or a private key). */
  deployer: Account | Hex
  /** The Sinew sequencer address whose signed headers the contract accepts. */
  sequencer: Address
  escapeDelaySeconds: bigint
  /** An existing ERC-20 (production). Without it a SinewDevToken is deployed, owned by the deployer. */
  token?: Address
  /** Dev token only: amounts minted right after deploy. */
  mint?: readonly { to: Address; amount: bigint }[]
  /** How often to poll for receipts (default 1 s; a local chain mines at once). */
  pollingIntervalMs?: number
}

/** A viem chain for whatever endpoint `rpcUrl` is (its id read from eth_chainId). */
export async function chainAt(rpcUrl: string): Promise<Chain> {
  const probe = createPublicClient({ transport: http(rpcUrl) })
  let id: number
  try {
    id = await probe.getChainId()
  } catch (e) {
    throw new SinewError({
      code: 'evm_rpc_unavailable',
      message: `The EVM RPC at ${rpcUrl} does not answer`,
      details: { rpcUrl, reason: (e as Error).message.split('\n')[0] },
      hint: 'Check the URL and that the node is running.',
      cause: e,
    })
  }
  return defineChain({ id, name: `evm-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } })
}

export async function deploySettlement(options: DeployOptions): Promise<SettlementDeployment> {
  const chain = await chainAt(options.rpcUrl)
  const account = typeof options.deployer === 'string' ? privateKeyToAccount(options.deployer) : options.deployer
  const transport = http(options.rpcUrl)
  const pollingInterval = options.pollingIntervalMs ?? 1000
  const publicClient = createPublicClient({ chain, transport, pollingInterval }) as PublicClient
  const wallet = createWalletClient({ account, chain, transport, pollingInterval })

  const mined = async (hash: Hex, what: string) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success')
      throw new SinewError({ code: 'settlement_deploy_failed', message: `${what} reverted`, details: { tx: hash, block: receipt.blockNumber.toString() } })
    return receipt
  }

  let token = options.token
  if (token) {
    const decimals = await publicClient.readContract({ address: token, abi: sinewDevTokenAbi, functionName: 'decimals' }).catch((e: Error) => {
      throw new SinewError({
        code: 'settlement_token_unsuitable',
        message: `${token} does not answer decimals() like an ERC-20`,
        details: { token, reason: e.message.split('\n')[0] },
        cause: e,
      })
    })
    if (decimals !== 18)
      throw new SinewError({
        code: 'settlement_token_unsuitable',
        message: `The settlement token must have 18 decimals (1 token = 1 SIN); ${token} has ${decimals}`,
        details: { token, decimals },
      })
  } else {
    const hash = await wallet.deployContract({ abi: sinewDevTokenAbi, bytecode: sinewDevTokenBytecode, args: [account.address] })
    token = (await mined(hash, 'SinewDevToken deployment')).contractAddress!
    for (const { to, amount } of options.mint ?? []) {
      const mint = await wallet.writeContract({ address: token, abi: sinewDevTokenAbi, functionName: 'mint', args: [to, amount] })
      await mined(mint, `minting to ${to}`)
    }
  }
  const hash = await wallet.deployContract({
    abi: sinewSettlementAbi,
    bytecode: sinewSettlementBytecode,
    args: [token, options.sequencer, options.escapeDelaySeconds],
  })
  const receipt = await mined(hash, 'SinewSettlement deployment')
  return {
    chainId: chain.id,
    token,
    settlement: receipt.contractAddress!,
    sequencer: options.sequencer.toLowerCase() as Address,
    escapeDelaySeconds: options.escapeDelaySeconds,
    deployBlock: receipt.blockNumber,
    devToken: options.token === undefined,
  }
}
