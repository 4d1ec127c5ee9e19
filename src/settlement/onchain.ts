/**
 * What the settlement contract itself says (`sinew settle status`): its last checkpoint, the
 * escape hatch, the tokens it holds. Read at one EVM block, plain JSON-RPC only.
 */
import type { Address } from '../ledger/index.ts'
import { sinewDevTokenAbi as erc20Abi, sinewSettlementAbi } from './contracts.ts'
import { settlementToken } from './deposit.ts'
import type { EvmClients } from './evm.ts'

export type ContractState = {
  evmChainId: string
  contract: Address
  token: Address
  sequencer: Address
  /** The EVM block everything below was read at, and its timestamp (seconds). */
  block: string
  blockTime: string
  lastCheckpointHeight: string
  /** EVM time (seconds) of the last checkpoint, or of the deploy. */
  lastCheckpointTime: string
  escapeDelay: string
  /** Anyone may escape once the EVM time is past this (seconds), if no checkpoint arrives first: EscapeNotOpen(opensAt). */
  escapeOpensAt: string
  escapeOpen: boolean
  escaped: boolean
  /** Tokens the contract holds (base units). */
  balance: string
}

export async function readContractState(evm: EvmClients, contract: Address): Promise<ContractState> {
  const token = await settlementToken(evm, contract)
  const block = await evm.client.getBlock({ blockTag: 'latest' })
  const blockNumber = block.number!
  const read = <T>(functionName: string) =>
    evm.client.readContract({ address: contract, abi: sinewSettlementAbi, functionName: functionName as never, blockNumber }) as Promise<T>
  const [sequencer, height, time, delay, escaped, balance] = await Promise.all([
    read<Address>('sequencer'),
    read<bigint>('lastCheckpointHeight'),
    read<bigint>('lastCheckpointTime'),
    read<bigint>('escapeDelay'),
    read<boolean>('escaped'),
    evm.client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [contract], blockNumber }),
  ])
  return {
    evmChainId: evm.chainId.toString(),
    contract: contract.toLowerCase() as Address,
    token,
    sequencer: sequencer.toLowerCase() as Address,
    block: blockNumber.toString(),
    blockTime: block.timestamp.toString(),
    lastCheckpointHeight: height.toString(),
    lastCheckpointTime: time.toString(),
    escapeDelay: delay.toString(),
    escapeOpensAt: (time + delay).toString(),
    escapeOpen: block.timestamp > time + delay,
    escaped,
    balance: balance.toString(),
  }
}
