/**
 * One Datanet: its rules; contribute by drag and drop (size and format checked against the
 * rules, the stake shown before signing, upload progress); the curator's review queue with
 * a text preview, blob state and duplicate flags; publish, and each version's index build
 * followed live to `ready`.
 */
import { useEffect, useRef, useState, type DragEvent } from 'react'
import { sha256 } from 'viem'
import { api, uploadBlob, type Schemas } from '../api.ts'
import { bps, bytes, time } from '../format.ts'
import { Link } from '../router.tsx'
import { sendTx, signTx } from '../signing.ts'
import { AccountLink, ActionButton, Amount, ErrorBox, Show, useHead, useLoad, Pager } from '../ui.tsx'
import { useWallet } from '../wallet.tsx'
import { MEDIA_TYPES, mediaTypeOfPath } from '../../../src/datanets/media.ts'

type Datanet = Schemas['Datanet']
const PAGE = 20

export default function DatanetPage({ params }: { params: Record<string, string> }) {
  const head = useHead()
  const { account } = useWallet()
  const datanet = useLoad(() => api.get('/v1/datanets/{id}', { path: { id: params.id } }), [params.id, head.height])
  return (
    <section>
      <Show loaded={datanet}>
        {(d) => {
          const curator = !!account && (d.owner === account.address || d.curators.includes(account.address))
          return (
            <>
              <h1>{d.name}</h1>
              <p>{d.description}</p>
              <dl className="kv card">
                <dt>Id</dt>
                <dd className="mono">{d.id}</dd>
                <dt>Owner</dt>
                <dd>
                  <AccountLink address={d.owner} />
                </dd>
                <dt>License</dt>
                <dd>{d.license}</dd>
                <dt>Formats</dt>
                <dd>{d.rules.mediaTypes.map((t) => MEDIA_TYPES[t as keyof typeof MEDIA_TYPES]?.join(', ') ?? t).join(', ')}</dd>
                <dt>Largest contribution</dt>
                <dd>{bytes(d.rules.maxSize)}</dd>
                <dt>Stake per contribution</dt>
                <dd>
                  <Amount value={d.rules.stake} />
                </dd>
                <dt>Contributions</dt>
                <dd>
                  {d.counts.accepted} accepted, {d.counts.pending} pending, {d.counts.rejected} rejected, from {d.contributors} contributors
                </dd>
              </dl>
              <Contribute datanet={d} />
              {curator ? <ReviewQueue datanet={d} /> : null}
              <Versions datanet={d} owner={account?.address === d.owner} />
              <Contributions datanet={d} />
            </>
          )
        }}
      </Show>
    </section>
  )
}

type Picked = { file: File; mediaType: string | undefined; problem?: string }

function Contribute({ datanet }: { datanet: Datanet }) {
  const { account } = useWallet()
  const [picked, setPicked] = useState<Picked>()
  const [title, setTitle] = useState('')
  const [over, setOver] = useState(false)
  const [progress, setProgress] = useState<{ sent: number; total: number }>()
  const [stage, setStage] = useState<string>()
  const [error, setError] = useState<unknown>()
  const [done, setDone] = useState<string>()
  const input = useRef<HTMLInputElement>(null)

  const pick = (file: File | undefined) => {
    setError(undefined)
    setDone(undefined)
    setProgress(undefined)
    if (!file) return setPicked(undefined)
    const mediaType = mediaTypeOfPath(file.name)
    let problem: string | undefined
    if (file.size > Number(datanet.rules.maxSize))
      problem = `${file.name} is ${bytes(file.size)}, over this Datanet's limit of ${bytes(datanet.rules.maxSize)}: it cannot be contributed here.`
    else if (file.size === 0) problem = `${file.name} is empty.`
    else if (!mediaType || !datanet.rules.mediaTypes.includes(mediaType))
      problem = `${file.name} is not a format this Datanet accepts (${datanet.rules.mediaTypes.map((t) => MEDIA_TYPES[t as keyof typeof MEDIA_TYPES]?.join('/') ?? t).join(', ')}).`
    setPicked({ file, mediaType, problem })
    setTitle(file.name.replace(/\.[^.]+$/, ''))
  }
  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setOver(false)
    pick(e.dataTransfer.files[0])
  }

  const contribute = async () => {
    if (!account || !picked?.mediaType || picked.problem) return
    setError(undefined)
    try {
      const content = new Uint8Array(await picked.file.arrayBuffer())
      setStage('Waiting for your signature…')
      // The signed Contribute is the upload's permit; it is submitted only after the bytes are stored.
      const tx = await signTx(account, 'Contribute', {
        datanet: datanet.id,
        contentHash: sha256(content),
        title: title.trim() || picked.file.name,
        mediaType: picked.mediaType,
        size: String(content.length),
      })
      setStage('Uploading…')
      await uploadBlob(new Blob([content]), tx, (sent, total) => setProgress({ sent, total }))
      setStage('Submitting…')
      const ack = await api.post('/v1/datanets/{id}/contributions', { path: { id: datanet.id }, body: tx })
      setDone(ack.contribution)
      setPicked(undefined)
    } catch (e) {
      setError(e)
    } finally {
      setStage(undefined)
    }
  }

  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>Contribute</h2>
      {!account ? (
        <p>
          <Link to="/signin">Sign in</Link> to contribute.
        </p>
      ) : (
        <>
          <button
            type="button"
            className={`drop${over ? ' over' : ''}`}
            aria-describedby="drop-help"
            onClick={() => input.current?.click()}
            onDragOver={(e) => {
              e.preventDefault()
              setOver(true)
            }}
            onDragLeave={() => setOver(false)}
            onDrop={onDrop}
          >
            Drop a file here, or press to choose one
            <span id="drop-help" className="muted" style={{ display: 'block' }}>
              {datanet.rules.mediaTypes.map((t) => MEDIA_TYPES[t as keyof typeof MEDIA_TYPES]?.join(', ') ?? t).join(', ')}; up to{' '}
              {bytes(datanet.rules.maxSize)}
            </span>
          </button>
          <input ref={input} type="file" hidden aria-label="File to contribute" data-testid="file-input" onChange={(e) => pick(e.target.files?.[0])} />
          {picked ? (
            <div>
              <p>
                <strong>{picked.file.name}</strong> ({bytes(picked.file.size)}, {picked.mediaType ?? 'unknown format'})
              </p>
              {picked.problem ? (
                <div className="error" role="alert">
                  {picked.problem}
                </div>
              ) : (
                <>
                  <label htmlFor="c-title">Title</label>
                  <input id="c-title" value={title} onChange={(e) => setTitle(e.target.value)} />
                  <p data-testid="stake-notice">
                    Signing locks a stake of <Amount value={datanet.rules.stake} /> from your balance: returned if a curator accepts it, forfeited to the
                    Datanet's owner if rejected.
                  </p>
                  <button type="button" onClick={contribute} disabled={!!stage}>
                    Sign and contribute
                  </button>
                </>
              )}
            </div>
          ) : null}
          {stage ? (
            <p role="status" aria-live="polite">
              {stage}
            </p>
          ) : null}
          {progress ? (
            <p>
              <label htmlFor="up">Upload</label>
              <progress id="up" max={progress.total} value={progress.sent} />
              {bytes(progress.sent)} of {bytes(progress.total)}
            </p>
          ) : null}
          {done ? (
            <p className="ok" role="status">
              Contributed: <span className="mono">{done}</span>, waiting for a curator's review.
            </p>
          ) : null}
          <ErrorBox error={error} />
        </>
      )}
    </div>
  )
}

/** The first bytes of a contribution's blob as text (a Range request: previews never fetch a whole file). */
function Preview({ c }: { c: Schemas['Contribution'] }) {
  const [text, setText] = useState<string>()
  useEffect(() => {
    if (c.blob !== 'present' || (!c.mediaType.startsWith('text/') && c.mediaType !== 'application/jsonl')) return
    fetch(`/v1/blobs/${c.contentHash.slice(2)}`, { headers: { range: 'bytes=0-1999' } })
      .then((r) => (r.ok ? r.text() : undefined))
      .then(setText, () => undefined)
  }, [c])
  if (c.blob !== 'present') return <p className="muted">No preview: the blob is {c.blob}.</p>
  if (text === undefined) return <p className="muted">No text preview for {c.mediaType} (its text is extracted when the index is built).</p>
  return <pre style={{ maxHeight: 200, overflow: 'auto' }}>{text}</pre>
}

function ReviewQueue({ datanet }: { datanet: Datanet }) {
  const { account } = useWallet()
  const head = useHead()
  const queue = useLoad(() => api.get('/v1/datanets/{id}/queue', { path: { id: datanet.id }, query: { limit: 50 } }), [datanet.id, head.height])
  const [reasons, setReasons] = useState<Record<string, string>>({})
  return (
    <section className="card" aria-labelledby="queue-h">
      <h2 id="queue-h" style={{ marginTop: 0 }}>
        Review queue
      </h2>
      <Show loaded={queue}>
        {(q) =>
          q.contributions.length === 0 ? (
            <p>Nothing waiting for review.</p>
          ) : (
            <ul style={{ listStyle: 'none', padding: 0 }}>
              {q.contributions.map((c) => (
                <li key={c.id} className="card" data-testid="queue-item">
                  <h3 style={{ margin: 0 }}>{c.title}</h3>
                  <p>
                    by <AccountLink address={c.author} />, {c.mediaType}, {bytes(c.size)}, stake <Amount value={c.stake} />{' '}
                    <span className={`pill ${c.blob}`}>blob {c.blob}</span>{' '}
                    {c.nearDuplicate?.flagged ? (
                      <span className="pill flag">
                        near-duplicate: {bps(c.nearDuplicate.coverageBps)} of its tokens already accepted
                        {c.nearDuplicate.overlaps[0] ? ` (e.g. "${c.nearDuplicate.overlaps[0].title}")` : ''}
                      </span>
                    ) : null}
                  </p>
                  <Preview c={c} />
                  <label htmlFor={`reason-${c.id}`}>Reason (shown to the contributor; required to reject)</label>
                  <input
                    id={`reason-${c.id}`}
                    value={reasons[c.id] ?? ''}
                    onChange={(e) => setReasons({ ...reasons, [c.id]: e.target.value })}
                    style={{ width: '100%' }}
                  />
                  <div className="row" style={{ marginTop: 8 }}>
                    <ActionButton run={() => sendTx(account!, 'Review', { contribution: c.id, accept: true, reason: reasons[c.id] ?? '' }).then(queue.reload)}>
                      Accept
                    </ActionButton>
                    <ActionButton
                      className="secondary"
                      run={async () => {
                        if (!reasons[c.id]?.trim()) throw new Error('Give a reason to reject: the contributor loses their stake and should know why.')
                        await sendTx(account!, 'Review', { contribution: c.id, accept: false, reason: reasons[c.id] })
                        queue.reload()
                      }}
                    >
                      Reject
                    </ActionButton>
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </section>
  )
}

function Versions({ datanet, owner }: { datanet: Datanet; owner: boolean }) {
  const { account } = useWallet()
  const head = useHead()
  const [tick, setTick] = useState(0)
  const versions = useLoad(() => api.get('/v1/datanets/{id}/versions', { path: { id: datanet.id } }), [datanet.id, head.height, tick])
  const building = versions.data?.versions.some((v) => v.build.state === 'queued' || v.build.state === 'building')
  // A build moves without new blocks: follow it until it is ready or failed (each new answer re-arms the timer).
  // biome-ignore lint/correctness/useExhaustiveDependencies: versions.data is the trigger, not a value read
  useEffect(() => {
    if (!building) return
    const t = setTimeout(() => setTick((x) => x + 1), 500)
    return () => clearTimeout(t)
  }, [building, versions.data])
  return (
    <div className="card">
      <h2 style={{ marginTop: 0 }}>Versions</h2>
      {owner ? (
        <ActionButton run={() => sendTx(account!, 'PublishVersion', { datanet: datanet.id }).then(versions.reload)} disabled={datanet.counts.accepted === 0}>
          Publish a new version ({datanet.counts.accepted} accepted contributions)
        </ActionButton>
      ) : null}
      <Show loaded={versions}>
        {(v) => (
          <ul>
            {[...v.versions].reverse().map((ver) => (
              <li key={ver.version} data-testid={`version-${ver.version}`}>
                <strong>v{ver.version}</strong> ({ver.contributions} contributions, {time(ver.timestamp)}) <span className="mono">{ver.ref}</span>: index{' '}
                <span className={`pill ${ver.build.state}`} data-testid="build-state">
                  {ver.build.state}
                </span>
                {ver.build.state === 'building' && ver.build.total ? (
                  <progress max={ver.build.total} value={ver.build.done ?? 0} aria-label={`Index build of v${ver.version}`} />
                ) : null}
                {ver.build.phase && ver.build.state === 'building' ? <span className="muted"> {ver.build.phase}</span> : null}
                {ver.build.error ? <ErrorBox error={ver.build.error} /> : null}
                {ver.build.index ? (
                  <span className="muted">
                    {' '}
                    {ver.build.index.documents} documents, {ver.build.index.tokens} tokens
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </Show>
    </div>
  )
}

function Contributions({ datanet }: { datanet: Datanet }) {
  const head = useHead()
  const [offset, setOffset] = useState(0)
  const list = useLoad(
    () => api.get('/v1/datanets/{id}/contributions', { path: { id: datanet.id }, query: { limit: PAGE, offset } }),
    [datanet.id, offset, head.height],
  )
  return (
    <div>
      <h2>Contributions</h2>
      <Show loaded={list}>
        {(l) => (
          <>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Title</th>
                    <th scope="col">Author</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="hide-narrow">
                      Size
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {l.contributions.map((c) => (
                    <tr key={c.id}>
                      <td>
                        <Link to={`/tx/${c.id}`}>{c.title}</Link>
                      </td>
                      <td>
                        <AccountLink address={c.author} />
                      </td>
                      <td>
                        <span className={`pill ${c.status}`}>{c.status}</span>
                        {c.review?.reason ? <div className="muted">{c.review.reason}</div> : null}
                      </td>
                      <td className="hide-narrow">{bytes(c.size)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager offset={offset} shown={l.contributions.length} total={l.total} page={PAGE} setOffset={setOffset} />
          </>
        )}
      </Show>
    </div>
  )
}
