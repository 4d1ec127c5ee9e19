/**
 * One task (GET /v1/tasks/:id), live: its escrow, deadline, claim and lease, submission with
 * verdicts, and result; the spec and result text when this node has their blobs. The actions
 * the signed-in account may take are offered: claim (locking the stake), submit a result (its
 * bytes uploaded, their sha256 signed), accept or reject as a verifier, cancel as the poster,
 * expire after the deadline.
 */
import { useState } from 'react'
import { api, type Schemas } from '../api.ts'
import { bytes as size, time } from '../format.ts'
import { Link } from '../router.tsx'
import { sendTx, sendWithBlob } from '../signing.ts'
import { AccountLink, ActionButton, Amount, Show, TxLink, useHead, useLoad } from '../ui.tsx'
import { useWallet, type Account } from '../wallet.tsx'
import { TaskStatus } from './tasks.tsx'

type TaskDetail = Schemas['Task'] & { specBlob: Schemas['BlobRef']; resultBlob: Schemas['BlobRef'] | null }

/** The first bytes of a stored blob as text, to preview a spec or result (never the whole of a large one). */
async function blobText(blob: Schemas['BlobRef'] | null): Promise<string | undefined> {
  if (!blob?.stored) return undefined
  const r = await fetch(blob.url, { headers: { range: 'bytes=0-4095' } })
  if (!r.ok) return undefined
  return (await r.text()).slice(0, 4096)
}

export default function TaskPage({ params }: { params: Record<string, string> }) {
  const head = useHead()
  const task = useLoad(() => api.get('/v1/tasks/{id}', { path: { id: params.id } }) as Promise<TaskDetail>, [params.id, head.height])
  const spec = useLoad(() => (task.data ? blobText(task.data.specBlob) : Promise.resolve(undefined)), [task.data?.specBlob.stored])
  const result = useLoad(
    () => (task.data ? blobText(task.data.resultBlob) : Promise.resolve(undefined)),
    [task.data?.resultBlob?.hash, task.data?.resultBlob?.stored],
  )
  return (
    <section>
      <p>
        <Link to="/tasks">← Task board</Link>
      </p>
      <Show loaded={task}>
        {(t) => (
          <>
            <h1>{t.title}</h1>
            <dl className="kv card" data-testid="task">
              <dt>Status</dt>
              <dd>
                <TaskStatus task={t} />
              </dd>
              <dt>Reward</dt>
              <dd data-testid="reward">
                <Amount value={t.reward} />
              </dd>
              <dt>In escrow</dt>
              <dd data-testid="escrow">
                <Amount value={t.escrow} />
              </dd>
              <dt>Deadline</dt>
              <dd>{time(t.deadline)}</dd>
              <dt>Poster</dt>
              <dd>
                <AccountLink address={t.poster} /> in tx <TxLink hash={t.id} />
              </dd>
              <dt>Verified by</dt>
              <dd>
                {t.policy === 'poster' ? 'the poster' : `${t.threshold} of `}
                {t.policy === 'poster'
                  ? null
                  : t.verifiers.map((v, i) => (
                      <span key={v}>
                        {i ? ', ' : ''}
                        <AccountLink address={v} />
                      </span>
                    ))}
              </dd>
              <dt>Claim stake</dt>
              <dd>
                <Amount value={t.claimStake} /> (lease {Number(t.leaseMs) / 60_000} min)
              </dd>
              <dt>Worker</dt>
              <dd data-testid="claimer">
                {t.claim ? (
                  <>
                    <Link to={`/agents/${t.claim.claimer}`} className="mono">
                      {t.claim.claimer}
                    </Link>{' '}
                    claimed it until {time(t.claim.leaseUntil)}
                    {t.leaseLapsed ? ' (lapsed)' : ''}
                  </>
                ) : t.submission || t.result ? (
                  <Link to={`/agents/${(t.submission ?? t.result)!.claimer}`} className="mono">
                    {(t.submission ?? t.result)!.claimer}
                  </Link>
                ) : (
                  'nobody yet'
                )}
              </dd>
              <dt>Spec</dt>
              <dd>
                <span className="mono">{t.specHash}</span>{' '}
                {t.specBlob.stored ? (
                  <a href={t.specBlob.url}>download ({size(t.specBlob.size ?? 0)})</a>
                ) : (
                  <span className="pill missing">blob not on this node</span>
                )}
              </dd>
            </dl>
            {spec.data ? (
              <>
                <h2>Spec</h2>
                <pre data-testid="spec">{spec.data}</pre>
              </>
            ) : null}
            {t.submission || t.result ? (
              <>
                <h2>Result</h2>
                <p>
                  By <AccountLink address={(t.submission ?? t.result)!.claimer} />, <TxLink hash={(t.submission ?? t.result)!.txHash} />
                  {t.submission ? `; accepted by ${t.submission.accepts.length}, rejected by ${t.submission.rejects.length}` : ''}
                </p>
                {result.data !== undefined ? <pre data-testid="result">{result.data}</pre> : null}
              </>
            ) : null}
            <TaskActions task={t} />
          </>
        )}
      </Show>
    </section>
  )
}

function TaskActions({ task: t }: { task: TaskDetail }) {
  const { account } = useWallet()
  const [text, setText] = useState('')
  if (!account)
    return (
      <p>
        <Link to="/signin">Sign in</Link> to claim, submit or verify.
      </p>
    )
  const me = account.address
  const send = (type: string, message: Record<string, unknown>) => () => sendTx(account, type, message)
  const claimedByMe = t.claim?.claimer === me && !t.leaseLapsed && t.status === 'claimed'
  const verifier = t.verifiers.includes(me) && t.status === 'submitted' && !t.submission?.accepts.includes(me) && !t.submission?.rejects.includes(me)
  return (
    <div className="card" data-testid="task-actions">
      <h2 style={{ marginTop: 0 }}>Act on this task as {account.label}</h2>
      {t.claimable && t.poster !== me ? (
        <p>
          <ActionButton run={send('ClaimTask', { task: t.id, stake: t.claimStake })}>
            Sign and claim{t.claimStake === '0' ? '' : ' (locks the stake)'}
          </ActionButton>
        </p>
      ) : null}
      {claimedByMe ? <SubmitResult account={account} task={t} text={text} setText={setText} /> : null}
      {verifier ? (
        <p className="row">
          <ActionButton run={send('VerifyResult', { task: t.id, accept: true })}>Accept the result</ActionButton>
          <ActionButton className="secondary" run={send('VerifyResult', { task: t.id, accept: false })}>
            Reject the result
          </ActionButton>
        </p>
      ) : null}
      {t.poster === me && t.status === 'open' && !t.claim ? (
        <p>
          <ActionButton className="secondary" run={send('CancelTask', { task: t.id })}>
            Cancel the task (returns the reward)
          </ActionButton>
        </p>
      ) : null}
      {t.expirable ? (
        <p>
          <ActionButton className="secondary" run={send('ExpireTask', { task: t.id })}>
            Expire the task (past its deadline)
          </ActionButton>
        </p>
      ) : null}
      {!t.claimable && !claimedByMe && !verifier && !t.expirable && !(t.poster === me && t.status === 'open') ? (
        <p className="muted">Nothing for this account to do on this task now.</p>
      ) : null}
    </div>
  )
}

function SubmitResult({ account, task, text, setText }: { account: Account; task: TaskDetail; text: string; setText: (s: string) => void }) {
  return (
    <div>
      <label htmlFor="result-text">Your result (stored as a blob, its sha256 signed)</label>
      <textarea id="result-text" rows={4} style={{ width: '100%' }} value={text} onChange={(e) => setText(e.target.value)} />
      <p>
        <ActionButton
          disabled={!text}
          run={() => sendWithBlob(account, 'SubmitResult', { task: task.id }, 'resultHash', new TextEncoder().encode(text)).then(() => setText(''))}
        >
          Sign and submit the result
        </ActionButton>
      </p>
    </div>
  )
}
