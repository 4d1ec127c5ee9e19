/** An account: balance and next nonce (live), what it earned, the txs it signed (paged, live), and a proof of its state entry. */
import { useState } from 'react'
import { api } from '../api.ts'
import { Link } from '../router.tsx'
import { Amount, Show, TxLink, useHead, useLoad } from '../ui.tsx'
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
      <History address={params.address} />
      <ProofPanel stateKey={params.address} />
    </section>
  )
}

const PAGE = 20

/**
 * The txs the account signed, newest first. The first page follows the head (live); older pages
 * are read by cursor, so new txs arriving do not shift what an older page shows.
 */
function History({ address }: { address: string }) {
  const head = useHead()
  // Cursors of the pages shown before this one; the last is this page's (undefined: the newest).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined])
  const before = cursors.at(-1)
  const txs = useLoad(
    () => api.get('/v1/accounts/{address}/txs', { path: { address }, query: { before, limit: PAGE } }),
    [address, before, before === undefined ? head.height : 0n],
  )
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>Transactions signed{before === undefined ? ' (live)' : ''}</h2>
      <Show loaded={txs}>
        {(t) => (
          <>
            <div className="scroll">
              <table data-testid="account-txs">
                <thead>
                  <tr>
                    <th scope="col">Tx</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Block</th>
                    <th scope="col" className="hide-narrow">
                      Nonce
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {t.txs.map((x) => (
                    <tr key={x.hash} data-testid="account-tx" data-hash={x.hash}>
                      <td>
                        <TxLink hash={x.hash} />
                      </td>
                      <td>{x.type}</td>
                      <td>
                        <Link to={`/blocks/${x.height}`}>{x.height}</Link>
                      </td>
                      <td className="hide-narrow">{x.nonce}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="row">
              <span data-testid="account-tx-count">{t.total === 0 ? 'No txs signed yet.' : `${t.txs.length} shown of ${t.total} txs signed`}</span>
              <button type="button" className="secondary" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Newer
              </button>
              <button type="button" className="secondary" disabled={!t.next} onClick={() => t.next && setCursors((c) => [...c, t.next!])}>
                Older
              </button>
            </p>
          </>
        )}
      </Show>
    </div>
  )
}
