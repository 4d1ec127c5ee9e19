/**
 * Who the page acts as: an EIP-1193 wallet (MetaMask and the like, through viem's custom
 * transport), or, on a dev network only, one of the well-known dev accounts (derived in the
 * page from the public test mnemonic, behind an INSECURE banner). The choice (never a key)
 * is remembered in this browser.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import type { EIP1193Provider } from 'viem'
import { api, type Schemas } from './api.ts'
import type { Signer } from './signing.ts'
import { useHead } from './ui.tsx'

export type Account = Signer & { kind: 'dev' | 'wallet'; label: string }

type WalletState = {
  status: Schemas['NodeStatus'] | undefined
  account: Account | undefined
  connectWallet(): Promise<void>
  signInAsDev(index: number): Promise<void>
  disconnect(): void
}

const WalletContext = createContext<WalletState | undefined>(undefined)
const STORAGE_KEY = 'sinew.account'

declare global {
  interface Window {
    ethereum?: EIP1193Provider
  }
}

/** A typed error a wallet action ends with, shown as is. */
export class WalletError extends Error {
  constructor(
    readonly code: 'no_wallet' | 'wrong_network' | 'signature_refused' | 'not_dev',
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** viem's and EIP-1193's "the user said no" (code 4001), as one message. */
function refused(e: unknown): never {
  const err = e as { code?: number; name?: string; cause?: { code?: number } }
  if (err?.code === 4001 || err?.cause?.code === 4001 || err?.name === 'UserRejectedRequestError')
    throw new WalletError(
      'signature_refused',
      'You refused to sign: nothing was sent to the node.',
      'Sign again when you are ready; your account is unchanged.',
    )
  throw e
}

/** The wallet's account: asked for (a prompt), or, on `silent` (restoring after a reload), only if already shared. */
async function walletSigner(provider: EIP1193Provider, chainId: bigint, silent = false): Promise<Account> {
  const { createWalletClient, custom } = await import('viem')
  const client = createWalletClient({ transport: custom(provider) })
  const [address] = silent ? await client.getAddresses() : await client.requestAddresses().catch(refused)
  if (!address) throw new WalletError('no_wallet', 'The wallet shared no account.', 'Unlock the wallet and allow this page to see an account.')
  return {
    kind: 'wallet',
    label: 'Wallet',
    address: address.toLowerCase() as `0x${string}`,
    async signTypedData(data) {
      // A wallet signs EIP-712 for the chain it is on: the domain must match, or it refuses.
      const walletChain = BigInt(await client.getChainId())
      if (walletChain !== chainId)
        throw new WalletError(
          'wrong_network',
          `Your wallet is on chain ${walletChain}, but this Sinew network signs for chain ${chainId}.`,
          `Switch the wallet to chain id ${chainId} (add it as a custom network if needed), then sign again. Nothing was sent.`,
        )
      return client.signTypedData({ account: address, ...(data as any) }).catch(refused)
    },
  }
}

async function devSigner(index: number): Promise<Account> {
  const { devKey } = await import('./dev-accounts.ts')
  const { privateKeyToAccount } = await import('viem/accounts')
  const account = privateKeyToAccount(devKey(index))
  return {
    kind: 'dev',
    label: `Dev account #${index}`,
    address: account.address.toLowerCase() as `0x${string}`,
    signTypedData: (data) => account.signTypedData(data as any),
  }
}

export function WalletProvider({ children }: { children: ReactNode }) {
  const head = useHead()
  const known = head.status !== undefined
  // The network (chain id, dev or not) is fixed for the node's life: the first status read says it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: read once, when it first arrives
  const status = useMemo(() => head.status, [known])
  const [account, setAccount] = useState<Account>()

  // Restore the last choice: a dev account by its index (dev networks only), or the wallet.
  useEffect(() => {
    if (!status) return
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved?.startsWith('dev:') && status.insecure) devSigner(Number(saved.slice(4))).then(setAccount)
    else if (saved === 'wallet' && window.ethereum) walletSigner(window.ethereum, BigInt(status.chainId), true).then(setAccount, () => undefined)
  }, [status])

  const connectWallet = useCallback(async () => {
    if (!window.ethereum)
      throw new WalletError('no_wallet', 'No browser wallet found.', 'Install an Ethereum wallet extension (MetaMask or another EIP-1193 wallet) and reload.')
    const s = status ?? (await api.get('/v1/status'))
    const a = await walletSigner(window.ethereum, BigInt(s.chainId))
    localStorage.setItem(STORAGE_KEY, 'wallet')
    setAccount(a)
  }, [status])

  const signInAsDev = useCallback(
    async (index: number) => {
      if (!status?.insecure) throw new WalletError('not_dev', 'Dev accounts exist on dev networks only.', 'Connect a wallet instead.')
      const a = await devSigner(index)
      localStorage.setItem(STORAGE_KEY, `dev:${index}`)
      setAccount(a)
    },
    [status],
  )

  const disconnect = useCallback(() => {
    localStorage.removeItem(STORAGE_KEY)
    setAccount(undefined)
  }, [])

  const value = useMemo(() => ({ status, account, connectWallet, signInAsDev, disconnect }), [status, account, connectWallet, signInAsDev, disconnect])
  return <WalletContext.Provider value={value}>{children}</WalletContext.Provider>
}

export function useWallet(): WalletState {
  const w = useContext(WalletContext)
  if (!w) throw new Error('useWallet outside WalletProvider')
  return w
}
