/**
 * Claiming a withdrawal on the EVM chain (`sinew settle claim`): find the Withdraw tx on
 * Sinew, wait until a checkpoint posted to the contract covers its block, fetch the proof
 * of `withdrawal/<id>` at that checkpoint's height (GET /v1/proof/...?height=H), check it
 * against the contract's stored root, and send `withdraw(...)`. Plain JSON-RPC only.
 */
import { BaseError, ContractFunctionRevertedError, decodeAbiParameters, type Hex } from 'viem'
import type { NodeApi } from '../client/node-client.ts'
import { SinewError } from '../core/index.ts'
import type { Address } from '../ledger/index.ts'
import { sinewSettlementAbi } from './contracts.ts'
import { evmWallet, type EvmClients } from './evm.ts'
import { withdrawalKey } from './state.ts'

export type ClaimOptions = {
  api: NodeApi
  evm: EvmClients
  contract: Address
  /** Sends the EVM tx and pays its gas (anyone may: the tokens go to the recorded recipient). */
  key: Hex
  /** The withdrawal id: the Withdraw tx hash. */
  id: Hex
  /** How long to wait for a checkpoint to cover the withdrawal (0: do not wait). */
  waitMs?: number
  pollMs?: number
  /** Called while waiting for a checkpoint, with what the contract says (progress for the CLI). */
  onWait?: (w: { withdrawnAt: bigint; lastCheckpointHeight: bigint }) => void
}

export type ClaimResult = { id: Hex; checkpointHeight: string; account: Address; recipient: Address; amount: string; evmTx: Hex; gasUsed: string }

type ProofBundle = {
  key: string
  value: Hex | null
  proof: { siblings: Hex[] }
  header: { height: string; stateRoot: Hex }
}

export async function claimWithdrawal(o: ClaimOptions): Promise<ClaimResult> {
  const id = o.id.toLowerCase() as Hex
  if (!/^0x[0-9a-f]{64}$/.test(id)) {
    throw new SinewError({
      code: 'invalid_field',
      message: 'The withdrawal id must be the Withdraw tx hash (0x and 64 hex digits)',
      details: { field: 'id', got: o.id },
    })
  }
  const tx = await o.api.get<{ height: string; type: string }>(`/v1/tx/${id}`).catch((e: SinewError) => {
    if (e.code === 'not_found') throw notFound(id)
    throw e
  })
  if (tx.type !== 'Withdraw') throw notFound(id)
  const withdrawnAt = BigInt(tx.height)
  const read = <F extends 'lastCheckpointHeight' | 'withdrawn'>(functionName: F, args?: readonly [Hex]) =>
    o.evm.client.readContract({ address: o.contract, abi: sinewSettlementAbi, functionName, args } as never) as Promise<
      F extends 'withdrawn' ? boolean : bigint
    >
  if (await read('withdrawn', [id])) {
    throw new SinewError({ code: 'evm_tx_reverted', message: `Withdrawal ${id} is claimed already`, details: { errorName: 'AlreadyWithdrawn', id } })
  }
  const deadline = Date.now() + (o.waitMs ?? 0)
  let height = await read('lastCheckpointHeight')
  while (height < withdrawnAt) {
    if (Date.now() >= deadline) {
      throw new SinewError({
        code: 'withdrawal_not_checkpointed',
        message: `Withdrawal ${id} is in Sinew block ${withdrawnAt}; the last checkpoint on the contract is at height ${height}`,
        details: { id, withdrawnAt: withdrawnAt.toString(), lastCheckpointHeight: height.toString() },
        hint: 'The node posts checkpoints every settlementCheckpointBlocks blocks or settlementCheckpointMs; claim again later, or pass --wait.',
      })
    }
    o.onWait?.({ withdrawnAt, lastCheckpointHeight: height })
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000))
    height = await read('lastCheckpointHeight')
  }
  const bundle = await o.api.get<ProofBundle>(`/v1/proof/${encodeURIComponent(withdrawalKey(id))}?height=${height}`)
  if (BigInt(bundle.header.height) !== height) {
    throw new SinewError({
      code: 'bad_response',
      message: `The node answered a proof at height ${bundle.header.height}, not the checkpointed height ${height}`,
      details: { asked: height.toString(), got: bundle.header.height },
      hint: 'The node must serve proofs at checkpointed heights (GET /v1/proof/:key?height=H).',
    })
  }
  if (bundle.value === null) throw notFound(id)
  const [account, recipient, amount] = decodeAbiParameters([{ type: 'address' }, { type: 'address' }, { type: 'uint256' }], bundle.value)
  const wallet = evmWallet(o.evm, o.key)
  const args = [height, id, account, recipient, amount, bundle.proof.siblings] as const
  let request
  try {
    ;({ request } = await o.evm.client.simulateContract({
      address: o.contract,
      abi: sinewSettlementAbi,
      functionName: 'withdraw',
      args,
      account: wallet.account,
    }))
  } catch (e) {
    throw revertError(e, 'withdraw')
  }
  const evmTx = await wallet.writeContract(request)
  const receipt = await o.evm.client.waitForTransactionReceipt({ hash: evmTx })
  if (receipt.status !== 'success') throw new SinewError({ code: 'evm_tx_reverted', message: `withdraw tx ${evmTx} reverted`, details: { evmTx } })
  return {
    id,
    checkpointHeight: height.toString(),
    account: account.toLowerCase() as Address,
    recipient: recipient.toLowerCase() as Address,
    amount: amount.toString(),
    evmTx,
    gasUsed: receipt.gasUsed.toString(),
  }
}

const notFound = (id: Hex) =>
  new SinewError({
    code: 'withdrawal_not_found',
    message: `No Withdraw tx ${id} on this Sinew node`,
    details: { id },
    hint: 'The id is the hash `sinew settle withdraw` printed (the Withdraw tx hash).',
  })

/** A contract revert as a SinewError naming the contract's custom error. */
export function revertError(e: unknown, fn: string): SinewError {
  if (e instanceof BaseError) {
    const revert = e.walk((x) => x instanceof ContractFunctionRevertedError)
    if (revert instanceof ContractFunctionRevertedError) {
      const errorName = revert.data?.errorName ?? 'unknown'
      return new SinewError({
        code: 'evm_tx_reverted',
        message: `${fn} reverted: ${errorName}${revert.data?.args ? `(${revert.data.args.map(String).join(', ')})` : ''}`,
        details: { errorName, args: (revert.data?.args ?? []).map(String) },
        cause: e,
      })
    }
    return new SinewError({ code: 'evm_rpc_unavailable', message: e.shortMessage, details: { reason: e.shortMessage }, cause: e })
  }
  throw e
}
