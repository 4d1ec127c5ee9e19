/**
 * Block execution: the one deterministic function from (state, txs, block env) to
 * (receipts, state writes, roots). The sequencer, a replica and `sinew verify` all call
 * it, so they cannot disagree by construction, only by data.
 */
import { canonicalJson, fromHex, isSinewError, keccak256Bytes, SinewError, toHex, utf8, type Hex } from '../core/index.ts'
import { readAccount, writeAccount } from './accounts.ts'
import type { Address } from './address.ts'
import { executeDelegated } from './delegation.ts'
import type { ProtocolParams } from './genesis.ts'
import type { TxContext } from './kinds.ts'
import { listLeaf, merkleRoot } from './merkle/index.ts'
import { StateOverlay, type StateReader } from './state.ts'
import { receiptJsonWithResult, type Receipt, type SignedTx } from './tx.ts'

export type BlockEnv = { height: bigint; timestamp: bigint; params: ProtocolParams; sequencer: Address; chainId: bigint }

export type ExecutedTx = { tx: SignedTx; receipt: Receipt; receiptJson: string }
export type RejectedTx = { tx: SignedTx; error: SinewError }

export type Execution = {
  included: ExecutedTx[]
  rejected: RejectedTx[]
  writes: Map<string, Uint8Array | null>
  txRoot: Hex
  receiptsRoot: Hex
}

/** Runs txs in order on top of `base`; a tx that fails is left out and changes nothing. */
export function executeTxs(base: StateReader, txs: readonly SignedTx[], env: BlockEnv): Execution {
  const state = new StateOverlay(base)
  const included: ExecutedTx[] = []
  const rejected: RejectedTx[] = []
  for (const tx of txs) {
    try {
      const { result, resultJson } = executeOne(state, tx, env)
      state.commitTx()
      const receipt: Receipt = {
        txHash: tx.hash,
        index: included.length,
        type: tx.type,
        sender: tx.sender,
        nonce: tx.nonce.toString(),
        ...(tx.delegator ? { delegator: tx.delegator } : {}),
        result,
      }
      included.push({ tx, receipt, receiptJson: receiptJsonWithResult(receipt, resultJson) })
    } catch (e) {
      state.rollbackTx()
      rejected.push({ tx, error: asSinewError(e) })
    }
  }
  return {
    included,
    rejected,
    writes: state.writes(),
    txRoot: toHex(merkleRoot(included.map((x, i) => listLeaf(i, fromHex(x.tx.hash))))),
    receiptsRoot: toHex(merkleRoot(included.map((x, i) => listLeaf(i, keccak256Bytes(utf8(x.receiptJson)))))),
  }
}

function executeOne(state: StateOverlay, tx: SignedTx, env: BlockEnv): { result: Record<string, unknown>; resultJson: string } {
  const account = readAccount(state, tx.sender)
  if (tx.nonce !== account.nonce) {
    const low = tx.nonce < account.nonce
    throw new SinewError({
      code: low ? 'nonce_too_low' : 'nonce_too_high',
      message: low ? `Nonce ${tx.nonce} was already used by ${tx.sender}` : `Nonce ${tx.nonce} skips ahead of ${tx.sender}'s next nonce`,
      details: { field: 'message.nonce', sender: tx.sender, got: tx.nonce.toString(), expected: account.nonce.toString() },
      hint:
        !low && account.nonce === 0n && account.balance === 0n
          ? `The signature recovers to ${tx.sender}, an account with no history. If you meant another account, check the signing key and that you signed for this chain (GET /v1/types shows its chainId).`
          : low
            ? 'This tx or another with the same nonce is already on the ledger; sign a new one with the next nonce.'
            : `Nonces are strictly sequential: send nonce ${account.nonce} first.`,
    })
  }
  writeAccount(state, tx.sender, { ...account, nonce: account.nonce + 1n })
  // A session key's tx runs for its delegator, within the grant (./delegation.ts); its own nonce was bumped above.
  const ctx: TxContext = {
    sender: tx.delegator ?? tx.sender,
    txHash: tx.hash,
    height: env.height,
    timestamp: env.timestamp,
    params: env.params,
    sequencer: env.sequencer,
    chainId: env.chainId,
    state,
  }
  // The receipt holds the wire form (bigints as decimal strings), as stored and served.
  const result = tx.delegator ? executeDelegated(ctx, tx.sender, tx.kind, tx.message) : tx.kind.execute(ctx, tx.message)
  const resultJson = canonicalJson(result ?? {})
  return { result: JSON.parse(resultJson) as Record<string, unknown>, resultJson }
}

/** A handler's plain Error is a bug in the handler; it still only rejects that one tx. */
function asSinewError(e: unknown): SinewError {
  if (isSinewError(e)) return e
  return new SinewError({ code: 'tx_failed', message: `The tx handler failed: ${(e as Error)?.message ?? String(e)}`, cause: e })
}
