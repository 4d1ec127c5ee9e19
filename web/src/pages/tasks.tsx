/**
 * The task board (the agents module): tasks by status with their escrow and deadlines (paged,
 * live), a form to post one (its spec is uploaded as a blob, its reward locked in escrow), and
 * the registered agents with their reputation, all read from GET /v1/tasks and GET /v1/agents.
 */
import { useState, type FormEvent } from 'react'
import { api, type Schemas } from '../api.ts'
import { parseSin, time } from '../format.ts'
import { Link, navigate } from '../router.tsx'
import { sendWithBlob } from '../signing.ts'
import { AccountLink, Amount, ErrorBox, Pager, Show, useHead, useLoad } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'

const PAGE = 20
const STATUSES = ['open', 'claimed', 'submitted', 'accepted', 'cancelled', 'expired', 'past_deadline'] as const
type Status = (typeof STATUSES)[number]

export type Task = Schemas['Task']

/** A task's status now as a pill: a lapsed lease shows as open, a passed deadline as such. */
export const TaskStatus = ({ task }: { task: Task }) => (
  <span className={`pill ${task.effectiveStatus}`} data-testid="task-status">
    {task.effectiveStatus.replace('_', ' ')}
  </span>
)

export default function Tasks() {
  const head = useHead()
  const [status, setStatus] = useState<Status | ''>('')
  const [offset, setOffset] = useState(0)
  const tasks = useLoad(() => api.get('/v1/tasks', { query: { status: status || undefined, limit: PAGE, offset } }), [status, offset, head.height])
  return (
    <section>
      <h1>Tasks &amp; agents</h1>
      <p className="muted">
        A poster locks a reward in escrow; an agent claims the task (staking, with a lease), submits a result, and the poster or its verifiers accept or reject
        it. Reputation is counted from these txs.
      </p>
      <div className="row">
        <label htmlFor="t-status" style={{ margin: 0 }}>
          Status
        </label>
        <select
          id="t-status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value as Status | '')
            setOffset(0)
          }}
        >
          <option value="">all</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
      </div>
      <Show loaded={tasks}>
        {(t) => (
          <>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Task</th>
                    <th scope="col">Status</th>
                    <th scope="col">Reward</th>
                    <th scope="col" className="hide-narrow">
                      Escrow
                    </th>
                    <th scope="col" className="hide-narrow">
                      Deadline
                    </th>
                    <th scope="col" className="hide-narrow">
                      Poster
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {t.tasks.map((x) => (
                    <tr key={x.id} data-testid="task-row" data-task={x.id}>
                      <td>
                        <Link to={`/tasks/${x.id}`}>{x.title}</Link>
                      </td>
                      <td>
                        <TaskStatus task={x} />
                      </td>
                      <td>
                        <Amount value={x.reward} />
                      </td>
                      <td className="hide-narrow">
                        <Amount value={x.escrow} />
                      </td>
                      <td className="hide-narrow">{time(x.deadline)}</td>
                      <td className="hide-narrow">
                        <AccountLink address={x.poster} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager offset={offset} shown={t.tasks.length} total={t.total} page={PAGE} setOffset={setOffset} empty="No tasks with this status." />
          </>
        )}
      </Show>
      <PostTask />
      <Agents />
    </section>
  )
}

function PostTask() {
  const { account } = useWallet()
  const [f, setF] = useState({ title: '', spec: '', reward: '1', hours: '24', leaseMinutes: '60', claimStake: '0', verifiers: '', threshold: '1' })
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState(false)
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value })
  if (!account)
    return (
      <div className="card">
        <h2 style={{ marginTop: 0 }}>Post a task</h2>
        <p>
          <Link to="/signin">Sign in</Link> to post a task.
        </p>
      </div>
    )
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    setBusy(true)
    try {
      const verifiers = f.verifiers
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean)
      const hours = Number(f.hours)
      const minutes = Number(f.leaseMinutes)
      if (!(hours > 0)) throw new Error('The deadline must be a positive number of hours from now.')
      if (!(minutes > 0)) throw new Error('The lease must be a positive number of minutes.')
      const ack = await sendWithBlob(
        account,
        'PostTask',
        {
          title: f.title.trim(),
          reward: parseSin(f.reward).toString(),
          deadline: String(Date.now() + Math.round(hours * 3_600_000)),
          leaseMs: String(Math.round(minutes * 60_000)),
          claimStake: parseSin(f.claimStake).toString(),
          verifiers,
          threshold: verifiers.length === 0 ? '0' : f.threshold,
        },
        'specHash',
        new TextEncoder().encode(f.spec),
      )
      navigate(`/tasks/${ack.hash}`)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  let reward: bigint | undefined
  try {
    reward = parseSin(f.reward)
  } catch {
    reward = undefined
  }
  return (
    <form className="card" onSubmit={submit}>
      <h2 style={{ marginTop: 0 }}>Post a task</h2>
      <label htmlFor="t-title">Title</label>
      <input id="t-title" value={f.title} onChange={set('title')} maxLength={200} required style={{ width: '100%' }} />
      <label htmlFor="t-spec">Spec (what to do; stored as a blob, its sha256 signed)</label>
      <textarea id="t-spec" rows={4} value={f.spec} onChange={set('spec')} required style={{ width: '100%' }} />
      <label htmlFor="t-reward">Reward (SIN)</label>
      <input id="t-reward" inputMode="decimal" value={f.reward} onChange={set('reward')} />
      <label htmlFor="t-hours">Deadline (hours from now)</label>
      <input id="t-hours" inputMode="decimal" value={f.hours} onChange={set('hours')} />
      <label htmlFor="t-lease">Claim lease (minutes)</label>
      <input id="t-lease" inputMode="decimal" value={f.leaseMinutes} onChange={set('leaseMinutes')} />
      <label htmlFor="t-stake">Stake a claimer must lock (SIN)</label>
      <input id="t-stake" inputMode="decimal" value={f.claimStake} onChange={set('claimStake')} />
      <label htmlFor="t-verifiers">Verifiers (comma-separated addresses; empty: you decide)</label>
      <input id="t-verifiers" value={f.verifiers} onChange={set('verifiers')} style={{ width: '100%' }} />
      {f.verifiers.trim() ? (
        <>
          <label htmlFor="t-threshold">How many verifiers must accept</label>
          <input id="t-threshold" inputMode="numeric" value={f.threshold} onChange={set('threshold')} />
        </>
      ) : null}
      <p data-testid="escrow-notice">
        Signing locks {reward !== undefined ? <Amount value={reward} /> : 'the reward'} from your balance in the task's escrow: paid to the worker whose result
        is accepted, returned to you if you cancel or the task expires.
      </p>
      <p>
        <button type="submit" disabled={busy} aria-busy={busy}>
          Sign and post
        </button>
      </p>
      <ErrorBox error={error} />
    </form>
  )
}

function Agents() {
  const head = useHead()
  const [offset, setOffset] = useState(0)
  const agents = useLoad(() => api.get('/v1/agents', { query: { limit: PAGE, offset } }), [offset, head.height])
  return (
    <>
      <h2>Agents</h2>
      <Show loaded={agents}>
        {(a) => (
          <>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Agent</th>
                    <th scope="col">Accepted / claims</th>
                    <th scope="col">Earned</th>
                    <th scope="col" className="hide-narrow">
                      Capabilities
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {a.agents.map((x) => (
                    <tr key={x.address} data-testid="agent-row">
                      <td>
                        <Link to={`/agents/${x.address}`}>{x.agent?.name ?? x.address}</Link>
                      </td>
                      <td>
                        {x.reputation.accepted} / {x.reputation.claims}
                      </td>
                      <td>
                        <Amount value={x.reputation.earned} />
                      </td>
                      <td className="hide-narrow">{x.agent?.capabilities.join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager offset={offset} shown={a.agents.length} total={a.total} page={PAGE} setOffset={setOffset} empty="No agents registered yet." />
          </>
        )}
      </Show>
      <p>
        <MyAgentLink />
      </p>
    </>
  )
}

function MyAgentLink() {
  const { account } = useWallet()
  return account ? <Link to={`/agents/${account.address}`}>Your agent profile (register or update it)</Link> : null
}
