/** The app's frame: header with navigation and the account in use, the INSECURE banner on dev networks, and the page for the path. */
import { lazy, Suspense, useEffect, useRef, useState, type ComponentType, type LazyExoticComponent } from 'react'
import { match, Link, usePath } from './router.tsx'
import { ErrorBox, HeadProvider, useHead } from './ui.tsx'
import { useWallet, WalletProvider } from './wallet.tsx'
import { short } from './format.ts'
import { Explorer } from './pages/explorer.tsx'

// Each page but the first is its own chunk, loaded when visited.
type Page = ComponentType<{ params: Record<string, string> }>
const page = (load: () => Promise<{ default: Page }>): LazyExoticComponent<Page> => lazy(load)
const Block = page(() => import('./pages/block.tsx'))
const Tx = page(() => import('./pages/tx.tsx'))
const AccountPage = page(() => import('./pages/account.tsx'))
const Datanets = page(() => import('./pages/datanets.tsx'))
const Datanet = page(() => import('./pages/datanet.tsx'))
const Playground = page(() => import('./pages/playground.tsx'))
const Earnings = page(() => import('./pages/earnings.tsx'))
const Receipt = page(() => import('./pages/receipt.tsx'))
const Models = page(() => import('./pages/models.tsx'))
const SignIn = page(() => import('./pages/signin.tsx'))
const Tasks = page(() => import('./pages/tasks.tsx'))
const TaskPage = page(() => import('./pages/task.tsx'))
const AgentPage = page(() => import('./pages/agent.tsx'))

const ROUTES: [string, Page | LazyExoticComponent<Page>][] = [
  ['/', Explorer],
  ['/blocks/:height', Block],
  ['/tx/:hash', Tx],
  ['/account/:address', AccountPage],
  ['/datanets', Datanets],
  ['/datanets/:id', Datanet],
  ['/playground', Playground],
  ['/earnings', Earnings],
  ['/earnings/:address', Earnings],
  ['/receipts/:id', Receipt],
  ['/models', Models],
  ['/signin', SignIn],
  ['/tasks', Tasks],
  ['/tasks/:id', TaskPage],
  ['/agents/:address', AgentPage],
]

const NAV: [string, string][] = [
  ['/', 'Explorer'],
  ['/datanets', 'Datanets'],
  ['/playground', 'Playground'],
  ['/earnings', 'Earnings'],
  ['/models', 'Models & keys'],
  ['/tasks', 'Tasks & agents'],
]

function Router() {
  const path = usePath()
  for (const [pattern, Component] of ROUTES) {
    const params = match(pattern, path)
    if (params)
      return (
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <Component params={params} />
        </Suspense>
      )
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link to="/">Go to the explorer</Link>.
      </p>
    </section>
  )
}

function Header() {
  const path = usePath()
  const { account, status } = useWallet()
  const [open, setOpen] = useState(false)
  return (
    <header className="top">
      <div className="bar">
        <Link to="/" className="brand">
          Sinew
        </Link>
        <button type="button" className="menu" aria-expanded={open} aria-controls="nav" onClick={() => setOpen(!open)}>
          Menu
        </button>
        <nav id="nav" aria-label="Main" className={open ? 'open' : ''}>
          {NAV.map(([to, label]) => (
            <Link
              key={to}
              to={to}
              aria-current={to === '/' ? (path === '/' ? 'page' : undefined) : path.startsWith(to) ? 'page' : undefined}
              onClick={() => setOpen(false)}
            >
              {label}
            </Link>
          ))}
        </nav>
        <Link to="/signin" className="who" data-testid="account">
          {account ? `${account.label}: ${short(account.address, 4)}` : 'Sign in'}
        </Link>
      </div>
      {status?.insecure ? (
        <p className="insecure" role="note">
          <strong>INSECURE dev network</strong> ({status.network}, chain {status.chainId}): its funded keys are public. Never use it for anything of value.
        </p>
      ) : null}
    </header>
  )
}

function Offline() {
  const head = useHead()
  if (head.reachable) return null
  return (
    <div className="offline">
      <ErrorBox
        error={{
          message: `The Sinew node at ${location.origin} is not answering.`,
          hint: 'It may have stopped or restarted. The page retries every second; actions are refused until it is back, so nothing is half-written.',
        }}
      />
    </div>
  )
}

/**
 * After an in-app navigation (not the first load), focus moves to the new page's content,
 * where a page load would put a keyboard or screen-reader user. Without it focus stayed on
 * the link or button that navigated (often in the header), and the next Tab started there.
 */
function useFocusOnNavigate() {
  const path = usePath()
  const main = useRef<HTMLElement>(null)
  const shown = useRef(path)
  useEffect(() => {
    if (shown.current === path) return
    shown.current = path
    main.current?.focus({ preventScroll: true })
  }, [path])
  return main
}

export function App() {
  const main = useFocusOnNavigate()
  return (
    <HeadProvider>
      <WalletProvider>
        <a href="#main" className="skip">
          Skip to content
        </a>
        <Header />
        <Offline />
        <main id="main" ref={main} tabIndex={-1}>
          <Router />
        </main>
        <footer>
          API: <a href="/openapi.json">/openapi.json</a> · every figure here is read from the ledger and can be recomputed (<code>sinew verify</code>).
        </footer>
      </WalletProvider>
    </HeadProvider>
  )
}
