/** One block: its header fields and its txs. */
import { api } from '../api.ts'
import { time } from '../format.ts'
import { Link } from '../router.tsx'
import { AccountLink, Show, TxLink, useLoad } from '../ui.tsx'

export default function Block({ params }: { params: Record<string, string> }) {
  const block = useLoad(() => api.get('/v1/blocks/{height}', { path: { height: params.height }, query: { txs: 'full' } }), [params.height])
  return (
    <section>
      <h1>Block {params.height}</h1>
      <Show loaded={block}>
        {(b) => (
          <>
            <dl className="kv card">
              <dt>Time</dt>
              <dd>{time(b.timestamp)}</dd>
              <dt>Hash</dt>
              <dd className="mono">{b.hash}</dd>
              <dt>Parent</dt>
              <dd className="mono">{b.height === '0' ? b.parentHash : <Link to={`/blocks/${BigInt(b.height) - 1n}`}>{b.parentHash}</Link>}</dd>
              <dt>Tx root</dt>
              <dd className="mono">{b.txRoot}</dd>
              <dt>State root</dt>
              <dd className="mono">{b.stateRoot}</dd>
              <dt>Receipts root</dt>
              <dd className="mono">{b.receiptsRoot}</dd>
              <dt>Proposer</dt>
              <dd>
                <AccountLink address={b.proposer} />
              </dd>
            </dl>
            <h2>{b.txCount} txs</h2>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Hash</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Signer</th>
                  </tr>
                </thead>
                <tbody>
                  {(b.txs ?? []).map((t) => (
                    <tr key={t.hash}>
                      <td>{t.index}</td>
                      <td>
                        <TxLink hash={t.hash} />
                      </td>
                      <td>{t.type}</td>
                      <td>
                        <AccountLink address={t.sender} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="row">
              {b.height !== '0' ? <Link to={`/blocks/${BigInt(b.height) - 1n}`}>← Block {BigInt(b.height) - 1n}</Link> : null}
              <Link to={`/blocks/${BigInt(b.height) + 1n}`}>Block {BigInt(b.height) + 1n} →</Link>
            </p>
          </>
        )}
      </Show>
    </section>
  )
}
