/** Sign in: an EIP-1193 wallet, or on a dev network one of the public dev accounts (INSECURE). Keys never leave the browser. */
import { useEffect, useState } from 'react'
import { short } from '../format.ts'
import { navigate } from '../router.tsx'
import { ActionButton } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'

export default function SignIn() {
  const { status, account, connectWallet, signInAsDev, disconnect } = useWallet()
  const [devAddresses, setDevAddresses] = useState<string[]>()
  useEffect(() => {
    if (!status?.insecure) return
    Promise.all([import('../dev-accounts.ts'), import('viem/accounts')]).then(([dev, viem]) =>
      setDevAddresses(Array.from({ length: dev.DEV_ACCOUNT_COUNT }, (_, i) => viem.privateKeyToAccount(dev.devKey(i)).address.toLowerCase())),
    )
  }, [status?.insecure])
  return (
    <section>
      <h1>Sign in</h1>
      {account ? (
        <div className="card">
          <p>
            Signed in as <strong>{account.label}</strong> <span className="mono">{account.address}</span>.
          </p>
          <button type="button" className="secondary" onClick={disconnect}>
            Sign out
          </button>
        </div>
      ) : null}
      <div className="card">
        <h2 style={{ marginTop: 0 }}>Browser wallet</h2>
        <p>
          Any EIP-1193 wallet (MetaMask and the like). Every write is an EIP-712 signature your wallet shows you in readable form; nothing is signed without
          you.
        </p>
        <ActionButton run={() => connectWallet().then(() => navigate('/'))}>Connect wallet</ActionButton>
      </div>
      {status?.insecure ? (
        <div className="card">
          <h2 style={{ marginTop: 0 }}>Dev accounts (INSECURE)</h2>
          <p className="insecure">These accounts' keys are derived from the public test mnemonic: anyone can sign for them. For this dev network only.</p>
          <ul style={{ listStyle: 'none', padding: 0 }}>
            {(devAddresses ?? []).map((a, i) => (
              <li key={a} style={{ margin: '4px 0' }}>
                <ActionButton className="secondary" run={() => signInAsDev(i).then(() => navigate('/'))}>
                  Use dev account #{i} ({short(a, 4)})
                </ActionButton>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  )
}
