/** An account: balance and next nonce (live), what it earned, and a proof of its state entry. */
import { api } from '../api.ts'
import { Link } from '../router.tsx'
import { Amount, Show, useHead, useLoad } from '../ui.tsx'
import { ProofPanel } from './proof.tsx'

export default function AccountPage({ params }: { params: Record<string, string> }) {
  const head = useHead()
  const account = useLoad(() => api.get('/v1/accounts/{address}', { path: { address: params.address } }), [params.address, head.height])
  const earnings = useLoad(() => api.get('/v1/accounts/{address}/earnings', { path: { address: params.address }, query: {} }), [params.address, head.height])
  return (
    <section>
      <h1>Account</h1>
      <Show loaded={account}>
        {(a) => (
          <dl className="kv card">
            <dt>Address</dt>
            <dd className="mono">{a.address}</dd>
            <dt>Balance</dt>
            <dd data-testid="balance">
              <Amount value={a.balance} />
            </dd>
            <dt>Next nonce</dt>
            <dd>{a.nonce}</dd>
            <dt>Read at block</dt>
            <dd>
              <Link to={`/blocks/${a.height}`}>{a.height}</Link>
            </dd>
          </dl>
        )}
      </Show>
      <Show loaded={earnings}>
        {(e) => (
          <div className="card">
            <h2 style={{ marginTop: 0 }}>Earnings</h2>
            <p>
              Earned <Amount value={e.total} /> from {e.receipts} paid calls; spent <Amount value={e.spent} /> on {e.calls} calls.{' '}
              <Link to={`/earnings/${params.address}`}>Earnings over time and receipts</Link>
            </p>
          </div>
        )}
      </Show>
      <ProofPanel stateKey={params.address} />
    </section>
  )
}
