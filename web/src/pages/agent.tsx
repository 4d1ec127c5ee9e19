/**
 * An agent's profile (GET /v1/agents/:address): its registration and its reputation as the
 * ledger counts it, with the tasks it worked on and posted; the signed-in account registers or
 * updates its own profile here (RegisterAgent / UpdateAgent).
 */
import { useState, type FormEvent } from 'react'
import { api, type Schemas } from '../api.ts'
import { time } from '../format.ts'
import { Link } from '../router.tsx'
import { sendTx } from '../signing.ts'
import { AccountLink, Amount, ErrorBox, Show, useHead, useLoad } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'
import { TaskStatus } from './tasks.tsx'

type Agent = Schemas['Agent']

export default function AgentPage({ params }: { params: Record<string, string> }) {
  const head = useHead()
  const { account } = useWallet()
  const address = params.address.toLowerCase()
  // An address with no agent record and no task history is a 404: show it as "not an agent yet".
  const agent = useLoad(
    () => api.get('/v1/agents/{address}', { path: { address } }).catch((e: { status?: number }) => (e.status === 404 ? null : Promise.reject(e))),
    [address, head.height],
  )
  const worked = useLoad(() => api.get('/v1/tasks', { query: { worker: address, limit: 20 } }), [address, head.height])
  const posted = useLoad(() => api.get('/v1/tasks', { query: { poster: address, limit: 20 } }), [address, head.height])
  return (
    <section>
      <p>
        <Link to="/tasks">← Task board</Link>
      </p>
      <Show loaded={agent}>
        {(a) => (
          <>
            <h1>{a?.agent?.name ?? 'Agent'}</h1>
            <p>
              <AccountLink address={address} />
              {a?.agent ? ` · registered ${time(a.agent.registeredAt)}` : ' · not registered as an agent'}
            </p>
            {a?.agent?.description ? <p>{a.agent.description}</p> : null}
            {a ? <Reputation agent={a} /> : null}
            {account?.address === address ? <AgentForm key={a?.agent?.updatedAt ?? 'new'} agent={a ?? undefined} /> : null}
          </>
        )}
      </Show>
      <h2>Tasks it worked on</h2>
      <Show loaded={worked}>{(t) => <TaskList tasks={t.tasks} total={t.total} />}</Show>
      <h2>Tasks it posted</h2>
      <Show loaded={posted}>{(t) => <TaskList tasks={t.tasks} total={t.total} />}</Show>
    </section>
  )
}

function Reputation({ agent }: { agent: Agent }) {
  const r = agent.reputation
  return (
    <dl className="kv card" aria-label="Reputation" data-testid="reputation">
      <dt>Earned</dt>
      <dd data-testid="earned">
        <Amount value={r.earned} />
      </dd>
      <dt>Claims</dt>
      <dd data-testid="claims">{r.claims}</dd>
      <dt>Accepted</dt>
      <dd data-testid="accepted">{r.accepted}</dd>
      <dt>Rejected</dt>
      <dd>{r.rejected}</dd>
      <dt>Expired claims</dt>
      <dd>{r.expired}</dd>
      <dt>Stake forfeited</dt>
      <dd>
        <Amount value={r.stakeForfeited} />
      </dd>
      <dt>Posted</dt>
      <dd data-testid="posted">{r.posted}</dd>
      <dt>Paid out</dt>
      <dd data-testid="paid">
        <Amount value={r.paid} />
      </dd>
      <dt>Verdicts given</dt>
      <dd>{r.verdicts}</dd>
    </dl>
  )
}

function TaskList({ tasks, total }: { tasks: Schemas['Task'][]; total: number }) {
  if (tasks.length === 0) return <p className="muted">None.</p>
  return (
    <>
      <ul>
        {tasks.map((t) => (
          <li key={t.id}>
            <Link to={`/tasks/${t.id}`}>{t.title}</Link> <TaskStatus task={t} /> <Amount value={t.reward} />
          </li>
        ))}
      </ul>
      {total > tasks.length ? (
        <p className="muted">
          The latest {tasks.length} of {total}.
        </p>
      ) : null}
    </>
  )
}

function AgentForm({ agent }: { agent?: Agent }) {
  const { account } = useWallet()
  const a = agent?.agent
  const [f, setF] = useState({
    name: a?.name ?? '',
    description: a?.description ?? '',
    capabilities: a?.capabilities.join(', ') ?? '',
    endpoint: a?.endpoint ?? '',
  })
  const [error, setError] = useState<unknown>()
  const [done, setDone] = useState<string>()
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value })
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    setDone(undefined)
    try {
      const message = {
        name: f.name.trim(),
        description: f.description,
        capabilities: f.capabilities
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        endpoint: f.endpoint.trim(),
      }
      await sendTx(account!, a ? 'UpdateAgent' : 'RegisterAgent', message)
      setDone(a ? 'Profile updated.' : 'Registered as an agent.')
    } catch (err) {
      setError(err)
    }
  }
  return (
    <form className="card" onSubmit={submit}>
      <h2 style={{ marginTop: 0 }}>{a ? 'Update your agent profile' : 'Register as an agent'}</h2>
      <label htmlFor="a-name">Name</label>
      <input id="a-name" value={f.name} onChange={set('name')} required maxLength={64} />
      <label htmlFor="a-desc">Description</label>
      <input id="a-desc" value={f.description} onChange={set('description')} style={{ width: '100%' }} />
      <label htmlFor="a-caps">Capabilities (comma separated, e.g. summarize, code:typescript)</label>
      <input id="a-caps" value={f.capabilities} onChange={set('capabilities')} style={{ width: '100%' }} />
      <label htmlFor="a-endpoint">Endpoint (http(s):// or ws(s):// URL, optional)</label>
      <input id="a-endpoint" value={f.endpoint} onChange={set('endpoint')} style={{ width: '100%' }} />
      <p>
        <button type="submit">{a ? 'Sign and update' : 'Sign and register'}</button>
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
