/**
 * Clients for the settlement chain: any EVM JSON-RPC endpoint (no anvil-only methods). The
 * chain id is read from the endpoint, so a wallet signs for the chain it talks to.
 */
import { createPublicClient, createWalletClient, http, type Account, type Chain, type PublicClient, type Transport, type WalletClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Hex } from '../core/index.ts'
import { chainAt } from './deploy.ts'

export type EvmClients = { chainId: bigint; chain: Chain; client: PublicClient }
export type EvmWallet = WalletClient<Transport, Chain, Account>

export async function connectEvm(rpcUrl: string, o: { pollingIntervalMs?: number } = {}): Promise<EvmClients> {
  const chain = await chainAt(rpcUrl)
  const client = createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 0 }), pollingInterval: o.pollingIntervalMs ?? 1000 }) as PublicClient
  return { chainId: BigInt(chain.id), chain, client }
}

export function evmWallet(evm: EvmClients, key: Hex): EvmWallet {
  return createWalletClient({ account: privateKeyToAccount(key), chain: evm.chain, transport: http(evm.chain.rpcUrls.default.http[0], { retryCount: 0 }) })
}
