/**
 * A receipt on the ledger: its money and, when this browser has the output it pays for (the
 * ledger keeps only its hash) or the visitor pastes it, the output with its spans; the spans
 * of `?highlight=<address>` stand out. A pasted output is checked against outputHash.
 */
import { useState } from 'react'
import { keccak256, stringToBytes } from 'viem'
import { api } from '../api.ts'
import { AttributedOutput, ReceiptSummary, recallOutput } from '../attributed.tsx'
import { Show, useLoad } from '../ui.tsx'

export default function ReceiptPage({ params }: { params: Record<string, string> }) {
  const highlight = new URLSearchParams(location.search).get('highlight') ?? undefined
  const receipt = useLoad(() => api.get('/v1/receipts/{id}', { path: { id: params.id } }), [params.id])
  const [pasted, setPasted] = useState('')
  return (
    <section>
      <h1>Receipt</h1>
      <Show loaded={receipt}>
        {(r) => {
          const candidate = pasted || recallOutput(r.id)
          const matches = candidate !== undefined && keccak256(stringToBytes(candidate)) === r.outputHash
          return (
            <>
              {matches ? (
                <>
                  <h2>Output</h2>
                  <AttributedOutput text={candidate!} receipt={r} highlight={highlight} />
                </>
              ) : (
                <div className="card">
                  <p>
                    The ledger keeps the output's hash, not its text. Paste the output to see its {r.spans.length} attributed spans (it is checked against{' '}
                    <span className="mono">{r.outputHash.slice(0, 18)}…</span>).
                  </p>
                  <label htmlFor="paste">Output text</label>
                  <textarea id="paste" rows={3} style={{ width: '100%' }} value={pasted} onChange={(e) => setPasted(e.target.value)} />
                  {pasted && !matches ? (
                    <p role="alert" className="error">
                      This text does not hash to the receipt's outputHash.
                    </p>
                  ) : null}
                </div>
              )}
              <ReceiptSummary receipt={r} highlight={highlight} />
              <details>
                <summary>Method and hashes</summary>
                <pre>
                  {JSON.stringify({ method: r.method, requestHash: r.requestHash, outputHash: r.outputHash, spans: r.spans, weights: r.weights }, null, 2)}
                </pre>
              </details>
            </>
          )
        }}
      </Show>
    </section>
  )
}
