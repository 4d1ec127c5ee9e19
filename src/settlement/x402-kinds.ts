/**
 * x402's EVM `exact` scheme on the settlement token (docs/x402.md), on the ledger. The node,
 * its own facilitator, submits the payer's EIP-3009 `transferWithAuthorization` (tokens from
 * the payer to the settlement contract) and then signs two txs:
 *
 * - `DepositTransfer`: credits that transfer's `Transfer` log to the payer, exactly like a
 *   watcher's `Deposit` and under the same `deposit/<chain>/<tx>/<log>` key (so a log is
 *   credited once whichever path sees it), but without moving the watcher's resume cursor.
 *   Credited apart from the call, so a call that then fails leaves the tokens on the payer's
 *   Sinew balance, withdrawable.
 * - `AcceptEvmPayment`: opens the call's tab (an API-key record of the payer, spend limit =
 *   the value transferred, expiring at validBefore, for that one model, one call at a time)
 *   from the EIP-3009 authorisation itself. Its execution recovers the payer from the
 *   signature over the token's EIP-712 domain and requires the credited deposit to be that
 *   transfer, from that payer, of that value: the node cannot open a tab on anyone's balance
 *   without their signature, and `sinew verify` re-checks it. The call's RecordReceipt then
 *   charges the tab the actual fee.
 */
import { hashTypedData } from 'viem'
import { fromHex, SinewError, type Hex } from '../core/index.ts'
import { defineTxKind, readJson, recoverSigner, requireSequencer, type Address, type TxKind, type TxMessage } from '../ledger/index.ts'
import { apiKeyKey, readApiKey, readModel, type ApiKeyRecord } from '../models/index.ts'
import { creditDeposit, depositLogFields } from './kinds.ts'
import { readDeposit } from './state.ts'

/** EIP-3009's typed message, as the token (OpenZeppelin ERC3009) and @x402/evm hash it. */
export const transferWithAuthorizationTypes = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const

export type TransferAuthorization = { from: Address; to: Address; value: bigint; validAfter: bigint; validBefore: bigint; nonce: Hex }
export type TokenDomain = { name: string; version: string; chainId: bigint; verifyingContract: Address }

/** The EIP-712 digest the payer signed. */
export function transferAuthorizationDigest(domain: TokenDomain, a: TransferAuthorization): Uint8Array {
  return fromHex(
    hashTypedData({
      domain: { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract },
      types: transferWithAuthorizationTypes,
      primaryType: 'TransferWithAuthorization',
      message: a,
    }),
  )
}

/** Who signed an EIP-3009 authorisation (lower-case), or undefined for a malformed or high-s signature. */
export function transferAuthorizationSigner(domain: TokenDomain, a: TransferAuthorization, signature: Hex): Address | undefined {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return undefined
  try {
    return recoverSigner(transferAuthorizationDigest(domain, a), fromHex(signature)).toLowerCase() as Address
  } catch {
    return undefined
  }
}

/** Marks an EIP-3009 authorisation used for a call (`x402evm/<chain>/<token>/<from>/<nonce>`). */
export const evmPaymentKey = (evmChainId: bigint, token: Address, from: Address, nonce: Hex): string =>
  `x402evm/${evmChainId}/${token.toLowerCase()}/${from.toLowerCase()}/${nonce.toLowerCase()}`

export const depositTransferKind = defineTxKind({
  type: 'DepositTransfer',
  description:
    "Node-signed: credit the Transfer log of a payer's transferWithAuthorization (x402 `exact`: the payer's settlement tokens into the contract, whoever submitted it) to the payer, once per (chain, tx, log) like a Deposit",
  fields: depositLogFields,
  validate(m) {
    if (m.amount === 0n) throw new SinewError({ code: 'invalid_field', message: 'message.amount must be above zero', details: { field: 'message.amount' } })
    if (m.account !== m.from) {
      throw new SinewError({
        code: 'invalid_field',
        message: 'message.account must be the payer (`from`): a payment transfer is credited to who signed it',
        details: { field: 'message.account', account: m.account, from: m.from },
      })
    }
  },
  execute(ctx, m) {
    requireSequencer(ctx, 'credits payment transfers')
    creditDeposit(ctx, m, { advancesCursor: false })
    return { account: m.account, amount: m.amount, evmChainId: m.evmChainId, txHash: m.txHash, logIndex: m.logIndex }
  },
})

export const acceptEvmPaymentKind = defineTxKind({
  type: 'AcceptEvmPayment',
  description:
    "Node-signed: open the tab of one call of `model` paid with the x402 `exact` scheme, from the payer's EIP-3009 authorisation (signature over the token's EIP-712 domain) whose transfer the DepositTransfer at (evmChainId, depositTx, depositLogIndex) credited",
  fields: [
    { name: 'evmChainId', type: 'uint64' },
    { name: 'token', type: 'address' },
    { name: 'tokenName', type: 'string' },
    { name: 'tokenVersion', type: 'string' },
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'authNonce', type: 'bytes32' },
    { name: 'signature', type: 'bytes' },
    { name: 'depositTx', type: 'bytes32' },
    { name: 'depositLogIndex', type: 'uint64' },
    { name: 'model', type: 'string' },
    { name: 'tabHash', type: 'bytes32' },
  ],
  maxStringBytes: 256,
  execute(ctx, m) {
    requireSequencer(ctx, 'accepts payment authorisations')
    const auth = { from: m.from, to: m.to, value: m.value, validAfter: m.validAfter, validBefore: m.validBefore, nonce: m.authNonce }
    const domain = { name: m.tokenName, version: m.tokenVersion, chainId: m.evmChainId, verifyingContract: m.token }
    const signer = transferAuthorizationSigner(domain, auth, m.signature)
    if (signer !== m.from) {
      throw new SinewError({
        code: 'payment_signature_invalid',
        message: `The EIP-3009 authorisation is not signed by its payer ${m.from}`,
        details: { field: 'message.signature', from: m.from, recovered: signer ?? null },
      })
    }
    const deposit = readDeposit(ctx.state, m.evmChainId, m.depositTx, m.depositLogIndex)
    if (!deposit || deposit.account !== m.from || BigInt(deposit.amount) !== m.value) {
      throw new SinewError({
        code: 'payment_settlement_failed',
        message: `No credited transfer of ${m.value} from ${m.from} at EVM tx ${m.depositTx} log ${m.depositLogIndex}`,
        details: { field: 'message.depositTx', deposit: deposit ?? null },
      })
    }
    const key = evmPaymentKey(m.evmChainId, m.token, m.from, m.authNonce)
    if (readJson(ctx.state, key)) {
      throw new SinewError({
        code: 'payment_nonce_used',
        message: `The authorisation ${m.authNonce} of ${m.from} paid for a call already`,
        details: { field: 'message.authNonce' },
      })
    }
    const model = readModel(ctx.state, m.model)
    if (!model?.active)
      throw new SinewError({ code: 'model_not_found', message: `No active model ${m.model}`, details: { field: 'message.model', model: m.model } })
    if (readApiKey(ctx.state, m.tabHash))
      throw new SinewError({ code: 'apikey_exists', message: `A key with hash ${m.tabHash} exists already`, details: { field: 'message.tabHash' } })
    ctx.state.setJson(key, { height: ctx.height.toString(), depositTx: m.depositTx, tab: m.tabHash, tx: ctx.txHash })
    ctx.state.setJson(apiKeyKey(m.tabHash), {
      keyHash: m.tabHash,
      owner: m.from,
      label: `x402 exact ${m.authNonce}`,
      spendLimit: m.value.toString(),
      expiresAt: (m.validBefore * 1000n).toString(),
      spent: '0',
      calls: '0',
      revoked: false,
      grantedAt: ctx.timestamp.toString(),
      controls: { models: [m.model], concurrentCalls: 1, budgets: {} },
    } satisfies ApiKeyRecord)
    return { payer: m.from, value: m.value, model: m.model, depositTx: m.depositTx, authNonce: m.authNonce, tab: m.tabHash }
  },
})

export type DepositTransferMessage = TxMessage<typeof depositTransferKind>
export type AcceptEvmPaymentMessage = TxMessage<typeof acceptEvmPaymentKind>

export const evmPaymentKinds: TxKind<any>[] = [depositTransferKind, acceptEvmPaymentKind]
