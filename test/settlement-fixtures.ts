/**
 * Shared pieces of the settlement contract tests and the gas benchmark: a real anvil with
 * the contracts deployed, Sinew headers signed with Sinew's own code, Sinew state (and so
 * state proofs) from the ledger's own CommittedState, and revert names read from viem.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeAbiParameters,
  http,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { fromHex, toHex } from '../src/core/index.ts'
import { addressOf, CommittedState, encodeAccount, headerHash, signDigest, ZERO_HASH, type BlockHeader, type SignedHeader } from '../src/ledger/index.ts'
import { chainAt, deploySettlement, sinewDevTokenAbi, sinewSettlementAbi, startAnvil, type Anvil, type SettlementDeployment } from '../src/settlement/index.ts'
import { dev } from './helpers.ts'

/** The sequencer of these tests' Sinew chain (not an anvil account: it never pays EVM gas). */
export const SEQUENCER_KEY: Hex = '0x5e9ce5e9ce5e9ce5e9ce5e9ce5e9ce5e9ce5e9ce5e9ce5e9ce5e9ce5e9ce5e9c'
export const SEQUENCER = addressOf(SEQUENCER_KEY)
export const ONE = 10n ** 18n

export type SettlementChain = {
  anvil: Anvil
  chain: Chain
  deployment: SettlementDeployment
  publicClient: PublicClient
  /** Wallets of anvil's (= Sinew's dev) accounts 0..4; 0 deployed and owns the token. */
  wallets: WalletClient[]
  tokenBalance(address: Address): Promise<bigint>
  /** Sends a settlement call from `wallet`; resolves with the receipt, or rejects with viem's error (decoded revert). */
  send(wallet: WalletClient, functionName: string, args: readonly unknown[]): Promise<TransactionReceipt>
  read<T>(functionName: string, args?: readonly unknown[]): Promise<T>
  /** anvil-only: moves the EVM clock. Tests only. */
  increaseTime(seconds: number): Promise<void>
  stop(): Promise<void>
}

/** Starts anvil, deploys the dev token and the settlement contract, mints 1000 tokens to dev accounts 1..4. */
export async function startSettlementChain(options: { escapeDelaySeconds?: bigint } = {}): Promise<SettlementChain> {
  const anvil = await startAnvil()
  try {
    const chain = await chainAt(anvil.rpcUrl)
    const deployment = await deploySettlement({
      rpcUrl: anvil.rpcUrl,
      deployer: dev[0].privateKey,
      sequencer: SEQUENCER,
      escapeDelaySeconds: options.escapeDelaySeconds ?? 3600n,
      pollingIntervalMs: 20,
      mint: dev.slice(1, 5).map((a) => ({ to: a.address, amount: 1000n * ONE })),
    })
    const transport = http(anvil.rpcUrl)
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 }) as PublicClient
    const wallets = dev.slice(0, 5).map((a) => createWalletClient({ account: privateKeyToAccount(a.privateKey), chain, transport, pollingInterval: 20 }))
    const testClient = createTestClient({ chain, transport, mode: 'anvil' })
    return {
      anvil,
      chain,
      deployment,
      publicClient,
      wallets,
      tokenBalance: (address) => publicClient.readContract({ address: deployment.token, abi: sinewDevTokenAbi, functionName: 'balanceOf', args: [address] }),
      async send(wallet, functionName, args) {
        // Simulated first: viem decodes a revert into the contract's custom error from the ABI.
        const { request } = await publicClient.simulateContract({
          address: deployment.settlement,
          abi: sinewSettlementAbi,
          functionName: functionName as never,
          args: args as never,
          account: wallet.account!,
        })
        const hash = await wallet.writeContract(request as never)
        const receipt = await publicClient.waitForTransactionReceipt({ hash })
        if (receipt.status !== 'success') throw new Error(`${functionName} reverted in block ${receipt.blockNumber}`)
        return receipt
      },
      read: <T>(functionName: string, args: readonly unknown[] = []) =>
        publicClient.readContract({
          address: deployment.settlement,
          abi: sinewSettlementAbi,
          functionName: functionName as never,
          args: args as never,
        }) as Promise<T>,
      async increaseTime(seconds) {
        await testClient.increaseTime({ seconds })
        await testClient.mine({ blocks: 1 })
      },
      stop: () => anvil.stop(),
    }
  } catch (e) {
    await anvil.stop()
    throw e
  }
}

/** The custom error a call reverted with (viem decodes it from the contract's ABI). */
export async function revertOf(call: Promise<unknown>): Promise<{ name: string; args: readonly unknown[] }> {
  try {
    await call
  } catch (e) {
    const reverted = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) return { name: reverted.data.errorName, args: reverted.data.args ?? [] }
    throw e
  }
  throw new Error('the call did not revert')
}

/** Approves and deposits `amount` from `wallet` for `sinewAccount`. */
export async function approveAndDeposit(c: SettlementChain, wallet: WalletClient, amount: bigint, sinewAccount: Address) {
  const approve = await wallet.writeContract({
    address: c.deployment.token,
    abi: sinewDevTokenAbi,
    functionName: 'approve',
    args: [c.deployment.settlement, amount],
    account: wallet.account!,
    chain: c.chain,
  })
  await c.publicClient.waitForTransactionReceipt({ hash: approve })
  return c.send(wallet, 'deposit', [amount, sinewAccount])
}

/** A Sinew header over `state`'s current root, hashed and signed by `key` with Sinew's code. */
export function signHeader(key: Hex, fields: Partial<BlockHeader> & { height: bigint; stateRoot: Hex }): SignedHeader {
  const header: BlockHeader = {
    parentHash: toHex(ZERO_HASH),
    timestamp: 1_700_000_000_000n + fields.height * 1000n,
    txRoot: toHex(ZERO_HASH),
    receiptsRoot: toHex(ZERO_HASH),
    txCount: 1,
    proposer: addressOf(key),
    ...fields,
  }
  const hash = headerHash(header)
  return { ...header, hash, signature: signDigest(key, fromHex(hash)) }
}

/** A header as the contract's `Header` struct. */
export function solHeader(h: BlockHeader) {
  return {
    height: h.height,
    parentHash: h.parentHash,
    timestamp: h.timestamp,
    txRoot: h.txRoot,
    stateRoot: h.stateRoot,
    receiptsRoot: h.receiptsRoot,
    txCount: h.txCount,
    proposer: h.proposer,
  }
}

/** Sinew's `withdrawal/<id>` key and its value abi.encode(account, recipient, amount). */
export const withdrawalKey = (id: Hex): string => `withdrawal/${id.toLowerCase()}`
export const withdrawalValue = (account: Address, recipient: Address, amount: bigint): Uint8Array =>
  fromHex(encodeAbiParameters([{ type: 'address' }, { type: 'address' }, { type: 'uint256' }], [account, recipient, amount]))

/** A Sinew state holding `accounts` and `withdrawals`, built with the ledger's own CommittedState (its tree gives the proofs). */
export function sinewState(
  o: {
    accounts?: Record<Address, bigint>
    withdrawals?: { id: Hex; account: Address; recipient: Address; amount: bigint }[]
    extra?: Record<string, Uint8Array>
  } = {},
): CommittedState {
  const state = new CommittedState()
  const writes = new Map<string, Uint8Array>()
  for (const [address, balance] of Object.entries(o.accounts ?? {})) writes.set(`acct/${address.toLowerCase()}`, encodeAccount({ balance, nonce: 1n }))
  for (const w of o.withdrawals ?? []) writes.set(withdrawalKey(w.id), withdrawalValue(w.account, w.recipient, w.amount))
  for (const [k, v] of Object.entries(o.extra ?? {})) writes.set(k, v)
  state.apply(writes)
  return state
}

export const siblingsOf = (state: CommittedState, key: string): Hex[] => state.prove(key).proof.siblings as Hex[]
export const rootOf = (state: CommittedState): Hex => toHex(state.root())
