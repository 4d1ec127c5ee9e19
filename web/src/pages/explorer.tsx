/** The first page: the chain's head, search, and the latest blocks, live as blocks arrive (paged backwards). */
import { useState, type FormEvent } from 'react'
import { api } from '../api.ts'
import { short, time } from '../format.ts'
import { Link, navigate } from '../router.tsx'
import { ErrorBox, Show, useHead, useLoad } from '../ui.tsx'

const PAGE = 20

/** Where a search lands: a block height, an address, a hash (tx, receipt, Datanet, contribution), or a name (Datanet, model). */
async function resolveSearch(q: string): Promise<string> {
  const s = q.trim()
  if (/^\d+$/.test(s)) return `/blocks/${s}`
  if (/^0x[0-9a-fA-F]{40}$/.test(s)) return `/account/${s.toLowerCase()}`
  if (/^0x[0-9a-fA-F]{64}$/.test(s)) {
    const hash = s.toLowerCase()
    const found = await Promise.any([
      api.get('/v1/datanets/{id}', { path: { id: hash } }).then(() => `/datanets/${hash}`),
      api.get('/v1/receipts/{id}', { path: { id: hash } }).then(() => `/receipts/${hash}`),
      api.get('/v1/contributions/{id}', { path: { id: hash } }).then((c) => `/datanets/${c.datanet}?contribution=${hash}`),
      api.get('/v1/tx/{hash}', { path: { hash } }).then(() => `/tx/${hash}`),
    ]).catch((e: AggregateError) => {
      // Not found anywhere is an answer; a node that did not answer is not.
      const other = e.errors.find((x) => (x as { status?: number }).status !== 404)
      if (other) throw other
      return undefined
    })
    if (found) return found
    throw new Error(`Nothing on this chain has the hash ${short(hash)} (no tx, receipt, Datanet or contribution).`)
  }
  const [datanets, models] = await Promise.all([api.get('/v1/datanets', { query: { q: s, limit: 5 } }), api.get('/v1/registry/models')])
  const model = models.models.find((m) => m.name.toLowerCase() === s.toLowerCase())
  if (model) return `/models?model=${encodeURIComponent(model.name)}`
  const exact = datanets.datanets.find((d) => d.name.toLowerCase() === s.toLowerCase()) ?? datanets.datanets[0]
  if (exact) return `/datanets/${exact.id}`
  throw new Error(`No block, account, tx, Datanet or model matches "${s}".`)
}

export function SearchBox() {
  const [q, setQ] = useState('')
  const [error, setError] = useState<unknown>()
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    try {
      navigate(await resolveSearch(q))
    } catch (err) {
      setError(err)
    }
  }
  return (
    <search className="card">
      <form onSubmit={submit}>
        <label htmlFor="search">Search by block height, tx or receipt hash, address, Datanet or model name</label>
        <div className="row">
          <input id="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="0x…, 42, sotu" style={{ flex: 1, minWidth: 0 }} />
          <button type="submit">Search</button>
        </div>
        <ErrorBox error={error} />
      </form>
    </search>
  )
}

export function Explorer() {
  const head = useHead()
  // `before`: show blocks up to this height (undefined: follow the head live).
  const [before, setBefore] = useState<bigint>()
  const top = before ?? head.height
  const from = top > BigInt(PAGE) ? top - BigInt(PAGE) + 1n : 1n
  const blocks = useLoad(
    () => (top > 0n ? api.get('/v1/blocks', { query: { from: from.toString(), limit: PAGE, txs: 'none' } }) : Promise.resolve({ blocks: [], head: '0' })),
    [top],
  )
  return (
    <section>
      <h1>Explorer</h1>
      {head.status ? (
        <dl className="kv card" aria-label="Chain status">
          <dt>Network</dt>
          <dd>
            {head.status.network} (chain id {head.status.chainId})
          </dd>
          <dt>Height</dt>
          <dd data-testid="height">{head.status.height}</dd>
          <dt>Head</dt>
          <dd className="mono">{short(head.status.headHash, 10)}</dd>
          <dt>State root</dt>
          <dd className="mono">{short(head.status.stateRoot, 10)}</dd>
          <dt>Pending txs</dt>
          <dd>{head.status.pendingTxs}</dd>
        </dl>
      ) : head.reachable ? (
        <p aria-busy="true">Loading…</p>
      ) : null}
      <SearchBox />
      <h2>{before === undefined ? 'Latest blocks (live)' : `Blocks up to ${top}`}</h2>
      <Show loaded={blocks}>
        {(b) => (
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Height</th>
                  <th scope="col">Time</th>
                  <th scope="col">Txs</th>
                  <th scope="col" className="hide-narrow">
                    Hash
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...b.blocks].reverse().map((blk) => (
                  <tr key={blk.height}>
                    <td>
                      <Link to={`/blocks/${blk.height}`}>{blk.height}</Link>
                    </td>
                    <td>{time(blk.timestamp)}</td>
                    <td>{blk.txCount}</td>
                    <td className="mono hide-narrow">{short(blk.hash, 8)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
      <div className="row" style={{ marginTop: 8 }}>
        <button
          type="button"
          className="secondary"
          disabled={before === undefined}
          onClick={() => setBefore((b) => (b === undefined || b + BigInt(PAGE) >= head.height ? undefined : b + BigInt(PAGE)))}
        >
          Newer
        </button>
        <button type="button" className="secondary" disabled={from <= 1n} onClick={() => setBefore(from - 1n)}>
          Older
        </button>
      </div>
    </section>
  )
}
