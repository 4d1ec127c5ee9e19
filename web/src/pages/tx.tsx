/** One tx: the decoded message field by field with its EIP-712 types, the signer recovered by the node, and its receipt. */
import { api } from '../api.ts'
import { txTypes } from '../signing.ts'
import { Link } from '../router.tsx'
import { AccountLink, Show, useLoad } from '../ui.tsx'

export default function Tx({ params }: { params: Record<string, string> }) {
  const tx = useLoad(async () => {
    const [t, types] = await Promise.all([api.get('/v1/tx/{hash}', { path: { hash: params.hash } }), txTypes()])
    return { t, kind: types.kinds[t.type] }
  }, [params.hash])
  return (
    <section>
      <h1>Transaction</h1>
      <Show loaded={tx}>
        {({ t, kind }) => (
          <>
            <dl className="kv card">
              <dt>Hash (EIP-712 digest)</dt>
              <dd className="mono">{t.hash}</dd>
              <dt>Kind</dt>
              <dd>
                {t.type}
                {kind ? <span className="muted"> — {kind.description}</span> : null}
              </dd>
              <dt>Signer</dt>
              <dd>
                <AccountLink address={t.sender} /> <span className="muted">(recovered from the signature)</span>
              </dd>
              <dt>Nonce</dt>
              <dd>{t.nonce}</dd>
              <dt>Block</dt>
              <dd>
                <Link to={`/blocks/${t.height}`}>{t.height}</Link> (index {t.index})
              </dd>
            </dl>
            <h2>Message</h2>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Type</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {(kind?.types[kind.primaryType] ?? Object.keys(t.message).map((name) => ({ name, type: '' }))).map((f) => (
                    <tr key={f.name}>
                      <td>{f.name}</td>
                      <td className="mono">{f.type}</td>
                      <td className="mono" style={{ wordBreak: 'break-all' }}>
                        {typeof t.message[f.name] === 'object' ? JSON.stringify(t.message[f.name]) : String(t.message[f.name])}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h2>Receipt</h2>
            <pre>{JSON.stringify(t.receipt.result, null, 2)}</pre>
            {t.type === 'RecordReceipt' ? (
              <p>
                <Link to={`/receipts/${(t.message as { id: string }).id}`}>Open the inference receipt</Link>
              </p>
            ) : null}
            <details>
              <summary>Signature</summary>
              <p className="mono" style={{ wordBreak: 'break-all' }}>
                {t.signature}
              </p>
            </details>
          </>
        )}
      </Show>
    </section>
  )
}
