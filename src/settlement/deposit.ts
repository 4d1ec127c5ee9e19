/**
 * Depositing tokens into the settlement contract (`sinew settle deposit`): check the token
 * balance, approve the contract if its allowance is short, send `deposit(amount, account)`
 * and read the `Deposited` log back from the receipt (its log index is half of the key the
 * node credits it under). Plain JSON-RPC only; any EVM endpoint works.
 */
import { parseEventLogs, type Hex } from 'viem'
import { SinewError } from '../core/index.ts'
import { ZERO_ADDRESS, type Address } from '../ledger/index.ts'
import { sinewDevTokenAbi as erc20Abi, sinewSettlementAbi } from './contracts.ts'
import { revertError } from './claim.ts'
import { evmWallet, type EvmClients } from './evm.ts'

export type DepositOptions = {
  evm: EvmClients
  contract: Address
  /** The EVM key that holds the tokens and pays the gas. */
  key: Hex
  amount: bigint
  /** The Sinew account credited. */
  account: Address
  /** Progress: 'approving' before an approve tx, 'depositing' before the deposit tx. */
  onStep?: (step: 'approving' | 'depositing', evmTx?: Hex) => void
}

export type DepositResult = {
  evmTx: Hex
  blockNumber: bigint
  logIndex: bigint
  from: Address
  account: Address
  /** What the contract received and the node will credit. */
  amount: bigint
  gasUsed: bigint
  /** The approve tx sent first, if the allowance was short. */
  approveTx: Hex | null
}

/** The token the settlement contract holds; a clear error if no SinewSettlement answers at `contract`. */
export async function settlementToken(evm: EvmClients, contract: Address): Promise<Address> {
  const code = await evm.client.getCode({ address: contract }).catch((e: Error) => {
    throw new SinewError({ code: 'evm_rpc_unavailable', message: `The EVM RPC does not answer: ${e.message.split('\n')[0]}`, cause: e })
  })
  const token =
    code && code !== '0x'
      ? await evm.client.readContract({ address: contract, abi: sinewSettlementAbi, functionName: 'token' }).catch(() => undefined)
      : undefined
  if (!token) {
    throw new SinewError({
      code: 'settlement_contract_missing',
      message: `No SinewSettlement contract at ${contract} on EVM chain ${evm.chainId}`,
      details: { contract, evmChainId: evm.chainId.toString() },
      hint: 'Check --contract and --rpc (the node names its contract in `sinew settle status`); deploy one with `sinew settle deploy`.',
    })
  }
  return token.toLowerCase() as Address
}

export async function depositTokens(o: DepositOptions): Promise<DepositResult> {
  if (o.amount <= 0n) throw new SinewError({ code: 'invalid_field', message: 'The amount must be more than 0', details: { field: 'amount' } })
  if (o.account === ZERO_ADDRESS) {
    throw new SinewError({
      code: 'invalid_field',
      message: 'The Sinew account must not be the zero address (the contract refuses it: InvalidSinewAccount)',
      details: { field: 'to' },
    })
  }
  const token = await settlementToken(o.evm, o.contract)
  const wallet = evmWallet(o.evm, o.key)
  const from = wallet.account.address.toLowerCase() as Address
  const [balance, allowance] = await Promise.all([
    o.evm.client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [from] }),
    o.evm.client.readContract({ address: token, abi: erc20Abi, functionName: 'allowance', args: [from, o.contract] }),
  ])
  if (balance < o.amount) {
    throw new SinewError({
      code: 'insufficient_token_balance',
      message: `${from} holds ${balance} base units of the settlement token, less than the ${o.amount} to deposit`,
      details: { account: from, token, balance: balance.toString(), amount: o.amount.toString() },
      hint: 'Deposit less, or get more of the token first.',
    })
  }
  const mined = async (hash: Hex, fn: string) => {
    const receipt = await o.evm.client.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new SinewError({ code: 'evm_tx_reverted', message: `${fn} tx ${hash} reverted`, details: { evmTx: hash } })
    return receipt
  }
  let approveTx: Hex | null = null
  if (allowance < o.amount) {
    o.onStep?.('approving')
    approveTx = await wallet.writeContract({ address: token, abi: erc20Abi, functionName: 'approve', args: [o.contract, o.amount] })
    await mined(approveTx, 'approve')
  }
  let request
  try {
    ;({ request } = await o.evm.client.simulateContract({
      address: o.contract,
      abi: sinewSettlementAbi,
      functionName: 'deposit',
      args: [o.amount, o.account],
      account: wallet.account,
    }))
  } catch (e) {
    throw revertError(e, 'deposit')
  }
  const evmTx = await wallet.writeContract(request)
  o.onStep?.('depositing', evmTx)
  const receipt = await mined(evmTx, 'deposit')
  const [log] = parseEventLogs({ abi: sinewSettlementAbi, eventName: 'Deposited', logs: receipt.logs }).filter(
    (l) => l.address.toLowerCase() === o.contract.toLowerCase(),
  )
  if (!log) throw new SinewError({ code: 'bad_response', message: `deposit tx ${evmTx} emitted no Deposited log`, details: { evmTx } })
  return {
    evmTx,
    blockNumber: receipt.blockNumber,
    logIndex: BigInt(log.logIndex),
    from,
    account: log.args.sinewAccount.toLowerCase() as Address,
    amount: log.args.amount,
    gasUsed: receipt.gasUsed,
    approveTx,
  }
}
