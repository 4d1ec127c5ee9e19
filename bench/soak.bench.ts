/**
 * The soak (issue #11): 200 concurrent clients against a real `sinew node` process for
 * 5 minutes, across every endpoint group: ledger reads and txs (single and batched),
 * Datanet reads, search, uploads and contributions, blobs, models and receipts, paid model
 * calls (plain and streamed), tasks and agents, MCP, and bad requests (malformed JSON,
 * unknown routes, bad addresses). Each client has its own funded account and loops without
 * pause. Reports every answer by group and status, the 5xx count (must be 0), latencies,
 * and the node's RSS (from /proc) sampled every 5 s: at the start of the load, at its end
 * and the highest. Writes bench/results/soak.json; exits 1 on any 5xx or lost connection.
 *
 *   npm run bench soak                            # 200 clients, 300 s
 *   SOAK_CLIENTS=50 SOAK_SECONDS=60 npm run bench soak
 */
import { createHash } from 'node:crypto'
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
import { median, mulberry32 as seededRandom, percentile, writeResult } from './lib.ts'

const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 200)
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300)
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

/** Sends one request and tallies its answer under `group`. */
async function timed(group: string, send: () => Promise<Response>): Promise<HttpResult | undefined> {
  const t = performance.now()
  let status: number
  let json: any
  try {
    const r = await send()
    status = r.status
    const text = await r.text()
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

const get = (url: string) => () => fetch(url)
const post =
  (url: string, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })

const dataDir = mkdtempSync(join(tmpdir(), 'sinew-soak-'))
try {
  const init = await runCli(['init', '--dev', '--data-dir', dataDir])
  if (init.code !== 0) throw new Error(`sinew init failed: ${init.stderr}`)
  const node = await startNodeProcess({ dataDir })
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
    const r = (await (await post(`${url}/v1/txs`, { txs })()).json()) as any
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
      await post(
        `${url}/v1/chat/completions`,
        { model: MODEL, messages: [{ role: 'user', content: 'lighthouse' }], max_tokens: 4 },
        { authorization: `Bearer ${API_KEY}` },
      )()
    ).json()) as any
  ).sinew.receipt
  const blobSha = sha256(WORDS.join(' '))

  /** One client: its account, its API key, a loop of requests drawn from its own seeded sequence. */
  async function client(i: number, until: number): Promise<void> {
    const random = seededRandom(SEED * 100_003 + i)
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
      const r = random()
      if (r < 0.45) {
        const [group, path] = pick(reads)
        await timed(group, get(`${url}${path}`))
      } else if (r < 0.6) {
        const nonce = BigInt((await timed('ledger', get(`${url}/v1/accounts/${me}`)))?.json?.nonce ?? 0)
        const batch = random() < 0.2 ? 5 : 1
        const txs = await Promise.all(
          Array.from({ length: batch }, (_, k) => signTransfer(key, { to: pick(dev).address, amount: 1n, nonce: nonce + BigInt(k) })),
        )
        if (batch === 1) await timed('tx', post(`${url}/v1/tx`, txs[0]))
        else await timed('tx', post(`${url}/v1/txs`, { txs }))
      } else if (r < 0.66) {
        const text = `${Array.from({ length: 20 }, () => pick(WORDS)).join(' ')} ${i}-${random().toString(36).slice(2)}.`
        const tx = await c.sign(key, 'Contribute', {
          datanet,
          contentHash: `0x${sha256(text)}`,
          title: `soak ${i}`,
          mediaType: 'text/plain',
          size: String(text.length),
        })
        const up = await timed('upload', () =>
          fetch(`${url}/v1/blobs`, {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream', 'x-sinew-upload-tx': Buffer.from(JSON.stringify(tx)).toString('base64') },
            body: text,
          }),
        )
        if (up && up.status < 300) await timed('contribute', post(`${url}/v1/datanets/${datanet}/contributions`, tx))
      } else if (r < 0.7) {
        const tx = await c.sign(key, 'PostTask', postTaskMessage(`soak task ${i}`, random))
        await timed('tx', post(`${url}/v1/tx`, tx))
      } else if (r < 0.85) {
        const stream = random() < 0.3
        const body = { model: MODEL, messages: [{ role: 'user', content: `${pick(WORDS)} ${pick(WORDS)}` }], max_tokens: 8, stream }
        if (random() < 0.8) await timed(stream ? 'chat-stream' : 'chat', post(`${url}/v1/chat/completions`, body, auth))
        else await timed('completions', post(`${url}/v1/completions`, { model: MODEL, prompt: pick(WORDS), max_tokens: 8 }, auth))
      } else if (r < 0.9) {
        await timed(
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
        await timed('bad-input', bad)
      }
    }
  }

  // RSS every 5 s from the start of the load to its end.
  const load = [loadavg()[0]]
  const t0 = Date.now()
  const until = t0 + SECONDS * 1000
  const rss: { s: number; mib: number }[] = [{ s: 0, mib: mib(rssBytes(node.pid)) }]
  console.log(`soak: ${CLIENTS} clients for ${SECONDS} s; node RSS at the start ${rss[0].mib} MiB`)
  const sampler = setInterval(() => {
    const s = Math.round((Date.now() - t0) / 1000)
    rss.push({ s, mib: mib(rssBytes(node.pid)) })
    const n = [...tallies.values()].reduce((a, t) => a + t.count, 0)
    if (s % 30 === 0)
      console.log(`soak: ${s} s, ${n} answers, ${serverErrors.length} server errors, RSS ${rss.at(-1)!.mib} MiB, load ${loadavg()[0].toFixed(1)}`)
  }, 5000)
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i, until)))
  clearInterval(sampler)
  rss.push({ s: Math.round((Date.now() - t0) / 1000), mib: mib(rssBytes(node.pid)) })
  load.push(loadavg()[0])
  const alive = node.child.exitCode === null
  await node.stop('SIGTERM')

  const groups = Object.fromEntries(
    [...tallies.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([g, t]) => [g, { count: t.count, statuses: t.statuses, p50Ms: Math.round(median(t.ms)), p99Ms: Math.round(percentile(t.ms, 99)), said: t.said }]),
  )
  const answers = [...tallies.values()].reduce((a, t) => a + t.count, 0)
  const fiveXX = [...tallies.values()].reduce((a, t) => a + Object.entries(t.statuses).reduce((x, [s, n]) => x + (Number(s) >= 500 ? n : 0), 0), 0)
  const passed = fiveXX === 0 && connectionErrors === 0 && alive
  const [start, end] = [rss[0].mib, rss.at(-1)!.mib]
  const warm = rss.find((x) => x.s >= 60)?.mib ?? start
  console.log(
    `soak ${passed ? 'PASSED' : 'FAILED'}: ${CLIENTS} clients, ${SECONDS} s, ${answers} answers (${Math.round(answers / SECONDS)}/s), ${fiveXX} 5xx, ${connectionErrors} connection errors; ` +
      `RSS start ${start} MiB, at 60 s ${warm} MiB, end ${end} MiB, max ${Math.max(...rss.map((x) => x.mib))} MiB; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}`,
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
    rssMiB: { start, at60s: warm, end, max: Math.max(...rss.map((x) => x.mib)), samples: rss },
    groups,
    serverErrors,
    loadAverage: load,
    reproduce: `SOAK_CLIENTS=${CLIENTS} SOAK_SECONDS=${SECONDS} SOAK_SEED=${SEED} npm run bench soak`,
  })
  process.exitCode = passed ? 0 : 1
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
