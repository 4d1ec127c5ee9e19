/**
 * Earnings of an account (the signed-in one, or any address): over time as a bar chart, by
 * role, model and Datanet, and the receipts that paid it, each opening to the output with
 * this account's spans highlighted. Every figure is an exact sum of receipts on the ledger.
 */
import { useState, type FormEvent } from 'react'
import { api } from '../api.ts'
import { formatSin, short, time } from '../format.ts'
import { Link, navigate } from '../router.tsx'
import { Amount, Show, useHead, useLoad, Pager } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'

const PAGE = 20

export default function Earnings({ params }: { params: Record<string, string> }) {
  const { account } = useWallet()
  const address = params.address ?? account?.address
  const [other, setOther] = useState('')
  const go = (e: FormEvent) => {
    e.preventDefault()
    if (other.trim()) navigate(`/earnings/${other.trim().toLowerCase()}`)
  }
  return (
    <section>
      <h1>Earnings</h1>
      <form onSubmit={go} className="row">
        <label htmlFor="addr" style={{ margin: 0 }}>
          Account
        </label>
        <input id="addr" placeholder="0x… address" value={other} onChange={(e) => setOther(e.target.value)} style={{ flex: 1, minWidth: 0 }} />
        <button type="submit">Show</button>
      </form>
      {address ? <AccountEarnings address={address} /> : <p>Sign in, or enter an address, to see its earnings.</p>}
    </section>
  )
}

function AccountEarnings({ address }: { address: string }) {
  const head = useHead()
  const [offset, setOffset] = useState(0)
  const earnings = useLoad(
    () => api.get('/v1/accounts/{address}/earnings', { path: { address }, query: { offset, limit: PAGE } }),
    [address, offset, head.height],
  )
  return (
    <Show loaded={earnings}>
      {(e) => (
        <>
          <p>
            <Link to={`/account/${e.address}`} className="mono">
              {e.address}
            </Link>{' '}
            earned <strong data-testid="earned-total">{formatSin(e.total)}</strong> from {e.receipts} paid calls.
          </p>
          <h2>Over time</h2>
          <DayChart days={e.overTime} />
          <div className="row" style={{ alignItems: 'flex-start' }}>
            <Breakdown title="By role" values={e.byRole} />
            <Breakdown title="By model" values={e.byModel} />
            <Breakdown title="By Datanet" values={e.byDatanet} link={(k) => `/datanets/${k.split('@')[0]}`} />
          </div>
          <h2>Receipts that paid this account</h2>
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Receipt</th>
                  <th scope="col">Model</th>
                  <th scope="col">As</th>
                  <th scope="col">Amount</th>
                  <th scope="col" className="hide-narrow">
                    Time
                  </th>
                </tr>
              </thead>
              <tbody>
                {e.paidBy.map((r) => (
                  <tr key={r.receipt} data-testid="paying-receipt">
                    <td>
                      <Link to={`/receipts/${r.receipt}?highlight=${e.address}`} className="mono">
                        {short(r.receipt)}
                      </Link>
                    </td>
                    <td>{r.model}</td>
                    <td>{r.roles.join(', ')}</td>
                    <td>
                      <Amount value={r.amount} />
                    </td>
                    <td className="hide-narrow">{time(r.timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            offset={offset}
            shown={e.paidBy.length}
            total={e.receipts}
            page={PAGE}
            setOffset={setOffset}
            empty="No receipts yet."
            labels={['Newer', 'Older']}
          />
        </>
      )}
    </Show>
  )
}

function Breakdown({ title, values, link }: { title: string; values: Record<string, string>; link?: (key: string) => string }) {
  const entries = Object.entries(values)
  return (
    <div className="card" style={{ flex: '1 1 220px' }}>
      <h3 style={{ marginTop: 0 }}>{title}</h3>
      {entries.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <ul style={{ paddingLeft: 18 }}>
          {entries.map(([k, v]) => (
            <li key={k}>
              {link ? <Link to={link(k)}>{k.startsWith('0x') ? short(k) : k}</Link> : k.startsWith('0x') ? short(k) : k}: <Amount value={v} />
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** Earnings per day as bars (heights scaled exactly from bigints); the table beside it is the accessible form. */
function DayChart({ days }: { days: { day: string; amount: string }[] }) {
  if (days.length === 0) return <p className="muted">No earnings yet.</p>
  const shown = days.slice(-30)
  const max = shown.reduce((m, d) => (BigInt(d.amount) > m ? BigInt(d.amount) : m), 1n)
  const W = 24
  const H = 120
  return (
    <figure style={{ margin: 0 }}>
      <svg
        className="chart"
        viewBox={`0 0 ${shown.length * W + 10} ${H + 30}`}
        width="100%"
        height={H + 30}
        role="img"
        aria-label={`Earnings per day, last ${shown.length} days with earnings`}
        preserveAspectRatio="xMinYMax meet"
      >
        {shown.map((d, i) => {
          const h = Math.max(2, Number((BigInt(d.amount) * BigInt(H)) / max))
          return (
            <g key={d.day}>
              <rect x={i * W + 5} y={H - h} width={W - 6} height={h}>
                <title>{`${d.day}: ${formatSin(d.amount)}`}</title>
              </rect>
              {i === 0 || i === shown.length - 1 ? (
                <text x={i * W + 5} y={H + 16}>
                  {d.day.slice(5)}
                </text>
              ) : null}
            </g>
          )
        })}
      </svg>
      <figcaption>
        <details>
          <summary>As a table</summary>
          <table>
            <tbody>
              {shown.map((d) => (
                <tr key={d.day}>
                  <th scope="row">{d.day}</th>
                  <td>
                    <Amount value={d.amount} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  )
}
