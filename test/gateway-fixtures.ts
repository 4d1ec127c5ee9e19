/**
 * Fixtures of the gateway tests: the texts of a small Datanet (contributed and published
 * over HTTP with test/datanets-fixtures.ts), and a local HTTP server that speaks the OpenAI
 * wire protocol (chat completions and completions, JSON and SSE with `data: [DONE]`),
 * streaming fixed text at a set rate.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type OpenAI from 'openai'
import { expect } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { publishDatanetVersion } from './datanets-fixtures.ts'
import { dev, sendTx, startDevNode, tempDir } from './helpers.ts'

/** The fixture Datanet's documents, by key (each becomes one contribution). */
export const DOCS = [
  {
    key: 'alpha',
    text: 'The lighthouse keeper counted seventeen gulls on the northern rail every morning before the fog rolled in from the cold grey sea and swallowed the harbour whole.',
  },
  {
    key: 'beta',
    text: 'Copper kettles hummed in the bakery while the apprentice folded cardamom into the dough, humming an old tune his grandmother had taught him during the long winter.',
  },
  {
    key: 'gamma',
    text: 'A quiet orchestra of crickets tuned their wings beneath the porch as the farmer reckoned the price of barley against the rising cost of diesel fuel.',
  },
]

/**
 * Publishes the fixture Datanet (DOCS, authored by dev account 6) under `datanet` and registers
 * the built-in ∞-gram model `name` over it, owned by `owner`, at `pricePerMillion`.
 */
export async function registerFixtureInfinigram(url: string, o: { owner: Hex; name: string; datanet: string; pricePerMillion: bigint }): Promise<void> {
  const { ref } = await publishDatanetVersion(url, {
    owner: o.owner,
    name: o.datanet,
    stake: 10n ** 18n,
    docs: DOCS.map((d) => ({ key: d.key, text: d.text, author: dev[6].privateKey })),
  })
  await sendTx(url, o.owner, 'RegisterModel', {
    name: o.name,
    description: 'test',
    backend: 'builtin:infinigram',
    datanets: [ref],
    pricePerMillion: o.pricePerMillion.toString(),
    contributorShareBps: '0',
  })
}

/** What the fake backend answers: reproduces passages of alpha and beta around new words. */
export const FAKE_TEXT =
  'Here is a story. The lighthouse keeper counted seventeen gulls on the northern rail every morning before the fog rolled in. Then, unrelated purple zebras argued loudly. Copper kettles hummed in the bakery while the apprentice folded cardamom into the dough.'

export type FakeBackend = {
  url: string
  server: Server
  requests: number
  /** Every request received, in order: its path, its Authorization header (undefined when absent) and its JSON body. */
  log: { path: string; authorization: string | undefined; body?: any }[]
  /** Streamed answers whose caller (the node) hung up before the end. */
  cutShort: number
  /** Streams of the `gate` model waiting, after their first words, for `release()`. */
  readonly gated: number
  /** Lets every stream waiting at the gate go on to its end. */
  release(): void
  close(): Promise<void>
}

/** What the `tools` model says before its function call, the call it makes, and how it answers a tool's output. */
export const TOOL_PREAMBLE = 'Let me look that up.'
export const TOOL_CALL = { id: 'call_fake_1', arguments: '{"city": "Paris", "unit": "celsius"}' }
export const TOOL_ANSWER = 'The tool said: '

/** Words a `gate` stream sends before it waits for `release()`. */
export const GATE_WORDS = 5

/**
 * Upstream model names pick the behaviour: `fixed` streams FAKE_TEXT word by word every
 * `delayMs`; `gate` streams the first GATE_WORDS words, then waits until `release()`, then
 * the rest; `hang` never answers; `fail` answers 500; `redirect` answers 302 to
 * `redirectTo` (a URL on another server); `tools` (chat, streamed) calls the first tool it is
 * offered, as TOOL_CALL says, after TOOL_PREAMBLE (and answers TOOL_ANSWER + the output once the
 * last message is the tool's output).
 */
export async function startFakeOpenAI(opts: { delayMs?: number; text?: string; redirectTo?: string } = {}): Promise<FakeBackend> {
  const text = opts.text ?? FAKE_TEXT
  const words = text.match(/\s*\S+/g) ?? []
  const state = { requests: 0, cutShort: 0, log: [] as FakeBackend['log'] }
  let gate: (() => void)[] = []
  const server = createServer((req, res) => {
    let body = ''
    const entry: FakeBackend['log'][number] = { path: req.url!, authorization: req.headers.authorization }
    state.log.push(entry)
    req.on('data', (d) => (body += d))
    req.on('end', async () => {
      state.requests++
      const json = JSON.parse(body || '{}')
      entry.body = json
      const chat = req.url!.endsWith('/chat/completions')
      if (!chat && !req.url!.endsWith('/completions')) {
        res.writeHead(404).end()
        return
      }
      if (json.model === 'hang') return // never answers
      if (json.model === 'redirect') {
        res.writeHead(302, { location: opts.redirectTo ?? '/' }).end()
        return
      }
      if (json.model === 'fail') {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error', param: null, code: null } }))
        return
      }
      const created = Math.floor(Date.now() / 1000)
      if (json.model === 'tools' && chat && json.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        const frame = (delta: unknown, finish: string | null = null) =>
          res.write(
            `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created, model: json.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
          )
        const last = json.messages.at(-1)
        if (last.role === 'tool' || !json.tools?.length) {
          for (const w of (TOOL_ANSWER + (last.role === 'tool' ? last.content : '')).match(/\s*\S+/g) ?? []) frame({ content: w })
          frame({}, 'stop')
        } else {
          frame({ role: 'assistant', content: '' })
          for (const w of TOOL_PREAMBLE.match(/\s*\S+/g) ?? []) frame({ content: w })
          const name = json.tools[0].function.name
          frame({ tool_calls: [{ index: 0, id: TOOL_CALL.id, type: 'function', function: { name, arguments: '' } }] })
          // The arguments in pieces, as real models stream them.
          for (const piece of TOOL_CALL.arguments.match(/.{1,5}/gs) ?? []) frame({ tool_calls: [{ index: 0, function: { arguments: piece } }] })
          frame({}, 'tool_calls')
        }
        res.end('data: [DONE]\n\n')
        return
      }
      if (!json.stream) {
        res.writeHead(200, { 'content-type': 'application/json' })
        const choice = chat ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' } : { index: 0, text, finish_reason: 'stop' }
        res.end(
          JSON.stringify({
            id: 'x',
            object: chat ? 'chat.completion' : 'text_completion',
            created,
            model: json.model,
            choices: [choice],
            usage: { prompt_tokens: 1, completion_tokens: words.length, total_tokens: 1 + words.length },
          }),
        )
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      let gone = false
      res.on('close', () => (gone = true))
      for (const [i, w] of words.entries()) {
        if (json.model === 'gate' && i === GATE_WORDS) await new Promise<void>((r) => gate.push(r))
        if (gone) {
          state.cutShort++
          return
        }
        const chunk = chat
          ? { id: 'x', object: 'chat.completion.chunk', created, model: json.model, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] }
          : { id: 'x', object: 'text_completion', created, model: json.model, choices: [{ index: 0, text: w, finish_reason: null }] }
        res.write(`data: ${JSON.stringify(chunk)}\n\n`)
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs))
      }
      const last = chat
        ? { id: 'x', object: 'chat.completion.chunk', created, model: json.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }
        : { id: 'x', object: 'text_completion', created, model: json.model, choices: [{ index: 0, text: '', finish_reason: 'stop' }] }
      res.write(`data: ${JSON.stringify(last)}\n\n`)
      res.end('data: [DONE]\n\n')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/v1`,
    server,
    get requests() {
      return state.requests
    },
    log: state.log,
    get cutShort() {
      return state.cutShort
    },
    get gated() {
      return gate.length
    },
    release() {
      const open = gate
      gate = []
      for (const go of open) go()
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/**
 * A dev node in this process and a fake backend, with models on it (name → upstream model of
 * the fake backend: `fixed`, `fail`, …) owned by `owner` at `pricePerMillion`, no Datanets.
 */
export async function startFakeModelNode(o: {
  prefix: string
  owner: Hex
  pricePerMillion: bigint
  models: Record<string, string>
  clock?: () => bigint
}): Promise<{ running: RunningNode; backend: FakeBackend; dataDir: string; close(): Promise<void> }> {
  const tmp = tempDir(o.prefix)
  const backend = await startFakeOpenAI()
  const running = await startDevNode(tmp.dir, {}, o.clock ? { clock: o.clock } : {})
  for (const [name, upstream] of Object.entries(o.models))
    await sendTx(running.url, o.owner, 'RegisterModel', {
      name,
      description: 'test',
      backend: `openai-compatible:${backend.url}#${upstream}`,
      datanets: [],
      pricePerMillion: o.pricePerMillion.toString(),
      contributorShareBps: '0',
    })
  return {
    running,
    backend,
    dataDir: tmp.dir,
    close: async () => {
      await running.close()
      await backend.close()
      tmp.cleanup()
    },
  }
}

/** An OpenAI client call settled: answered (its headers and output tokens) or refused (its status, code and headers). */
export type CallOutcome =
  | { ok: true; headers: Headers; tokens: number }
  | { ok: false; status: number | undefined; code: string | null | undefined; headers: Headers }

export const callOutcome = (call: Promise<{ data: OpenAI.ChatCompletion; response: Response }>): Promise<CallOutcome> =>
  call.then(
    (ok) => ({ ok: true as const, headers: ok.response.headers, tokens: ok.data.usage!.completion_tokens }),
    (e: InstanceType<typeof OpenAI.APIError>) => ({ ok: false as const, status: e.status, code: e.code, headers: e.headers as Headers }),
  )

export const answered = (outcomes: CallOutcome[]) => outcomes.filter((o): o is Extract<CallOutcome, { ok: true }> => o.ok)

/**
 * The outcomes of concurrent calls on a key allowed `limit` requests a minute: exactly `limit`
 * answers, each seeing one fewer remaining (limit − 1, …, 0), and every other call 429
 * `rate_limit_exceeded` with the rate-limit headers and a Retry-After within the minute.
 */
export function expectRequestLimit(outcomes: CallOutcome[], limit: number): void {
  const ok = answered(outcomes)
  const refused = outcomes.filter((o) => !o.ok)
  expect(ok.length).toBe(limit)
  expect(refused.length).toBe(outcomes.length - limit)
  for (const r of refused) {
    expect(r).toMatchObject({ status: 429, code: 'rate_limit_exceeded' })
    expect(r.headers.get('x-ratelimit-limit-requests')).toBe(String(limit))
    expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(r.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|\d+s|\d+m\d+s)$/)
    const after = Number(r.headers.get('retry-after'))
    expect(after).toBeGreaterThanOrEqual(1)
    expect(after).toBeLessThanOrEqual(60)
  }
  expect(ok.map((o) => Number(o.headers.get('x-ratelimit-remaining-requests'))).sort((a, b) => a - b)).toEqual(Array.from({ length: limit }, (_, i) => i))
  for (const o of ok) expect(o.headers.get('x-ratelimit-limit-requests')).toBe(String(limit))
}
