/**
 * Gateway overhead and built-in model throughput. Writes bench/results/gateway.json.
 *
 * Three processes: a local OpenAI-compatible backend that streams a fixed State of the Union
 * passage at a set rate (this file run with `--backend`), a dev node (`sinew dev`: the SOTU
 * Datanet is seeded, and the bench model traces over its version 1, so every receipt pays
 * the president it quotes), and this client. For 1 and 100 concurrent streams it times the
 * same request sent straight to the backend and sent through the gateway (auth,
 * reservation, metering, SSE re-framing), and reports the added latency to the first
 * token, to the last token, and of every chunk (its arrival minus its scheduled send time;
 * p50/p99); the trace and the receipt (which waits for its block) are reported separately,
 * from the receipt timings. Then the built-in ∞-gram model at 16 concurrent requests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Agent, createServer, request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { NodeClient } from '../src/client/index.ts'
import { setupDemoModel, DEMO_MODEL, DEV_API_KEY } from '../src/cli/commands/model.ts'
import { signAndSubmit } from '../src/cli/commands/tx.ts'
import { loadSotu } from '../src/datanets/index.ts'
import { devAccounts } from '../src/ledger/keys/index.ts'
import { median, percentile, writeResult } from './lib.ts'

const CHUNKS = 40
const CHUNK_MS = 10
// BENCH_GATEWAY_PIN=1: the node on CPU 1, the backend and this client on CPU 0 (taskset),
// so the gateway's added latency is measured without the three processes taking each
// other's core; unset, they share both cores as the OS schedules them.
const PIN = process.env.BENCH_GATEWAY_PIN === '1'
// --workers N: the node's serving workers (docs/scaling.md; the gateway itself runs on the
// writer, the calls pass through a worker). Default 0: one process, as before. Results go
// to bench/results/gateway-workers-N.json when N > 0.
const WORKERS = process.argv.includes('--workers') ? Number(process.argv[process.argv.indexOf('--workers') + 1]) : 0

if (process.argv.includes('--backend')) {
  // The fake backend: CHUNKS word deltas of Lincoln's 1863 address, chunk i sent at
  // start + i × CHUNK_MS (a fixed schedule: a busy machine delays one chunk, it does not
  // push every later chunk back, so the rate is the same with and without the gateway).
  const lincoln = (await loadSotu()).find((x) => x.year === 1863)!
  const WORDS = lincoln.text.split(/\s+/).slice(200, 200 + CHUNKS)
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', async () => {
      if (req.method !== 'POST') return void res.writeHead(404).end()
      const json = JSON.parse(body)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const start = performance.now()
      for (let i = 0; i < CHUNKS; i++) {
        const wait = start + i * CHUNK_MS - performance.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        const chunk = {
          id: 'x',
          object: 'chat.completion.chunk',
          created: 0,
          model: json.model,
          choices: [{ index: 0, delta: { content: (i ? ' ' : '') + WORDS[i % WORDS.length] }, finish_reason: null }],
        }
        res.write(`data: ${JSON.stringify(chunk)}\n\n`)
      }
      await new Promise((r) => setTimeout(r, Math.max(0, start + CHUNKS * CHUNK_MS - performance.now())))
      res.end(
        `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: json.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`,
      )
    })
  })
  // Idle connections are kept for a minute (Node's default is 5 s): the direct and the
  // via-gateway rounds take turns, and a pool left idle through the other side's round would
  // otherwise be closed under it (a reconnect, or the idle-socket race: a request sent on a
  // socket the server is closing fails with ECONNRESET, which ended bench runs under load).
  server.keepAliveTimeout = 60_000
  server.listen(Number(process.argv[process.argv.indexOf('--backend') + 1]), '127.0.0.1')
} else {
  await main()
}

function child(args: string[], nodeFlags: string[] = [], cpu?: number, env: Record<string, string> = {}): ChildProcess {
  const argv = [process.execPath, ...nodeFlags, '--import', 'tsx', ...args]
  if (PIN && cpu !== undefined) argv.unshift('taskset', '-c', String(cpu))
  return spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } })
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      await fetch(url)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`${url} did not come up`)
}

/** Per request: first and last content chunk, every chunk's lag behind its schedule (ms from the request). */
type Timing = { ttft: number; last: number; lags: number[]; total: number; traceMs?: number; receiptMs?: number; contributors?: number }
type Target = { baseURL: string; model: string; apiKey: string; agent: Agent }

// The load client is deliberately lean (node:http keep-alive + a minimal SSE split, the
// same code for direct and via-gateway): the SDK's per-chunk web-stream machinery would
// make the client the busiest process on the shared cores and blur what the node adds.
// Chunk times are taken when the bytes arrive, before the client parses them.

function timedStream(t: Target, maxTokens = 200): Promise<Timing> {
  const body = JSON.stringify({ model: t.model, messages: [{ role: 'user', content: 'go' }], stream: true, max_tokens: maxTokens })
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = request(
      `${t.baseURL}/chat/completions`,
      {
        method: 'POST',
        agent: t.agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.apiKey}`, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding('utf8')
        if (res.statusCode !== 200) {
          let text = ''
          res.on('data', (d: string) => (text += d))
          res.on('end', () => reject(new Error(`${t.baseURL}: ${res.statusCode} ${text}`)))
          return
        }
        let buf = ''
        let ttft = 0
        let last = 0
        const lags: number[] = []
        let sinew: any
        res.on('data', (d: string) => {
          const now = performance.now() - t0
          buf += d
          for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
            const ev = buf.slice(0, i)
            buf = buf.slice(i + 2)
            if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue
            const j = JSON.parse(ev.slice(6))
            if (j.error) return reject(new Error(JSON.stringify(j.error)))
            if (j.choices?.[0]?.delta?.content) {
              if (!ttft) ttft = now
              // Chunk k was due k × CHUNK_MS after the backend started answering.
              lags.push(now - lags.length * CHUNK_MS)
              last = now
            }
            if (j.sinew) sinew = j.sinew
          }
        })
        res.on('end', () =>
          resolve({
            ttft,
            last,
            lags,
            total: performance.now() - t0,
            traceMs: sinew?.timings?.traceMs,
            receiptMs: sinew?.timings?.receiptMs,
            contributors: sinew?.contributors?.length,
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * `concurrency` client loops, each sending its next request when the previous one ends.
 * `staggerMs`: loop i starts at i × staggerMs / concurrency (steady state: a stream starts
 * every few ms); 0: all start at once (a burst of `concurrency` simultaneous requests).
 */
async function round(t: Target, concurrency: number, requests: number, staggerMs = 0): Promise<Timing[]> {
  const out: Timing[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      if (staggerMs > 0 && i > 0) await new Promise((r) => setTimeout(r, (i * staggerMs) / concurrency))
      while (next < requests) {
        next++
        out.push(await timedStream(t))
      }
    }),
  )
  return out
}

function stats(xs: number[]) {
  return { p50: Number(median(xs).toFixed(2)), p99: Number(percentile(xs, 99).toFixed(2)) }
}

function added(via: { p50: number; p99: number }, direct: { p50: number; p99: number }) {
  return { p50: Number((via.p50 - direct.p50).toFixed(2)), p99: Number((via.p99 - direct.p99).toFixed(2)) }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sinew-gw-bench-'))
  const backendPort = 30000 + Math.floor(Math.random() * 10000)
  const nodePort = backendPort + 1
  const procs: ChildProcess[] = []
  try {
    if (PIN) spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' })
    procs.push(child([new URL(import.meta.url).pathname, '--backend', String(backendPort)], [], 0))
    // A dev node as `npm start` runs it: the SOTU Datanet seeded and indexed, the demo
    // model registered, the dev API key granted.
    const cli = join(import.meta.dirname, '..', 'src/cli/main.ts')
    // BENCH_PROFILE=<dir>: CPU profile of the node (written when it exits).
    // The node runs with the flags `npm start` and bin/sinew.js give it; BENCH_NODE_FLAGS
    // replaces them (e.g. BENCH_NODE_FLAGS=" " for Node's defaults).
    const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=32').split(/\s+/).filter(Boolean)
    const profile = [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []), ...nodeFlags]
    // All 100 streams use the one dev key: lift the per-key cap (16 by default) above them.
    procs.push(
      child([cli, 'dev', '--data-dir', dir, '--port', String(nodePort), '--log-level', 'warn', '--workers', String(WORKERS)], profile, 1, {
        SINEW_MAX_CONCURRENT_CALLS_PER_KEY: '1000',
      }),
    )
    const nodeUrl = `http://127.0.0.1:${nodePort}`
    await waitFor(`${nodeUrl}/v1/status`)
    await waitFor(`http://127.0.0.1:${backendPort}/`)
    const api = new NodeClient(nodeUrl)
    for (let i = 0; !(await api.get('/v1/registry/models')).models.some((m: { name: string }) => m.name === DEMO_MODEL); i++) {
      if (i > 600) throw new Error('the dev node did not register its demo model')
      await new Promise((r) => setTimeout(r, 100))
    }
    const demo = await setupDemoModel(nodeUrl)
    if (!demo.ok || demo.build !== 'ready') throw new Error(`the SOTU Datanet is not ready: ${JSON.stringify(demo)}`)
    const [, , owner] = devAccounts(3)
    await signAndSubmit(api, owner.privateKey, 'RegisterModel', {
      name: 'bench-llm',
      description: 'bench',
      backend: `openai-compatible:http://127.0.0.1:${backendPort}/v1#fixed`,
      datanets: [demo.ref],
      pricePerMillion: (10n ** 18n).toString(),
      contributorShareBps: '5000',
    })
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity })
    const direct: Target = { baseURL: `http://127.0.0.1:${backendPort}/v1`, model: 'fixed', apiKey: 'none', agent }
    const via: Target = { baseURL: `${nodeUrl}/v1`, model: 'bench-llm', apiKey: DEV_API_KEY, agent }
    const gw = new OpenAI({ baseURL: `${nodeUrl}/v1`, apiKey: DEV_API_KEY, maxRetries: 0, timeout: 120_000 })
    // Warm-up at full concurrency: JIT, and keep-alive pools (client -> node -> backend).
    for (const t of [direct, via]) {
      await round(t, 4, 8)
      await round(t, 100, 200)
    }

    // Direct and via-gateway rounds alternate (ROUNDS pairs, samples pooled), so load from
    // other work on the machine lands on both sides alike.
    const ROUNDS = 3
    const overhead: Record<string, unknown> = {}
    // c100: 100 streams in steady state (starts spread over one stream's duration), and
    // c100burst: 100 requests sent at the same instant, each loop then re-sending at once.
    const STREAM_MS = CHUNKS * CHUNK_MS
    for (const [name, concurrency, requests, staggerMs] of [
      ['c1', 1, 20, 0],
      ['c100', 100, 200, STREAM_MS],
      ['c100burst', 100, 200, 0],
    ] as const) {
      // BENCH_GATEWAY_ROUNDS=c100,c1: only those rounds (for profiling one load shape).
      if (process.env.BENCH_GATEWAY_ROUNDS && !process.env.BENCH_GATEWAY_ROUNDS.split(',').includes(name)) continue
      const d: Timing[] = []
      const g: Timing[] = []
      const load = [loadavg()[0]]
      for (let r = 0; r < ROUNDS; r++) {
        d.push(...(await round(direct, concurrency, requests, staggerMs)))
        g.push(...(await round(via, concurrency, requests, staggerMs)))
      }
      load.push(loadavg()[0])
      const dT = stats(d.map((t) => t.ttft))
      const gT = stats(g.map((t) => t.ttft))
      const dL = stats(d.map((t) => t.last))
      const gL = stats(g.map((t) => t.last))
      const dC = stats(d.flatMap((t) => t.lags))
      const gC = stats(g.flatMap((t) => t.lags))
      overhead[name] = {
        concurrency,
        start: staggerMs ? `staggered over ${staggerMs} ms` : 'all at once',
        requests: d.length,
        loadAvg1m: load.map((x) => Number(x.toFixed(2))),
        direct: { firstTokenMs: dT, lastTokenMs: dL, chunkLagMs: dC },
        gateway: { firstTokenMs: gT, lastTokenMs: gL, chunkLagMs: gC, totalWithReceiptMs: stats(g.map((t) => t.total)) },
        addedFirstTokenMs: added(gT, dT),
        addedLastTokenMs: added(gL, dL),
        addedPerChunkMs: added(gC, dC),
        contributorsPaid: g.filter((t) => t.contributors! > 0).length,
        traceMs: stats(g.map((t) => t.traceMs ?? 0)),
        receiptMs: stats(g.map((t) => t.receiptMs ?? 0)),
      }
      console.log(name, JSON.stringify(overhead[name]))
    }

    // Built-in model throughput at 16 concurrent requests.
    const builtin = process.env.BENCH_GATEWAY_BUILTIN !== '0' ? await builtinRound(gw) : undefined
    const file = writeResult(WORKERS > 0 ? `gateway-workers-${WORKERS}` : 'gateway', {
      workers: WORKERS,
      backend: { chunks: CHUNKS, chunkMs: CHUNK_MS },
      cpus: PIN ? 'node on CPU 1; backend and client on CPU 0' : 'shared',
      overhead,
      builtin,
    })
    console.log(`wrote ${file}`)
  } finally {
    for (const p of procs) p.kill('SIGTERM')
    // Let the node write its CPU profile and close its store before the directory goes.
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)))
    rmSync(dir, { recursive: true, force: true })
  }
}

async function builtinRound(gw: OpenAI) {
  const t0 = performance.now()
  let tokens = 0
  let done = 0
  const N = 160
  let next = 0
  const latencies: number[] = []
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) {
        next++
        const s = performance.now()
        const r = await gw.chat.completions.create({ model: DEMO_MODEL, messages: [{ role: 'user', content: 'The state of the Union is' }], max_tokens: 64 })
        latencies.push(performance.now() - s)
        tokens += r.usage!.completion_tokens
        done++
      }
    }),
  )
  const secs = (performance.now() - t0) / 1000
  const builtin = {
    concurrency: 16,
    requests: done,
    maxTokens: 64,
    requestsPerSec: Number((done / secs).toFixed(1)),
    tokensPerSec: Number((tokens / secs).toFixed(0)),
    latencyMs: stats(latencies),
  }
  console.log('builtin', JSON.stringify(builtin))
  return builtin
}
