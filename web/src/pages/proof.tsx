/** A state proof of one key: downloadable as JSON (for `sinew proof verify`) and checked in the page against the signed header. */
import { useState } from 'react'
import { api } from '../api.ts'
import { checkBundle, type Bundle, type ProofCheck } from '../proof-check.ts'
import { ActionButton } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'

export function ProofPanel({ stateKey }: { stateKey: string }) {
  const { status } = useWallet()
  const [bundle, setBundle] = useState<Bundle>()
  const [check, setCheck] = useState<ProofCheck>()
  const fetchProof = async () => {
    setCheck(undefined)
    const b = (await api.get('/v1/proof/{key}', { path: { key: stateKey } })) as unknown as Bundle
    setBundle(b)
    setCheck(await checkBundle(b, status?.sequencer))
  }
  const href = bundle ? URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/json' })) : undefined
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>State proof</h2>
      <p className="muted">
        A Merkle proof of this entry against the latest signed block header: check it here, or download it and run <code>sinew proof verify</code>.
      </p>
      <ActionButton run={fetchProof} className="secondary">
        Get and check proof
      </ActionButton>
      {bundle && check ? (
        <div data-testid="proof-result">
          <p className={check.ok ? 'ok' : 'error'} role="status">
            {check.ok
              ? `Proof checked in this page: ${bundle.value === null ? 'absent' : 'present'} in the state of block ${bundle.header.height}, header signed by ${check.signer ?? 'genesis'}.`
              : `Proof does NOT check: ${check.problems.join('; ')}`}
          </p>
          <a href={href} download={`proof-${bundle.key.replace(/[^\w.-]+/g, '_')}-${bundle.header.height}.json`}>
            Download proof (JSON)
          </a>
        </div>
      ) : null}
    </div>
  )
}
