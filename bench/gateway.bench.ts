/**
 * Gateway overhead and built-in model throughput. Writes bench/results/gateway.json.
 *
 * Three processes: a local OpenAI-compatible backend that streams fixed text at a set rate
 * (this file run with `--backend`), a dev node (`sinew node`), and this client. For 1 and
 * 100 concurrent streams it times the same request sent straight to the backend and sent
 * through the gateway (auth, reservation, metering, SSE re-framing), and reports the
 * added latency to the first token and to the last token (p50/p99); the trace and the
 * receipt (which waits for its block) are reported separately, from the receipt timings.
 * Then the built-in ∞-gram model over the SOTU addresses at 16 concurrent requests.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { Agent, createServer, request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { NodeClient } from '../src/cli/client.ts'
import { setupDemoModel, DEMO_MODEL, DEV_API_KEY } from '../src/cli/commands/model.ts'
import { signAndSubmit } from '../src/cli/commands/tx.ts'
import { devAccounts } from '../src/ledger/keys/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import { median, percentile, writeResult } from './lib.ts'

const CHUNKS = 40
const CHUNK_MS = 10
const WORDS = 'The lighthouse keeper counted seventeen gulls on the northern rail every morning before the fog rolled in from the cold grey sea and swallowed the harbour whole while the town slept.'.split(' ')

if (process.argv.includes('--backend')) {
  // The fake backend: CHUNKS word deltas, one every CHUNK_MS.
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', async () => {
      if (req.method !== 'POST') return void res.writeHead(404).end()
      const json = JSON.parse(body)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (let i = 0; i < CHUNKS; i++) {
        const chunk = { id: 'x', object: 'chat.completion.chunk', created: 0, model: json.model, choices: [{ index: 0, delta: { content: (i ? ' ' : '') + WORDS[i % WORDS.length] }, finish_reason: null }] }
        res.write(`data: ${JSON.stringify(chunk)}\n\n`)
        await new Promise((r) => setTimeout(r, CHUNK_MS))
      }
      res.end(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: json.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`)
    })
  })
  server.listen(Number(process.argv[process.argv.indexOf('--backend') + 1]), '127.0.0.1')
} else {
  await main()
}

function child(args: string[], nodeFlags: string[] = []): ChildProcess {
  const c = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
  return c
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

type Timing = { ttft: number; last: number; total: number; traceMs?: number; receiptMs?: number }
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
      { method: 'POST', agent: t.agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${t.apiKey}`, 'content-length': Buffer.byteLength(body) } },
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
        let sinew: any
        res.on('data', (d: string) => {
          const now = performance.now() - t0
          buf += d
          let i: number
          while ((i = buf.indexOf('\n\n')) !== -1) {
            const ev = buf.slice(0, i)
            buf = buf.slice(i + 2)
            if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue
            const j = JSON.parse(ev.slice(6))
            if (j.error) return reject(new Error(JSON.stringify(j.error)))
            if (j.choices?.[0]?.delta?.content) {
              if (!ttft) ttft = now
              last = now
            }
            if (j.sinew) sinew = j.sinew
          }
        })
        res.on('end', () => resolve({ ttft, last, total: performance.now() - t0, traceMs: sinew?.timings?.traceMs, receiptMs: sinew?.timings?.receiptMs }))
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

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sinew-gw-bench-'))
  const backendPort = 30000 + Math.floor(Math.random() * 10000)
  const nodePort = backendPort + 1
  const procs: ChildProcess[] = []
  try {
    procs.push(child([new URL(import.meta.url).pathname, '--backend', String(backendPort)]))
    // A dev chain. The model draws on no Datanet (RegisterModel needs a published version,
    // which only the dev seed makes): the trace is then empty, and the gateway work measured
    // is auth, reservation, metering, SSE re-framing and the receipt.
    const cli = join(import.meta.dirname, '..', 'src/cli/main.ts')
    await new Promise((r) => child([cli, 'init', '--dev', '--data-dir', dir]).on('exit', r))
    // BENCH_PROFILE=<dir>: CPU profile of the node (written when it exits).
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []
    procs.push(child([cli, 'node', '--data-dir', dir, '--port', String(nodePort), '--log-level', 'warn'], profile))
    const nodeUrl = `http://127.0.0.1:${nodePort}`
    await waitFor(`${nodeUrl}/v1/status`)
    await waitFor(`http://127.0.0.1:${backendPort}/`)
    const api = new NodeClient(nodeUrl)
    const [, owner] = devAccounts(2)
    await signAndSubmit(api, owner.privateKey, 'RegisterModel', {
      name: 'bench-llm',
      description: 'bench',
      backend: `openai-compatible:http://127.0.0.1:${backendPort}/v1#fixed`,
      datanets: [],
      pricePerMillion: (10n ** 18n).toString(),
      contributorShareBps: '5000',
    })
    await signAndSubmit(api, devAccounts(1)[0].privateKey, 'GrantApiKey', { keyHash: hashApiKey(DEV_API_KEY), label: 'bench', spendLimit: '0', expiresAt: '0' })
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
      overhead[name] = {
        concurrency,
        start: staggerMs ? `staggered over ${staggerMs} ms` : 'all at once',
        requests: d.length,
        loadAvg1m: load.map((x) => Number(x.toFixed(2))),
        direct: { firstTokenMs: dT, lastTokenMs: dL },
        gateway: { firstTokenMs: gT, lastTokenMs: gL, totalWithReceiptMs: stats(g.map((t) => t.total)) },
        addedFirstTokenMs: { p50: Number((gT.p50 - dT.p50).toFixed(2)), p99: Number((gT.p99 - dT.p99).toFixed(2)) },
        addedLastTokenMs: { p50: Number((gL.p50 - dL.p50).toFixed(2)), p99: Number((gL.p99 - dL.p99).toFixed(2)) },
        traceMs: stats(g.map((t) => t.traceMs ?? 0)),
        receiptMs: stats(g.map((t) => t.receiptMs ?? 0)),
      }
      console.log(name, JSON.stringify(overhead[name]))
    }

    // Built-in model throughput at 16 concurrent requests, when the SOTU Datanet is on this
    // chain (it is seeded by `sinew dev`, not by this plain node): otherwise skipped.
    let builtin: unknown
    if (process.env.BENCH_GATEWAY_BUILTIN !== '0') {
      const demo = await setupDemoModel(nodeUrl, { log: (line) => console.log(line) })
      builtin = demo.ok ? await builtinRound(gw) : { skipped: demo.reason }
      if (!demo.ok) console.log(`built-in model skipped: ${demo.reason}`)
    }
    const file = writeResult('gateway', { backend: { chunks: CHUNKS, chunkMs: CHUNK_MS }, overhead, builtin })
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
  const builtin = { concurrency: 16, requests: done, maxTokens: 64, requestsPerSec: Number((done / secs).toFixed(1)), tokensPerSec: Number((tokens / secs).toFixed(0)), latencyMs: stats(latencies) }
  console.log('builtin', JSON.stringify(builtin))
  return builtin
}
