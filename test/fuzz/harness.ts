/**
 * The fuzz harness: a target is a node (or files) set up once, an arbitrary of cases and a
 * `run` that plays one case and checks the invariants, throwing `InvariantViolation` when
 * one breaks. `runTarget` drives it with fast-check (seed, numRuns, shrinking to a minimal
 * case) and counts outcomes. test/fuzz.test.ts runs every target with a fixed seed and few
 * cases; bench/fuzz.ts runs them at full size.
 *
 * Invariants every node target checks after each case (`NodeWatch`):
 * - the node answers GET /v1/status (it is alive and not wedged);
 * - no answer is a 5xx, and every error answer is a typed `{error: {code, message, details}}`
 *   whose code is in the catalogue with the status it was answered with;
 * - a refusal changes nothing: the head (height, stateRoot) and every balance the case
 *   touched are what they were;
 * - money is conserved: balances plus what Datanets and tasks hold, plus what was withdrawn to
 *   the EVM chain less what was deposited from it, is the genesis supply.
 */
import http from 'node:http'
import fc from 'fast-check'
import { errorCatalogue, isErrorCode, type Hex } from '../../src/core/index.ts'
import { decodeAccount, type Address } from '../../src/ledger/index.ts'
import type { RunningNode } from '../../src/server/index.ts'

export class InvariantViolation extends Error {
  override name = 'InvariantViolation'
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${message}\n${safeJson(details)}`)
  }
}

export function safeJson(value: unknown, max = 4000): string {
  let s: string
  try {
    s = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `<${v.length} bytes>` : v))
  } catch {
    s = String(value)
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s
}

// ---- raw HTTP -------------------------------------------------------------------------------------

export type Answer = { status: number; headers: http.IncomingHttpHeaders; text: string; json: unknown }

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })

/**
 * One HTTP request with nothing in between: the path is sent as given (percent-encode what
 * must be), any header, any body bytes. Times out after `timeoutMs` (a hung node).
 */
export function request(
  baseUrl: string,
  o: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer | Uint8Array; timeoutMs?: number },
): Promise<Answer> {
  return requestOnce(baseUrl, o).catch((e: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
    // A kept-alive socket the server closed just as it was reused (as Node's docs describe):
    // the request never reached the node, so it is sent again on a new connection.
    if (e.reusedSocket && e.code === 'ECONNRESET') return requestOnce(baseUrl, o, false)
    throw e
  })
}

function requestOnce(
  baseUrl: string,
  o: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer | Uint8Array; timeoutMs?: number },
  keepAlive = true,
): Promise<Answer> {
  const url = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : typeof o.body === 'string' ? Buffer.from(o.body) : Buffer.from(o.body)
    const req = http.request(
      {
        agent: keepAlive ? agent : false,
        host: url.hostname,
        port: url.port,
        method: o.method,
        path: o.path,
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...o.headers },
        timeout: o.timeoutMs ?? 120_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text ? JSON.parse(text) : undefined
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new InvariantViolation(`no answer to ${o.method} ${o.path.slice(0, 200)} within ${o.timeoutMs ?? 120_000} ms`)))
    req.on('error', (e: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      e.reusedSocket = req.reusedSocket
      reject(e)
    })
    req.end(body)
  })
}

export const postJson = (baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
  request(baseUrl, { method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

export const getJson = (baseUrl: string, path: string): Promise<Answer> => request(baseUrl, { method: 'GET', path })

/** encodeURIComponent that takes any string: lone surrogates become U+FFFD, as a UTF-8 client would send them. */
export const encodeSegment = (s: string): string =>
  encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))

/** The error code an answer carries, if it is an error body. */
export function errorCode(a: Answer): string | undefined {
  const e = (a.json as { error?: { code?: unknown } } | undefined)?.error
  return typeof e?.code === 'string' ? e.code : undefined
}

/** A short name for an answer, for the outcome counts: `200`, `422 insufficient_balance`. */
export const outcomeOf = (a: Answer): string => (a.status >= 400 ? `${a.status} ${errorCode(a) ?? '?'}` : String(a.status))

// ---- node state --------------------------------------------------------------------------------------

export type Snapshot = { height: string; stateRoot: string; balances: Map<string, { balance: bigint; nonce: bigint }> }

/** Everything money can be in: account balances, stakes Datanets hold, escrow tasks hold. */
export function moneySupply(node: RunningNode): bigint {
  let total = 0n
  for (const [key, value] of node.node.chain.state.entries()) {
    if (key.startsWith('acct/')) total += decodeAccount(value).balance
    else if (key.startsWith('datanet/d/') && key.indexOf('/', 10) === -1) total += BigInt(JSON.parse(Buffer.from(value).toString('utf8')).stakeLocked)
    else if (key.startsWith('task/') && !key.startsWith('task/spec/')) {
      const task = JSON.parse(Buffer.from(value).toString('utf8'))
      if (task.escrow !== undefined) total += BigInt(task.escrow)
    } else if (key === 'settlement/totals') {
      // SIN that left for the EVM chain (Withdraw) is still the genesis supply; SIN that came in (Deposit) is not.
      const totals = JSON.parse(Buffer.from(value).toString('utf8'))
      total += BigInt(totals.withdrawn) - BigInt(totals.deposited)
    }
  }
  return total
}

/** Addresses (0x + 40 hex) anywhere in a value, lower-cased. */
export function addressesIn(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    if (/^0x[0-9a-fA-F]{40}$/.test(value)) out.add(value.toLowerCase())
  } else if (Array.isArray(value)) for (const v of value) addressesIn(v, out)
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) addressesIn(v, out)
  return out
}

/** The invariants of a running node, checked around each case. */
export class NodeWatch {
  readonly supply: bigint
  constructor(readonly node: RunningNode) {
    this.supply = moneySupply(node)
  }

  get url(): string {
    return this.node.url
  }

  /**
   * The head and the balances of `touched`. `alive` reads the head over GET /v1/status (so
   * the node is alive and answering); without it, in-process (cheaper, for the "before").
   */
  async snapshot(touched: Iterable<string> = [], o: { alive?: boolean } = {}): Promise<Snapshot> {
    let s: { height: string; stateRoot: Hex }
    if (o.alive === false) {
      const head = this.node.node.chain.head
      s = { height: head.height.toString(), stateRoot: head.stateRoot }
    } else {
      const a = await request(this.url, { method: 'GET', path: '/v1/status', timeoutMs: 30_000 }).catch((e) => {
        throw new InvariantViolation('the node does not answer GET /v1/status', { error: String(e) })
      })
      if (a.status !== 200) throw new InvariantViolation('GET /v1/status is not 200', { status: a.status, body: a.text.slice(0, 500) })
      s = a.json as { height: string; stateRoot: Hex }
    }
    const balances = new Map<string, { balance: bigint; nonce: bigint }>()
    for (const address of touched) balances.set(address, this.node.node.account(address.toLowerCase() as Address))
    return { height: s.height, stateRoot: s.stateRoot, balances }
  }

  /**
   * No 5xx; an error answer is a typed error body whose code the catalogue lists with this
   * status (`allow` names 5xx codes a target accepts, e.g. a retryable ingest timeout).
   * The OpenAI-compatible routes answer the catalogue's 422 as 402, like OpenAI.
   */
  checkAnswer(a: Answer, what: unknown, o: { allow?: (code: string) => boolean; openai?: boolean; untyped?: boolean } = {}): void {
    const code = errorCode(a)
    if (a.status >= 500 && !(code && o.allow?.(code))) {
      throw new InvariantViolation(`5xx answer`, { request: what, status: a.status, body: a.text.slice(0, 2000) })
    }
    if (a.status < 400 || o.untyped) return
    if (!code) throw new InvariantViolation('an error answer without a typed error body', { request: what, status: a.status, body: a.text.slice(0, 500) })
    if (!isErrorCode(code)) throw new InvariantViolation(`error code ${code} is not in the catalogue`, { request: what, status: a.status })
    const want = errorCatalogue[code].status
    if (a.status !== want && !(o.openai && want === 422 && a.status === 402)) {
      throw new InvariantViolation(`${code} answered ${a.status}, the catalogue says ${want}`, { request: what, body: a.text.slice(0, 500) })
    }
  }

  /** A refused case: the head and every touched balance and nonce are as before. */
  checkUnchanged(before: Snapshot, after: Snapshot, what: unknown): void {
    if (before.stateRoot !== after.stateRoot || before.height !== after.height) {
      throw new InvariantViolation('a refused request changed the ledger', {
        request: what,
        before: [before.height, before.stateRoot],
        after: [after.height, after.stateRoot],
      })
    }
    for (const [address, b] of before.balances) {
      const a = after.balances.get(address)
      if (!a || a.balance !== b.balance || a.nonce !== b.nonce) {
        throw new InvariantViolation('a refused request changed an account', { request: what, address, before: b, after: a })
      }
    }
  }

  /** Balances, stakes and escrow add up to the genesis supply (a walk over the state: call it after a change, not a refusal). */
  checkSupply(what: unknown): void {
    const now = moneySupply(this.node)
    if (now !== this.supply)
      throw new InvariantViolation('money was created or destroyed', { request: what, genesis: this.supply, now, delta: now - this.supply })
  }
}

// ---- the runner ---------------------------------------------------------------------------------------

export type CaseContext<C> = {
  arbitrary: fc.Arbitrary<C>
  /** Plays one case; returns its outcome's name; throws InvariantViolation when an invariant breaks. */
  run(c: C): Promise<string>
  close(): Promise<void>
}

export type FuzzTarget<C = any> = {
  name: string
  description: string
  setup(): Promise<CaseContext<C>>
}

export type RunOptions = {
  numRuns: number
  seed: number
  /** fast-check's replay path of a failure (with its seed). */
  path?: string
  /** A case that takes longer fails as a hang. */
  caseTimeoutMs?: number
  log?: (line: string) => void
  progressEvery?: number
}

export type TargetReport = {
  target: string
  seed: number
  numRuns: number
  /** Cases played, shrinking included. */
  cases: number
  failed: boolean
  failure?: { error: string; counterexample: string; path: string; shrinks: number; replay: string }
  ms: number
  casesPerSecond: number
  outcomes: Record<string, number>
}

/** The run in progress (target, cases so far, outcomes), for a runner stopped before the end to report what it played. */
export const running: { target?: string; seed?: number; numRuns?: number; cases: number; started: number; outcomes: Record<string, number> } = {
  cases: 0,
  started: 0,
  outcomes: {},
}

export async function runTarget(target: FuzzTarget, o: RunOptions): Promise<TargetReport> {
  const log = o.log ?? (() => {})
  const started = performance.now()
  const ctx = await target.setup()
  log(`[fuzz] ${target.name}: set up in ${Math.round(performance.now() - started)} ms; ${o.numRuns} cases, seed ${o.seed}`)
  const t0 = performance.now()
  const outcomes: Record<string, number> = {}
  let cases = 0
  Object.assign(running, { target: target.name, seed: o.seed, numRuns: o.numRuns, cases: 0, started: t0, outcomes })
  const every = o.progressEvery ?? Math.max(1, Math.floor(o.numRuns / 20))
  const timeout = o.caseTimeoutMs ?? 180_000
  try {
    const details = await fc.check(
      fc.asyncProperty(ctx.arbitrary, async (c) => {
        const outcome = await withTimeout(ctx.run(c), timeout, `a ${target.name} case took over ${timeout} ms`)
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
        cases++
        running.cases = cases
        if (cases % every === 0) {
          const s = (performance.now() - t0) / 1000
          log(`[fuzz] ${target.name}: ${cases}/${o.numRuns} cases, ${s.toFixed(0)} s, ${(cases / s).toFixed(1)}/s`)
        }
      }),
      { numRuns: o.numRuns, seed: o.seed, ...(o.path ? { path: o.path } : {}) },
    )
    const ms = performance.now() - t0
    const report: TargetReport = {
      target: target.name,
      seed: o.seed,
      numRuns: o.numRuns,
      cases,
      failed: details.failed,
      ms: Math.round(ms),
      casesPerSecond: Math.round((cases / ms) * 1000 * 10) / 10,
      outcomes: Object.fromEntries(Object.entries(outcomes).sort((a, b) => b[1] - a[1])),
    }
    if (details.failed) {
      const err = details.errorInstance
      report.failure = {
        error: err instanceof Error ? err.message : String(err),
        counterexample: fc.stringify(details.counterexample),
        path: details.counterexamplePath ?? '',
        shrinks: details.numShrinks,
        replay: `npm run fuzz -- --target ${target.name} --seed ${o.seed} --path ${details.counterexamplePath} --runs ${o.numRuns}`,
      }
    }
    return report
  } finally {
    await ctx.close()
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new InvariantViolation(message)), ms)
    }),
  ])
}
