/** Shared pieces of the pages: loading data, the chain head as it moves, errors said plainly, links to ledger objects. */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react'
import { api, describeError, type Schemas } from './api.ts'
import { formatSin, short } from './format.ts'
import { Link } from './router.tsx'

/** How often the page asks the node for its head (the API has no push; this is what "live" costs). */
const HEAD_POLL_MS = 1000

/** The chain head as last read (GET /v1/status): its height, whether the node answered, and the whole status (undefined until the first answer). */
type Head = { height: bigint; reachable: boolean; status?: Schemas['NodeStatus'] }
const HeadContext = createContext<Head>({ height: 0n, reachable: true })

/**
 * Polls GET /v1/status, the one reader of it in the app: pages that read `useHead()` reload as
 * blocks arrive; a node gone away is noticed. The first read is preloaded by index.html (it
 * starts with the script, not after it), so the first page shows the chain without waiting
 * for a round trip after the script runs.
 */
export function HeadProvider({ children }: { children: ReactNode }) {
  const [head, setHead] = useState<Head>({ height: 0n, reachable: true })
  useEffect(() => {
    let stop = false
    let timer: ReturnType<typeof setTimeout>
    const tick = async () => {
      try {
        const s = await api.get('/v1/status')
        if (!stop)
          setHead((h) =>
            h.status && h.height === BigInt(s.height) && h.status.pendingTxs === s.pendingTxs && h.reachable
              ? h
              : { height: BigInt(s.height), reachable: true, status: s },
          )
      } catch {
        if (!stop) setHead((h) => (h.reachable ? { ...h, reachable: false } : h))
      }
      if (!stop) timer = setTimeout(tick, HEAD_POLL_MS)
    }
    tick()
    return () => {
      stop = true
      clearTimeout(timer)
    }
  }, [])
  return <HeadContext.Provider value={head}>{children}</HeadContext.Provider>
}

export const useHead = () => useContext(HeadContext)

export type Loaded<T> = { data: T | undefined; error: unknown; loading: boolean; reload: () => void }

/** Runs `load` when `deps` change (and on reload()); keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true })
  const [n, setN] = useState(0)
  const current = useRef(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's
  useEffect(() => {
    const id = ++current.current
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (data) => id === current.current && setState({ data, loading: false }),
      (error) => id === current.current && setState((s) => ({ data: s.data, error, loading: false })),
    )
  }, [...deps, n])
  const reload = useCallback(() => setN((x) => x + 1), [])
  return { data: state.data, error: state.error, loading: state.loading, reload }
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null
  const e = describeError(error)
  return (
    <div className="error" role="alert">
      <strong>{e.message}</strong>
      {e.hint ? <p>{e.hint}</p> : null}
      {e.code ? <small>code: {e.code}</small> : null}
    </div>
  )
}

export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ReactNode }) {
  if (loaded.data !== undefined)
    return (
      <>
        {loaded.error ? <ErrorBox error={loaded.error} /> : null}
        {children(loaded.data)}
      </>
    )
  if (loaded.error) return <ErrorBox error={loaded.error} />
  return <p aria-busy="true">Loading…</p>
}

export const AccountLink = ({ address }: { address: string }) => (
  <Link to={`/account/${address}`} className="mono" title={address}>
    {short(address)}
  </Link>
)
export const TxLink = ({ hash }: { hash: string }) => (
  <Link to={`/tx/${hash}`} className="mono" title={hash}>
    {short(hash)}
  </Link>
)
export const Amount = ({ value }: { value: string | bigint }) => (
  <span className="amount" data-base-units={String(value)}>
    {formatSin(value)}
  </span>
)

/** A button that runs an async action, shows it running, and shows its error next to it. */
export function ActionButton({
  run,
  children,
  className,
  disabled,
}: {
  run: () => Promise<unknown>
  children: ReactNode
  className?: string
  disabled?: boolean
}) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>()
  return (
    <>
      <button
        type="button"
        className={className}
        disabled={busy || disabled}
        aria-busy={busy}
        onClick={async () => {
          setBusy(true)
          setError(undefined)
          try {
            await run()
          } catch (e) {
            setError(e)
          } finally {
            setBusy(false)
          }
        }}
      >
        {children}
      </button>
      <ErrorBox error={error} />
    </>
  )
}

/** Previous/next over a list the API pages with offset and limit; says which items are shown. */
export function Pager(o: {
  offset: number
  shown: number
  total: number
  page: number
  setOffset: (n: number) => void
  empty?: string
  labels?: [string, string]
}) {
  const [back, forward] = o.labels ?? ['Previous', 'Next']
  return (
    <p className="row">
      <span>{o.total === 0 ? (o.empty ?? 'None yet.') : `${o.offset + 1}–${o.offset + o.shown} of ${o.total}`}</span>
      <button type="button" className="secondary" disabled={o.offset === 0} onClick={() => o.setOffset(Math.max(0, o.offset - o.page))}>
        {back}
      </button>
      <button type="button" className="secondary" disabled={o.offset + o.page >= o.total} onClick={() => o.setOffset(o.offset + o.page)}>
        {forward}
      </button>
    </p>
  )
}
