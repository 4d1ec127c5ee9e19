/** Datanets: browse and search (paged), and create one with its contribution rules. */
import { useState, type FormEvent } from 'react'
import { api } from '../api.ts'
import { parseSin } from '../format.ts'
import { Link, navigate } from '../router.tsx'
import { sendTx } from '../signing.ts'
import { Amount, ErrorBox, Show, useHead, useLoad, Pager } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'
import { ALL_MEDIA_TYPES, MEDIA_TYPES } from '../../../src/datanets/media.ts'

const PAGE = 20

export default function Datanets() {
  const head = useHead()
  const [q, setQ] = useState('')
  const [offset, setOffset] = useState(0)
  const list = useLoad(() => api.get('/v1/datanets', { query: { q: q || undefined, limit: PAGE, offset } }), [q, offset, head.height])
  return (
    <section>
      <h1>Datanets</h1>
      <div className="row">
        <label htmlFor="dq" style={{ margin: 0 }}>
          Search
        </label>
        <input
          id="dq"
          value={q}
          onChange={(e) => {
            setQ(e.target.value)
            setOffset(0)
          }}
          placeholder="name, description, license"
        />
      </div>
      <Show loaded={list}>
        {(l) => (
          <>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Contributions</th>
                    <th scope="col" className="hide-narrow">
                      Stake each
                    </th>
                    <th scope="col">Latest version</th>
                  </tr>
                </thead>
                <tbody>
                  {l.datanets.map((d) => (
                    <tr key={d.id}>
                      <td>
                        <Link to={`/datanets/${d.id}`}>{d.name}</Link>
                        <div className="muted">{d.description}</div>
                      </td>
                      <td>
                        {d.counts.accepted} accepted, {d.counts.pending} pending
                      </td>
                      <td className="hide-narrow">
                        <Amount value={d.rules.stake} />
                      </td>
                      <td>{d.latestVersion ? `v${d.latestVersion.version} (${d.latestVersion.build})` : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager offset={offset} shown={l.datanets.length} total={l.total} page={PAGE} setOffset={setOffset} empty="No Datanets yet." />
          </>
        )}
      </Show>
      <CreateDatanet />
    </section>
  )
}

function CreateDatanet() {
  const { account } = useWallet()
  const [form, setForm] = useState({
    name: '',
    description: '',
    license: 'CC-BY-4.0',
    maxSize: '1000000',
    stake: '0',
    mediaTypes: ['text/plain', 'text/markdown'] as string[],
  })
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState(false)
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value })
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    if (!account) return setError(new Error('Sign in first: creating a Datanet is a signed tx.'))
    setBusy(true)
    try {
      const ack = await sendTx(account, 'CreateDatanet', {
        name: form.name.trim(),
        description: form.description,
        license: form.license,
        mediaTypes: form.mediaTypes,
        maxSize: form.maxSize,
        stake: parseSin(form.stake).toString(),
      })
      navigate(`/datanets/${(ack.receipt.result as { datanet: string }).datanet}`)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form className="card" onSubmit={submit} aria-labelledby="create-h">
      <h2 id="create-h" style={{ marginTop: 0 }}>
        Create a Datanet
      </h2>
      <label htmlFor="dn-name">Name</label>
      <input id="dn-name" required value={form.name} onChange={set('name')} />
      <label htmlFor="dn-desc">Description</label>
      <input id="dn-desc" value={form.description} onChange={set('description')} style={{ width: '100%' }} />
      <label htmlFor="dn-license">License</label>
      <input id="dn-license" value={form.license} onChange={set('license')} />
      <fieldset>
        <legend>Accepted formats</legend>
        {ALL_MEDIA_TYPES.map((t) => (
          <label key={t} style={{ display: 'inline-block', fontWeight: 'normal', marginRight: 12 }}>
            <input
              type="checkbox"
              checked={form.mediaTypes.includes(t)}
              onChange={(e) => setForm({ ...form, mediaTypes: e.target.checked ? [...form.mediaTypes, t] : form.mediaTypes.filter((x) => x !== t) })}
            />{' '}
            {MEDIA_TYPES[t].join(', ')}
          </label>
        ))}
      </fieldset>
      <label htmlFor="dn-max">Largest contribution (bytes)</label>
      <input id="dn-max" inputMode="numeric" value={form.maxSize} onChange={set('maxSize')} />
      <label htmlFor="dn-stake">Stake per contribution (SIN; forfeited to you if you reject it)</label>
      <input id="dn-stake" inputMode="decimal" value={form.stake} onChange={set('stake')} />
      <p>
        <button type="submit" disabled={busy} aria-busy={busy}>
          Sign and create
        </button>
      </p>
      <ErrorBox error={error} />
    </form>
  )
}
