/**
 * The soak (issue #11): 200 concurrent clients against a real `sinew node` process for
 * 5 minutes, across every endpoint group: ledger reads and txs (single and batched),
 * Datanet reads, search, uploads and contributions, blobs, models and receipts, paid model
 * calls (plain and streamed), tasks and agents, MCP, and bad requests (malformed JSON,
 * unknown routes, bad addresses). Each client has its own funded account and its own
 * loopback address (127.0.x.y), as distinct strangers would, and loops without pause.
 *
 * Then a steady phase (default 120 s) of the same clients doing only what leaves the
 * ledger as it is (reads, search, MCP, refused requests): with the chain no longer growing,
 * the node's memory must stay flat there, whatever the mixed phase added to the state it
 * keeps in memory by design. Memory is read two ways: RSS from /proc every 5 s, and the
 * heap in use after a full garbage collection (through the node's inspector) after set-up,
 * after the mixed phase and after the steady phase.
 *
 * Reports every answer by group and status, the 5xx count (must be 0), latencies and the
 * memory figures. Writes bench/results/soak.json; exits 1 on any 5xx, lost connection, or
 * heap growth in the steady phase over SOAK_STEADY_TOLERANCE_MIB (default 8).
 *
 *   npm run bench soak                            # 200 clients, 300 s mixed + 120 s steady
 *   SOAK_CLIENTS=50 SOAK_SECONDS=60 SOAK_STEADY_SECONDS=30 npm run bench soak
 */
import { createHash } from 'node:crypto'
import { Agent, request } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Hex } from '../src/core/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import { API_KEY, MODEL, postTaskMessage, setUpDatanetAndModel, WORDS } from '../test/crash-loop.ts'
import { datanetsClient, type DatanetsClient, type HttpResult } from '../test/datanets-fixtures.ts'
import { dev, runCli, signTransfer } from '../test/helpers.ts'
import { startNodeProcess } from '../test/node-process.ts'
import { inspectorUrl, readHeapAfterGc, type HeapReading } from './heap-probe.ts'
import { median, mulberry32 as seededRandom, percentile, writeResult } from './lib.ts'

const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 200)
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300)
const STEADY_SECONDS = Number(process.env.SOAK_STEADY_SECONDS ?? 120)
const STEADY_TOLERANCE_MIB = Number(process.env.SOAK_STEADY_TOLERANCE_MIB ?? 8)
const SEED = Number(process.env.SOAK_SEED ?? 1)
/** Paid calls share this many API keys (the node allows 16 calls at once per key: a 429 beyond, which is counted, not a failure). */
const KEYS = 16

const rssBytes = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
const mib = (b: number) => Math.round(b / 1048576)
const sha256 = (b: string) => createHash('sha256').update(b).digest('hex')

/** Per group: answers by status, latencies, and the first error body of each status (what a 4xx said). */
type Tally = { count: number; statuses: Record<string, number>; ms: number[]; said: Record<string, string> }
const tallies = new Map<string, Tally>()
const serverErrors: string[] = []
let connectionErrors = 0

type Answer = { status: number; text: string }
type Send = (agent: Agent) => Promise<Answer>

/** Client i's own loopback address: the node sees 200 different strangers, each with its own per-client limits. */
const clientAddress = (i: number) => `127.0.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`

/** One HTTP request through `agent` (keep-alive, bound to the client's address); resolves with the whole answer. */
function send(agent: Agent, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

/** Sends one request and tallies its answer under `group`. */
async function timed(group: string, agent: Agent, sendIt: Send): Promise<HttpResult | undefined> {
  const t = performance.now()
  let status: number
  let json: any
  try {
    const r = await sendIt(agent)
    status = r.status
    const text = r.text
    json = text.startsWith('{') ? JSON.parse(text) : text
  } catch (e) {
    connectionErrors++
    if (serverErrors.length < 50) serverErrors.push(`${group}: connection: ${(e as Error).message}`)
    return undefined
  }
  const tally = tallies.get(group) ?? { count: 0, statuses: {}, ms: [], said: {} }
  tallies.set(group, tally)
  tally.count++
  tally.statuses[status] = (tally.statuses[status] ?? 0) + 1
  tally.ms.push(performance.now() - t)
  if (status >= 400) tally.said[status] ??= JSON.stringify(json?.error?.code ?? json).slice(0, 200)
  if (status >= 500 && serverErrors.length < 50) serverErrors.push(`${group}: ${status} ${JSON.stringify(json).slice(0, 300)}`)
  return { status, json }
}

const get =
  (url: string): Send =>
  (agent) =>
    send(agent, url)
const post =
  (url: string, body: unknown, headers: Record<string, string> = {}): Send =>
  (agent) =>
    send(agent, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
/** The same as fetch, for set-up requests from 127.0.0.1. */
const postNow = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

const dataDir = mkdtempSync(join(tmpdir(), 'sinew-soak-'))
try {
  const init = await runCli(['init', '--dev', '--data-dir', dataDir])
  if (init.code !== 0) throw new Error(`sinew init failed: ${init.stderr}`)
  const node = await startNodeProcess({ dataDir, nodeFlags: ['--max-semi-space-size=32', '--inspect=127.0.0.1:0'] })
  const heap = () => readHeapAfterGc(inspectorUrl(node.output()))
  process.on('exit', () => node.child.kill('SIGKILL'))
  const url = node.url
  console.log(`soak: node pid ${node.pid} on ${url}; setting up`)
  const datanet = await setUpDatanetAndModel(url)
  const c: DatanetsClient = await datanetsClient(url)

  // One funded account per client, and KEYS API keys (paid by dev 5).
  const keys = Array.from({ length: CLIENTS }, (_, i) => keccak256(toHex(`sinew soak client ${SEED} ${i}`)) as Hex)
  const accounts = keys.map((k) => privateKeyToAccount(k))
  let someTx: Hex | undefined
  for (let from = 0; from < CLIENTS; from += 50) {
    const nonce = BigInt(((await (await fetch(`${url}/v1/accounts/${dev[0].address}`)).json()) as any).nonce)
    const txs = await Promise.all(
      accounts.slice(from, from + 50).map((a, i) => signTransfer(dev[0].privateKey, { to: a.address, amount: 5n * 10n ** 18n, nonce: nonce + BigInt(i) })),
    )
    const r = (await (await postNow(`${url}/v1/txs`, { txs })).json()) as any
    if (!r.results.every((x: { ok: boolean }) => x.ok)) throw new Error(`funding failed: ${JSON.stringify(r).slice(0, 500)}`)
    someTx ??= r.results[0].hash
  }
  const apiKeys = Array.from({ length: KEYS }, (_, i) => (i === 0 ? API_KEY : `sk-sinew-${sha256(`soak key ${i}`)}`))
  for (const k of apiKeys.slice(1)) {
    const r = await c.submit(dev[5].privateKey, 'GrantApiKey', { keyHash: hashApiKey(k), label: 'soak', spendLimit: '0', expiresAt: '0' })
    if (r.status !== 200) throw new Error(`GrantApiKey: ${JSON.stringify(r.json)}`)
  }
  const firstReceipt: string = (
    (await (
      await postNow(
        `${url}/v1/chat/completions`,
        { model: MODEL, messages: [{ role: 'user', content: 'lighthouse' }], max_tokens: 4 },
        { authorization: `Bearer ${API_KEY}` },
      )
    ).json()) as any
  ).sinew.receipt
  const blobSha = sha256(WORDS.join(' '))

  const agents = Array.from({ length: CLIENTS }, (_, i) => new Agent({ keepAlive: true, localAddress: clientAddress(i) }))

  /**
   * One client: its account, its API key, its address, a loop of requests drawn from its own
   * seeded sequence: everything in the mixed phase, only what leaves the ledger as it is in
   * the steady phase.
   */
  async function client(i: number, until: number, phase: 'mixed' | 'steady'): Promise<void> {
    const random = seededRandom(SEED * 100_003 + i + (phase === 'steady' ? 7_919 : 0))
    const agent = agents[i]
    const timedHere = (group: string, s: Send) => timed(group, agent, s)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]
    const key = keys[i]
    const me = accounts[i].address
    const auth = { authorization: `Bearer ${apiKeys[i % KEYS]}` }
    const reads = [
      ['ledger', '/v1/status'],
      ['ledger', `/v1/accounts/${me}`],
      ['ledger', '/v1/blocks/latest'],
      ['ledger', '/v1/blocks?limit=20'],
      ['ledger', `/v1/tx/${someTx}`],
      ['ledger', '/v1/types'],
      ['ledger', '/v1/genesis'],
      ['ledger', '/v1/errors'],
      ['datanets', '/v1/datanets'],
      ['datanets', `/v1/datanets/${datanet}`],
      ['datanets', `/v1/datanets/${datanet}/contributions?limit=20`],
      ['datanets', `/v1/datanets/${datanet}/versions`],
      ['datanets', `/v1/datanets/${datanet}/versions/1`],
      ['datanets', `/v1/datanets/${datanet}/contributors`],
      ['search', `/v1/datanets/${datanet}/versions/1/search?q=${encodeURIComponent(pick(WORDS))}`],
      ['blobs', `/v1/blobs/${blobSha}`],
      ['blobs', '/v1/blobs/policy'],
      ['models', '/v1/models'],
      ['models', '/v1/registry/models'],
      ['models', `/v1/receipts/${firstReceipt}`],
      ['models', `/v1/accounts/${dev[0].address}/earnings`],
      ['agents', '/v1/tasks'],
      ['agents', '/v1/agents'],
      ['agents', '/.well-known/agent-card.json'],
    ] as const
    while (Date.now() < until) {
      // The steady phase draws from reads (0-0.45), MCP (0.85-0.9) and refused requests (0.9-1) only.
      const r = phase === 'mixed' ? random() : pick([() => random() * 0.45, () => 0.85 + random() * 0.15])()
      if (r < 0.45) {
        const [group, path] = pick(reads)
        await timedHere(group, get(`${url}${path}`))
      } else if (r < 0.6) {
        const nonce = BigInt((await timedHere('ledger', get(`${url}/v1/accounts/${me}`)))?.json?.nonce ?? 0)
        const batch = random() < 0.2 ? 5 : 1
        const txs = await Promise.all(
          Array.from({ length: batch }, (_, k) => signTransfer(key, { to: pick(dev).address, amount: 1n, nonce: nonce + BigInt(k) })),
        )
        if (batch === 1) await timedHere('tx', post(`${url}/v1/tx`, txs[0]))
        else await timedHere('tx', post(`${url}/v1/txs`, { txs }))
      } else if (r < 0.66) {
        const text = `${Array.from({ length: 20 }, () => pick(WORDS)).join(' ')} ${i}-${random().toString(36).slice(2)}.`
        const tx = await c.sign(key, 'Contribute', {
          datanet,
          contentHash: `0x${sha256(text)}`,
          title: `soak ${i}`,
          mediaType: 'text/plain',
          size: String(text.length),
        })
        const up = await timedHere('upload', (a) =>
          send(a, `${url}/v1/blobs`, {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream', 'x-sinew-upload-tx': Buffer.from(JSON.stringify(tx)).toString('base64') },
            body: text,
          }),
        )
        if (up && up.status < 300) await timedHere('contribute', post(`${url}/v1/datanets/${datanet}/contributions`, tx))
      } else if (r < 0.7) {
        const tx = await c.sign(key, 'PostTask', postTaskMessage(`soak task ${i}`, random))
        await timedHere('tx', post(`${url}/v1/tx`, tx))
      } else if (r < 0.85) {
        const stream = random() < 0.3
        const body = { model: MODEL, messages: [{ role: 'user', content: `${pick(WORDS)} ${pick(WORDS)}` }], max_tokens: 8, stream }
        if (random() < 0.8) await timedHere(stream ? 'chat-stream' : 'chat', post(`${url}/v1/chat/completions`, body, auth))
        else await timedHere('completions', post(`${url}/v1/completions`, { model: MODEL, prompt: pick(WORDS), max_tokens: 8 }, auth))
      } else if (r < 0.9) {
        await timedHere(
          'mcp',
          post(
            `${url}/mcp`,
            {
              jsonrpc: '2.0',
              id: 1,
              method: 'initialize',
              params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'soak', version: '1' } },
            },
            { accept: 'application/json, text/event-stream' },
          ),
        )
      } else {
        const bad = pick([
          post(`${url}/v1/tx`, '{"type": "Transfer", '),
          get(`${url}/v1/accounts/0xnot-an-address`),
          get(`${url}/v1/no-such-route`),
          post(`${url}/v1/chat/completions`, { model: MODEL, messages: [] }, auth),
          post(`${url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'x' }] }, { authorization: 'Bearer sk-sinew-unknown' }),
          get(`${url}/v1/datanets/${datanet}/versions/999`),
        ])
        await timedHere('bad-input', bad)
      }
    }
  }

  /** The chain's size, to set the memory figures beside: height and state keys. */
  const chainSize = async () => {
    const st = (await (await fetch(`${url}/v1/status`)).json()) as any
    return { height: Number(st.height), stateKeys: Number(st.stateKeys) }
  }
  const heapAt: Record<'setUp' | 'afterMixed' | 'afterSteady', HeapReading & { height: number; stateKeys: number }> = {} as any
  heapAt.setUp = { ...(await heap()), ...(await chainSize()) }

  // RSS every 5 s from the start of the load to its end.
  const load = [loadavg()[0]]
  const t0 = Date.now()
  const rss: { s: number; mib: number }[] = [{ s: 0, mib: mib(rssBytes(node.pid)) }]
  console.log(
    `soak: ${CLIENTS} clients, ${SECONDS} s mixed then ${STEADY_SECONDS} s steady; node RSS at the start ${rss[0].mib} MiB, heap after GC ${heapAt.setUp.heapUsedMiB} MiB`,
  )
  const sampler = setInterval(() => {
    const s = Math.round((Date.now() - t0) / 1000)
    rss.push({ s, mib: mib(rssBytes(node.pid)) })
    const n = [...tallies.values()].reduce((a, t) => a + t.count, 0)
    if (s % 30 === 0)
      console.log(`soak: ${s} s, ${n} answers, ${serverErrors.length} server errors, RSS ${rss.at(-1)!.mib} MiB, load ${loadavg()[0].toFixed(1)}`)
  }, 5000)
  const mixedUntil = t0 + SECONDS * 1000
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i, mixedUntil, 'mixed')))
  const mixedAnswers = [...tallies.values()].reduce((a, t) => a + t.count, 0)
  const rssAfterMixed = mib(rssBytes(node.pid))
  heapAt.afterMixed = { ...(await heap()), ...(await chainSize()) }
  console.log(`soak: mixed phase done, ${mixedAnswers} answers; heap after GC ${heapAt.afterMixed.heapUsedMiB} MiB, chain at ${heapAt.afterMixed.height}`)
  const steadyUntil = Date.now() + STEADY_SECONDS * 1000
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i, steadyUntil, 'steady')))
  clearInterval(sampler)
  for (const a of agents) a.destroy()
  rss.push({ s: Math.round((Date.now() - t0) / 1000), mib: mib(rssBytes(node.pid)) })
  heapAt.afterSteady = { ...(await heap()), ...(await chainSize()) }
  load.push(loadavg()[0])
  const alive = node.child.exitCode === null
  await node.stop('SIGTERM')
  const steadyGrowthMiB = Math.round((heapAt.afterSteady.heapUsedMiB - heapAt.afterMixed.heapUsedMiB) * 10) / 10
  const mixedGrowthMiB = Math.round((heapAt.afterMixed.heapUsedMiB - heapAt.setUp.heapUsedMiB) * 10) / 10
  const addedKeys = heapAt.afterMixed.stateKeys - heapAt.setUp.stateKeys
  const chainStill = heapAt.afterSteady.height === heapAt.afterMixed.height

  const groups = Object.fromEntries(
    [...tallies.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([g, t]) => [g, { count: t.count, statuses: t.statuses, p50Ms: Math.round(median(t.ms)), p99Ms: Math.round(percentile(t.ms, 99)), said: t.said }]),
  )
  const answers = [...tallies.values()].reduce((a, t) => a + t.count, 0)
  const fiveXX = [...tallies.values()].reduce((a, t) => a + Object.entries(t.statuses).reduce((x, [s, n]) => x + (Number(s) >= 500 ? n : 0), 0), 0)
  const flat = steadyGrowthMiB <= STEADY_TOLERANCE_MIB
  const passed = fiveXX === 0 && connectionErrors === 0 && alive && flat
  const [start, end] = [rss[0].mib, rss.at(-1)!.mib]
  const warm = rss.find((x) => x.s >= 60)?.mib ?? start
  console.log(
    `soak ${passed ? 'PASSED' : 'FAILED'}: ${CLIENTS} clients, ${SECONDS} s mixed + ${STEADY_SECONDS} s steady, ${answers} answers, ${fiveXX} 5xx, ${connectionErrors} connection errors; ` +
      `RSS start ${start} MiB, at 60 s ${warm} MiB, after the mixed phase ${rssAfterMixed} MiB, end ${end} MiB, max ${Math.max(...rss.map((x) => x.mib))} MiB; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}`,
  )
  console.log(
    `  heap after GC: ${heapAt.setUp.heapUsedMiB} MiB after set-up, ${heapAt.afterMixed.heapUsedMiB} MiB after the mixed phase (+${mixedGrowthMiB} MiB for ${addedKeys} new state keys, ` +
      `${addedKeys > 0 ? Math.round((mixedGrowthMiB * 1048576) / addedKeys) : 0} bytes each), ${heapAt.afterSteady.heapUsedMiB} MiB after the steady phase ` +
      `(${steadyGrowthMiB >= 0 ? '+' : ''}${steadyGrowthMiB} MiB; ${flat ? 'flat' : 'GROWING'}; chain ${chainStill ? 'unchanged' : 'moved'} in that phase)`,
  )
  for (const [g, t] of Object.entries(groups))
    console.log(
      `  ${g.padEnd(12)} ${String(t.count).padStart(7)}  p50 ${t.p50Ms} ms  p99 ${t.p99Ms} ms  ${JSON.stringify(t.statuses)} ${JSON.stringify(t.said)}`,
    )
  for (const e of serverErrors.slice(0, 10)) console.log(`  ${e}`)
  writeResult('soak', {
    passed,
    clients: CLIENTS,
    seconds: SECONDS,
    seed: SEED,
    answers,
    fiveXX,
    connectionErrors,
    nodeAlive: alive,
    steadySeconds: STEADY_SECONDS,
    mixedAnswers,
    rssMiB: { start, at60s: warm, afterMixed: rssAfterMixed, end, max: Math.max(...rss.map((x) => x.mib)), samples: rss },
    heapAfterGc: heapAt,
    heapGrowthMiB: { mixed: mixedGrowthMiB, steady: steadyGrowthMiB, steadyTolerance: STEADY_TOLERANCE_MIB, flat },
    heapBytesPerNewStateKey: addedKeys > 0 ? Math.round((mixedGrowthMiB * 1048576) / addedKeys) : null,
    groups,
    serverErrors,
    loadAverage: load,
    reproduce: `SOAK_CLIENTS=${CLIENTS} SOAK_SECONDS=${SECONDS} SOAK_STEADY_SECONDS=${STEADY_SECONDS} SOAK_SEED=${SEED} npm run bench soak`,
  })
  process.exitCode = passed ? 0 : 1
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
