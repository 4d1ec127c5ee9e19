/**
 * Models and API keys: register or update a model (price, contributor share, backend,
 * Datanet versions) and see its lineage (model → Datanet versions → contributions); make API
 * keys in the browser (shown once; only the hash goes on chain), see their limit, expiry and
 * spend, and revoke them.
 */
import { useState, type FormEvent } from 'react'
import { api, type Schemas } from '../api.ts'
import { formatSin, parseSin, short, time } from '../format.ts'
import { grantApiKey, madeKeys, rememberKey } from '../keys.ts'
import { LineageGraph } from '../lineage-graph.tsx'
import { Link } from '../router.tsx'
import { sendTx } from '../signing.ts'
import { AccountLink, ActionButton, Amount, ErrorBox, Show, useHead, useLoad } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'

type Model = Schemas['ModelRecord']

export default function Models() {
  const head = useHead()
  const models = useLoad(() => api.get('/v1/registry/models'), [head.height])
  const selected = new URLSearchParams(location.search).get('model')
  const [editing, setEditing] = useState<Model>()
  return (
    <section>
      <h1>Models &amp; keys</h1>
      <Show loaded={models}>
        {(m) => (
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Price / M tokens</th>
                  <th scope="col">Contributor share</th>
                  <th scope="col" className="hide-narrow">
                    Owner
                  </th>
                  <th scope="col">
                    <span className="hide-narrow">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {m.models.map((x) => (
                  <tr key={x.name} aria-current={x.name === selected ? 'true' : undefined}>
                    <td>
                      <strong>{x.name}</strong> v{x.version} {x.active ? '' : <span className="pill">inactive</span>}
                      <div className="muted">{x.backend}</div>
                    </td>
                    <td>
                      <Amount value={x.pricePerMillion} />
                    </td>
                    <td>{(x.contributorShareBps / 100).toFixed(2)} %</td>
                    <td className="hide-narrow">
                      <AccountLink address={x.owner} />
                    </td>
                    <td>
                      <button type="button" className="secondary" onClick={() => setEditing(x)}>
                        Lineage / edit
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {m.models.length === 0 ? <p>No models yet.</p> : null}
          </div>
        )}
      </Show>
      {editing ? <Lineage model={editing} /> : null}
      <ModelForm key={editing?.name ?? 'new'} model={editing} />
      <ApiKeys />
    </section>
  )
}

/** How many contributions of each version the graph draws (the rest are counted). */
const LINEAGE_SHOWN = 12

/** model → Datanet versions → contributions, drawn as a graph, with the same as a list for reading. */
function Lineage({ model }: { model: Model }) {
  const lineage = useLoad(async () => {
    return Promise.all(
      model.datanets.map(async (ref) => {
        const [id, n] = ref.split('@')
        const [d, v, cs] = await Promise.all([
          api.get('/v1/datanets/{id}', { path: { id } }),
          api.get('/v1/datanets/{id}/versions/{n}', { path: { id, n: Number(n) } }),
          api.get('/v1/datanets/{id}/contributions', { path: { id }, query: { status: 'accepted', limit: LINEAGE_SHOWN } }),
        ])
        // A version holds the contributions accepted before it was published (acceptedIndex below its count).
        const contributions = cs.contributions.filter((c) => c.acceptedIndex !== null && c.acceptedIndex < v.contributions)
        return {
          key: ref,
          label: `${d.name} v${v.version}`,
          detail: `${v.contributions} contributions, index ${v.build.state}`,
          href: `/datanets/${id}`,
          root: v.root,
          contributions: contributions.map((c) => ({ id: c.id, title: c.title, author: c.author, href: `/datanets/${id}?contribution=${c.id}` })),
          more: v.contributions - contributions.length,
        }
      }),
    )
  }, [model.name, model.version])
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>Lineage of {model.name}</h2>
      <Show loaded={lineage}>
        {(ls) => (
          <>
            <LineageGraph model={model.name} versions={ls} />
            <details>
              <summary>As a list</summary>
              <ul className="lineage" aria-label={`${model.name} draws on`}>
                {ls.map((l) => (
                  <li key={l.key}>
                    <Link to={l.href}>{l.label}</Link>{' '}
                    <span className="muted">
                      root {short(l.root)}, {l.detail}
                    </span>
                    <ul>
                      {l.contributions.map((c) => (
                        <li key={c.id}>
                          <Link to={c.href}>{c.title}</Link> by <AccountLink address={c.author} />
                        </li>
                      ))}
                      {l.more > 0 ? <li className="muted">… and {l.more} more</li> : null}
                    </ul>
                  </li>
                ))}
              </ul>
            </details>
          </>
        )}
      </Show>
    </div>
  )
}

function ModelForm({ model }: { model?: Model }) {
  const { account } = useWallet()
  const [f, setF] = useState({
    name: model?.name ?? '',
    description: model?.description ?? '',
    backend: model?.backend ?? 'builtin:infinigram',
    datanets: model?.datanets.join(', ') ?? '',
    price: model ? formatSin(model.pricePerMillion).replace(/ SIN$/, '').replaceAll(',', '') : '1',
    share: String(model?.contributorShareBps ?? 5000),
    active: model?.active ?? true,
  })
  const [error, setError] = useState<unknown>()
  const [done, setDone] = useState<string>()
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value })
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    setDone(undefined)
    try {
      if (!account) throw new Error('Sign in first: registering a model is a signed tx.')
      const message = {
        name: f.name.trim(),
        description: f.description,
        backend: f.backend.trim(),
        datanets: f.datanets
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        pricePerMillion: parseSin(f.price).toString(),
        contributorShareBps: f.share,
      }
      await sendTx(account, model ? 'UpdateModel' : 'RegisterModel', model ? { ...message, active: f.active } : message)
      setDone(model ? `Updated ${message.name}.` : `Registered ${message.name}.`)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <form className="card" onSubmit={submit}>
      <h2 style={{ marginTop: 0 }}>{model ? `Update ${model.name}` : 'Register a model'}</h2>
      <label htmlFor="m-name">Name</label>
      <input id="m-name" value={f.name} onChange={set('name')} readOnly={!!model} required />
      <label htmlFor="m-desc">Description</label>
      <input id="m-desc" value={f.description} onChange={set('description')} style={{ width: '100%' }} />
      <label htmlFor="m-backend">Backend (builtin:infinigram, or openai-compatible:&lt;URL&gt;[#model])</label>
      <input id="m-backend" value={f.backend} onChange={set('backend')} style={{ width: '100%' }} />
      <label htmlFor="m-datanets">Datanet versions (comma separated, &lt;datanet id&gt;@&lt;version&gt;)</label>
      <input id="m-datanets" value={f.datanets} onChange={set('datanets')} style={{ width: '100%' }} />
      <label htmlFor="m-price">Price per million output tokens (SIN)</label>
      <input id="m-price" inputMode="decimal" value={f.price} onChange={set('price')} />
      <label htmlFor="m-share">Contributor share (basis points, 10000 = 100 %)</label>
      <input id="m-share" inputMode="numeric" value={f.share} onChange={set('share')} />
      {model ? (
        <label style={{ fontWeight: 'normal' }}>
          <input type="checkbox" checked={f.active} onChange={(e) => setF({ ...f, active: e.target.checked })} /> Active
        </label>
      ) : null}
      <p>
        <button type="submit">{model ? 'Sign and update' : 'Sign and register'}</button>
      </p>
      {done ? (
        <p className="ok" role="status">
          {done}
        </p>
      ) : null}
      <ErrorBox error={error} />
    </form>
  )
}

function ApiKeys() {
  const { account } = useWallet()
  const head = useHead()
  const [label, setLabel] = useState('')
  const [limit, setLimit] = useState('0')
  const [days, setDays] = useState('0')
  const [shown, setShown] = useState<string>()
  const [error, setError] = useState<unknown>()
  const keys = useLoad(
    async () =>
      account ? Promise.all(madeKeys(account.address).map((h) => api.get('/v1/apikeys/{keyHash}', { path: { keyHash: h } }).catch(() => undefined))) : [],
    [account?.address, head.height, shown],
  )
  if (!account)
    return (
      <div className="card">
        <h2 style={{ marginTop: 0 }}>API keys</h2>
        <p>
          <Link to="/signin">Sign in</Link> to make API keys.
        </p>
      </div>
    )
  const make = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    try {
      const expiresAt = Number(days) > 0 ? BigInt(Date.now() + Number(days) * 86_400_000) : 0n
      const k = await grantApiKey(account, { label: label || 'web', spendLimit: parseSin(limit), expiresAt })
      rememberKey(account.address, k.keyHash)
      setShown(k.secret)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>API keys</h2>
      <form onSubmit={make}>
        <label htmlFor="k-label">Label</label>
        <input id="k-label" value={label} onChange={(e) => setLabel(e.target.value)} />
        <label htmlFor="k-limit">Spend limit (SIN, 0 = none)</label>
        <input id="k-limit" inputMode="decimal" value={limit} onChange={(e) => setLimit(e.target.value)} />
        <label htmlFor="k-days">Expires in days (0 = never)</label>
        <input id="k-days" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
        <p>
          <button type="submit">Make a key and sign its hash</button>
        </p>
      </form>
      <ErrorBox error={error} />
      {shown ? (
        <div className="card" role="status">
          <p>
            <strong>Your new API key, shown this once:</strong> copy it now; the node keeps only its hash.
          </p>
          <p className="mono" style={{ wordBreak: 'break-all' }} data-testid="new-key">
            {shown}
          </p>
          <button type="button" className="secondary" onClick={() => setShown(undefined)}>
            I have copied it
          </button>
        </div>
      ) : null}
      <Show loaded={keys}>
        {(ks) => (
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Key hash</th>
                  <th scope="col">Label</th>
                  <th scope="col">Spent / limit</th>
                  <th scope="col">Expires</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {ks
                  .filter((k) => k)
                  .map((k) => (
                    <tr key={k!.keyHash}>
                      <td className="mono">{short(k!.keyHash)}</td>
                      <td>{k!.label}</td>
                      <td>
                        <Amount value={k!.spent} /> / {k!.spendLimit === '0' ? 'no limit' : <Amount value={k!.spendLimit} />}
                      </td>
                      <td>{k!.expiresAt === '0' ? 'never' : time(k!.expiresAt)}</td>
                      <td>
                        {k!.revoked ? (
                          'revoked'
                        ) : (
                          <ActionButton className="secondary" run={() => sendTx(account, 'RevokeApiKey', { keyHash: k!.keyHash }).then(keys.reload)}>
                            Revoke
                          </ActionButton>
                        )}
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
    </div>
  )
}
