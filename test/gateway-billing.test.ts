/**
 * A caller is charged only for what reached them, and the gateway cannot be used to guess
 * keys or to hold unbounded calls: attacks on a running dev node over real TCP.
 *
 * What "reached" the caller is measured here independently of the node, from the kernel:
 * the bytes the client process read plus what its socket's receive queue holds
 * (`/proc/net/tcp`), at the moment it hangs up. The charged text is identified exactly
 * (the receipt's outputHash over a prefix of the frames of an identical, seeded call) and
 * its frames must lie within those bytes.
 */
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_SEQUENCER_KEY, makeDevGenesis } from '../src/cli/data-dir.ts'
import { keccak256, loadConfig } from '../src/core/index.ts'
import { computeFee, hashApiKey, newApiKey } from '../src/models/index.ts'
import { countTokens } from '../src/gateway/index.ts'
import { startNode, type RunningNode } from '../src/server/index.ts'
import { SSE_ACK_WINDOW_BYTES } from '../src/server/routes/openai-sse.ts'
import { datanetsClient, publishDatanetVersion, type DatanetsClient } from './datanets-fixtures.ts'
import { FAKE_TEXT, startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, tempDir, waitFor } from './helpers.ts'
import { LONG_DOC, LONG_DOC_PROMPT as PROMPT, LONG_DOC_WORDS as WORDS } from '../src/gateway/fixtures.ts'

const SIN = 10n ** 18n
const PRICE = 1000n * SIN
const caller = dev[0]
const owner = dev[3]
let running: RunningNode
let url: string
let port: number
let tmp: ReturnType<typeof tempDir>
let c: DatanetsClient
let slow: FakeBackend
let hang: FakeBackend
let apiKey: string

const builtinBody = { model: 'long-infinigram', messages: [{ role: 'user', content: PROMPT }], max_tokens: 4096, seed: 2, stream: true }

/** The node's time: the timestamp of the block a small transfer lands in. */
async function nodeTime(): Promise<bigint> {
  const r = await c.submit(dev[9].privateKey, 'Transfer', { to: dev[8].address, amount: '1' })
  expect(r.status, JSON.stringify(r.json)).toBe(200)
  return BigInt((await http(`${url}/v1/blocks/${r.json.height}`)).json.timestamp)
}

const balance = async (a: string) => BigInt((await http(`${url}/v1/accounts/${a}`)).json.balance)
const keyRecord = async (secret: string) => (await http(`${url}/v1/apikeys/${hashApiKey(secret)}`)).json

/** Opens a raw HTTP/1.1 connection and sends one POST with a JSON body. */
function rawPost(path: string, body: unknown, key = apiKey, extra: Record<string, string> = {}): Socket {
  const payload = JSON.stringify(body)
  const sock = connect(port, '127.0.0.1')
  const headers = {
    host: `127.0.0.1:${port}`,
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    ...extra,
  }
  sock.write(
    `POST ${path} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n${payload}`,
  )
  return sock
}

/** The client socket's receive queue: bytes its kernel holds that the process has not read (Linux). */
function rxQueue(sock: Socket): number {
  const local = sock.localPort!.toString(16).toUpperCase().padStart(4, '0')
  const remote = port.toString(16).toUpperCase().padStart(4, '0')
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length > 4 && f[1].endsWith(`:${local}`) && f[2].endsWith(`:${remote}`)) return Number.parseInt(f[4].split(':')[1], 16)
  }
  throw new Error(`no /proc/net/tcp row for local port ${sock.localPort}`)
}

type Frame = { end: number; text: string }
/** Splits a raw HTTP/1.1 chunked SSE response: the header length and each frame with the body offset its chunk ends at. */
function parseSse(raw: Buffer): { headerBytes: number; head: string; frames: Frame[] } {
  const headerBytes = raw.indexOf('\r\n\r\n') + 4
  const head = raw.subarray(0, headerBytes).toString()
  const frames: Frame[] = []
  let pos = headerBytes
  for (;;) {
    const eol = raw.indexOf('\r\n', pos)
    if (eol < 0) break
    const size = Number.parseInt(raw.subarray(pos, eol).toString(), 16)
    if (!(size > 0) || eol + 2 + size + 2 > raw.length) break
    const data = raw.subarray(eol + 2, eol + 2 + size).toString()
    pos = eol + 2 + size + 2
    for (const ev of data.split('\n\n')) {
      if (!ev.startsWith('data: {')) continue
      const j = JSON.parse(ev.slice(6))
      frames.push({ end: pos - headerBytes, text: j.choices?.[0]?.delta?.content ?? '' })
    }
  }
  return { headerBytes, head, frames }
}

/** Reads a whole chunked response (to its last, empty chunk), then closes the connection. */
async function readAll(sock: Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  await new Promise<void>((resolve, reject) => {
    sock.on('data', (d) => {
      chunks.push(d)
      if (Buffer.concat(chunks.slice(-2)).toString('latin1').endsWith('\r\n0\r\n\r\n')) resolve()
    })
    sock.on('error', reject)
  })
  sock.destroy()
  return Buffer.concat(chunks)
}

/** The content frames of the whole answer to `body` (same seed, so the same text). */
async function fullAnswer(body: unknown): Promise<Frame[]> {
  return parseSse(await readAll(rawPost('/v1/chat/completions', body))).frames.filter((f) => f.text.length > 0)
}

async function receiptOf(id: string) {
  const r = await waitFor(
    () => http(`${url}/v1/receipts/${id}`),
    (x) => x.status === 200,
  )
  return r.json
}

/**
 * The charged text is exactly the first k content frames of the answer (the receipt's
 * outputHash says which k); returns k and the body offset where frame k ends.
 */
function chargedFrames(frames: Frame[], receipt: { outputHash: string }): { k: number; end: number } {
  let text = ''
  if (keccak256('') === receipt.outputHash) return { k: 0, end: 0 }
  for (let k = 1; k <= frames.length; k++) {
    text += frames[k - 1].text
    if (keccak256(text) === receipt.outputHash) return { k, end: frames[k - 1].end }
  }
  throw new Error('the charged text is not a prefix of the answer')
}

beforeAll(async () => {
  tmp = tempDir('sinew-billing-')
  slow = await startFakeOpenAI({ delayMs: 40 })
  hang = await startFakeOpenAI()
  const config = loadConfig({ flags: { dataDir: tmp.dir, port: 0, logLevel: 'silent', signatureWorkers: 1, maxOutputTokens: { 'slow-llm': 100 } }, env: {} })
  running = await startNode({ config, genesis: makeDevGenesis(), sequencerKey: DEV_SEQUENCER_KEY, backendTimeoutMs: 2000 })
  url = running.url
  port = Number(new URL(url).port)
  c = await datanetsClient(url)
  const { ref } = await publishDatanetVersion(url, {
    owner: dev[2].privateKey,
    name: 'Long Tales',
    stake: 0n,
    docs: [{ key: 'long', text: LONG_DOC, author: dev[5].privateKey }],
  })
  const model = (name: string, backend: string, datanets: string[] = []) => ({
    name,
    description: 'test',
    backend,
    datanets,
    pricePerMillion: PRICE.toString(),
    contributorShareBps: '5000',
  })
  for (const m of [
    model('long-infinigram', 'builtin:infinigram', [ref]),
    model('slow-llm', `openai-compatible:${slow.url}#fixed`),
    model('hang-llm', `openai-compatible:${hang.url}#hang`),
    model('gate-llm', `openai-compatible:${hang.url}#gate`),
  ]) {
    const r = await c.submit(owner.privateKey, 'RegisterModel', m)
    expect(r.status, JSON.stringify(r.json)).toBe(200)
  }
  apiKey = await grantApiKey(url, caller.privateKey)
}, 120_000)

afterAll(async () => {
  await running?.close()
  await slow?.close()
  await hang?.close()
  tmp?.cleanup()
})

describe('a caller is charged only for what reached them', () => {
  it('built-in model, max_tokens 4096: a client that reads the first event and hangs up pays for the frames its TCP received, no more', async () => {
    const before = await balance(caller.address)
    const sock = rawPost('/v1/chat/completions', builtinBody)
    const got = await new Promise<{ raw: Buffer; reached: number }>((resolve) => {
      const chunks: Buffer[] = []
      sock.on('data', (d) => {
        chunks.push(d)
        const raw = Buffer.concat(chunks)
        if (parseSse(raw).frames.length === 0) return
        // The first event is here: what reached this host is what the process read plus
        // what its kernel holds unread; then hang up, in the same tick.
        const reached = raw.length + sock.readableLength + rxQueue(sock)
        sock.destroy()
        resolve({ raw, reached })
      })
    })
    const { head, headerBytes } = parseSse(got.raw)
    const id = /x-sinew-receipt: (0x[0-9a-f]{64})/i.exec(head)![1]
    const receipt = await receiptOf(id)
    expect(await balance(caller.address)).toBe(before - computeFee(PRICE, BigInt(receipt.outputTokens)))
    const frames = await fullAnswer(builtinBody)
    expect(frames.length).toBeGreaterThan(2000)
    expect(receipt.finishReason).toBe('disconnected')
    const charged = chargedFrames(frames, receipt)
    const reachedBody = got.reached - headerBytes
    // Never more than reached the client; behind it by at most the node's measuring lag.
    expect(charged.end).toBeLessThanOrEqual(reachedBody)
    expect(charged.end).toBeGreaterThanOrEqual(reachedBody - SSE_ACK_WINDOW_BYTES - 512)
    expect(charged.k).toBeLessThan(frames.length)
    expect(receipt.outputTokens).toBeLessThan(4096)
    console.log(
      `first event then hang up: reached ${reachedBody} B, charged ${charged.k} of ${frames.length} frames (${charged.end} B, ${receipt.outputTokens} tokens)`,
    )
    await waitFor(
      async () => running.gateway!.reserved,
      (n) => n === 0,
    )
  })

  it('a paused reader killed once the node has stalled on it pays at most for what its receive buffers took', async () => {
    const sock = rawPost('/v1/chat/completions', builtinBody)
    // Read the first bytes (the headers, with the receipt id), then nothing: the kernel's
    // receive queue fills, then the node must stop.
    const first = await new Promise<Buffer>((resolve) =>
      sock.once('data', (d) => {
        sock.pause()
        resolve(d)
      }),
    )
    const reachedNow = () => first.length + sock.readableLength + rxQueue(sock)
    // Wait on state: the node's call waits on this client, and nothing more reaches it.
    let last = -1
    const reached = await waitFor(
      async () => reachedNow(),
      (r) => {
        const stable = r > 0 && r === last && running.gateway!.waitingOnCallers === 1
        last = r
        return stable
      },
    )
    sock.destroy()
    const { head, headerBytes } = parseSse(first)
    const id = /x-sinew-receipt: (0x[0-9a-f]{64})/i.exec(head)![1]
    const receipt = await receiptOf(id)
    expect(receipt.finishReason).toBe('disconnected')
    const frames = await fullAnswer(builtinBody)
    const charged = chargedFrames(frames, receipt)
    expect(charged.end).toBeLessThanOrEqual(reached - headerBytes)
    expect(charged.end).toBeGreaterThanOrEqual(reached - headerBytes - SSE_ACK_WINDOW_BYTES - 512)
    expect(charged.k).toBeLessThan(frames.length / 2)
    console.log(
      `paused reader: reached ${reached - headerBytes} B, charged ${charged.k} of ${frames.length} frames (${charged.end} B, ${receipt.outputTokens} tokens)`,
    )
    await waitFor(
      async () => running.gateway!.reserved,
      (n) => n === 0,
    )
  })

  it('a client that stops reading is dropped after streamStallTimeoutMs, and pays for what reached it', async () => {
    const settings = running.gateway!.settings
    const saved = settings.streamStallTimeoutMs
    settings.streamStallTimeoutMs = 300
    try {
      const sock = rawPost('/v1/chat/completions', builtinBody)
      const first = await new Promise<Buffer>((resolve) =>
        sock.once('data', (d) => {
          sock.pause()
          resolve(d)
        }),
      )
      // Nothing but the node ends this call: the client neither reads nor hangs up.
      const receipt = await receiptOf(/x-sinew-receipt: (0x[0-9a-f]{64})/i.exec(parseSse(first).head)![1])
      expect(receipt.finishReason).toBe('disconnected')
      expect(receipt.outputTokens).toBeGreaterThan(0)
      expect(receipt.outputTokens).toBeLessThan(2000)
      // The node hung up: reading now finds the end of the connection.
      sock.resume()
      await new Promise((r) => sock.once('close', r))
    } finally {
      settings.streamStallTimeoutMs = saved
    }
  })

  it('a non-streamed call the client abandons before the answer is ready costs nothing, writes no receipt and stops the backend', async () => {
    const before = await balance(caller.address)
    const calls = (await keyRecord(apiKey)).calls
    const requests = slow.requests
    const cutShort = slow.cutShort
    const abort = new AbortController()
    const pending = fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: 'slow-llm', messages: [{ role: 'user', content: 'hi' }] }),
      signal: abort.signal,
    }).catch((e) => e)
    // The backend is streaming the answer to the node (40 ms a word, ~45 words).
    await waitFor(
      async () => slow.requests,
      (n) => n === requests + 1,
    )
    abort.abort()
    expect(await pending).toBeInstanceOf(Error)
    await waitFor(
      async () => slow.cutShort,
      (n) => n === cutShort + 1,
    )
    await waitFor(
      async () => running.gateway!.reserved,
      (n) => n === 0,
    )
    expect(await balance(caller.address)).toBe(before)
    expect((await keyRecord(apiKey)).calls).toBe(calls)
  })

  it('a streamed call whose client reads to the end pays for all of it', async () => {
    const frames = await fullAnswer({ ...builtinBody, max_tokens: 50 })
    expect(frames.length).toBeGreaterThan(10)
    const text = frames.map((f) => f.text).join('')
    const raw = await readAll(rawPost('/v1/chat/completions', { ...builtinBody, max_tokens: 50 }))
    const id = /x-sinew-receipt: (0x[0-9a-f]{64})/i.exec(parseSse(raw).head)![1]
    const receipt = await receiptOf(id)
    expect(receipt.finishReason).toBe('length')
    expect(receipt.outputHash).toBe(keccak256(text))
  })
})

describe('a key revoked or expired while its call runs', () => {
  /**
   * Starts a streamed call of the gate model (its backend sends GATE_WORDS words, then waits),
   * runs `meanwhile` once the caller has the first words, then lets the answer finish and
   * reads it to its end.
   */
  async function callAcross(key: string, meanwhile: () => Promise<void>) {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gate-llm', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let raw = ''
    while (!raw.includes('"content"')) raw += new TextDecoder().decode((await reader.read()).value)
    await waitFor(
      async () => hang.gated,
      (n) => n === 1,
    )
    await meanwhile()
    hang.release()
    for (let r = await reader.read(); !r.done; r = await reader.read()) raw += new TextDecoder().decode(r.value)
    const events = raw
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)))
    return { receiptId: res.headers.get('x-sinew-receipt')!, events, text: events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('') }
  }

  async function expectCharged(key: string, payer: string, before: bigint, call: Awaited<ReturnType<typeof callAcross>>) {
    expect(call.events.find((e) => e.error)).toBeUndefined()
    expect(call.text).toBe(FAKE_TEXT)
    const last = call.events.at(-1)
    expect(last.sinew.receipt).toBe(call.receiptId)
    const receipt = await receiptOf(call.receiptId)
    expect(receipt.outputTokens).toBe(countTokens(FAKE_TEXT))
    expect(receipt.outputHash).toBe(keccak256(FAKE_TEXT))
    const fee = computeFee(PRICE, BigInt(receipt.outputTokens))
    expect(await balance(payer)).toBe(before - fee)
    const record = await keyRecord(key)
    expect(record).toMatchObject({ calls: '1', spent: fee.toString() })
  }

  it('revoked (a signed RevokeApiKey committed mid-stream): the answer is receipted and charged; the next call is refused', async () => {
    const payer = dev[1]
    const key = await grantApiKey(url, payer.privateKey)
    const before = await balance(payer.address)
    const call = await callAcross(key, async () => {
      const r = await c.submit(payer.privateKey, 'RevokeApiKey', { keyHash: hashApiKey(key) })
      expect(r.status, JSON.stringify(r.json)).toBe(200)
      expect((await keyRecord(key)).revoked).toBe(true)
    })
    await expectCharged(key, payer.address, before, call)
    const after = await http(`${url}/v1/chat/completions`, {
      body: { model: 'gate-llm', messages: [{ role: 'user', content: 'hi' }] },
      headers: { authorization: `Bearer ${key}` },
    })
    expect(after.json.error.code).toBe('revoked_api_key')
  })

  it("expired (the node's clock passes expiresAt mid-stream): the answer is receipted and charged; the next call is refused", async () => {
    const payer = dev[4]
    const expiresAt = (await nodeTime()) + 1500n
    const key = await grantApiKey(url, payer.privateKey, { expiresAt })
    const before = await balance(payer.address)
    const call = await callAcross(key, async () => {
      // Blocks until one is stamped at or after the key's expiry: the receipt's block will be later still.
      await waitFor(nodeTime, (t) => t >= expiresAt)
    })
    await expectCharged(key, payer.address, before, call)
    const after = await http(`${url}/v1/chat/completions`, {
      body: { model: 'gate-llm', messages: [{ role: 'user', content: 'hi' }] },
      headers: { authorization: `Bearer ${key}` },
    })
    expect(after.json.error.code).toBe('expired_api_key')
  })
})

describe('abuse', () => {
  /** A POST from a chosen local address (127.0.0.x: each is another client to the node). */
  function postFrom(
    localAddress: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<{ status: number; retryAfter?: string; json: any }> {
    return new Promise((resolve, reject) => {
      const payload = JSON.stringify(body)
      const req = httpRequest(
        { host: '127.0.0.1', port, localAddress, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } },
        (res) => {
          let text = ''
          res.on('data', (d) => (text += d))
          res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, json: JSON.parse(text) }))
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  }
  /** A chat call (to a model that does not exist: a valid key gets as far as model_not_found). */
  const callFrom = (localAddress: string, key: string) =>
    postFrom(localAddress, '/v1/chat/completions', { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${key}` })

  it('guessing API keys: after 20 failed authentications a minute a client gets 429 with Retry-After, even for a valid key; other clients do not', async () => {
    for (let i = 0; i < 20; i++) expect((await callFrom('127.0.0.3', newApiKey())).status).toBe(401)
    const limited = await callFrom('127.0.0.3', newApiKey())
    expect(limited.status).toBe(429)
    expect(limited.json.error).toEqual({ message: expect.any(String), type: 'rate_limit_error', param: null, code: 'too_many_auth_failures' })
    expect(Number(limited.retryAfter)).toBeGreaterThan(0)
    // A valid key from the same client is refused too (a guess that hits must not get through)...
    expect((await callFrom('127.0.0.3', apiKey)).status).toBe(429)
    // ...while another client is not affected (the valid key reaches the model check).
    expect((await callFrom('127.0.0.4', apiKey)).json.error.code).toBe('model_not_found')
  })

  it("keys guessed through MCP's chat tool count against the MCP client's address, not the node's own", async () => {
    const mcpChat = (from: string, key: string) =>
      postFrom(
        from,
        '/mcp',
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'chat', arguments: { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], apiKey: key } },
        },
        { accept: 'application/json, text/event-stream' },
      )
    for (let i = 0; i < 20; i++) expect(JSON.stringify((await mcpChat('127.0.0.5', newApiKey())).json)).toContain('invalid_api_key')
    expect(JSON.stringify((await mcpChat('127.0.0.5', newApiKey())).json)).toContain('too_many_auth_failures')
    expect((await callFrom('127.0.0.5', apiKey)).status).toBe(429)
    // Other MCP clients are not locked out by it.
    expect(JSON.stringify((await mcpChat('127.0.0.6', apiKey)).json)).toContain('model_not_found')
  })

  it('max_tokens is capped per model: the built-in model at 4096, others at 8192, one model by the operator; the cap is in the error and in /v1/models', async () => {
    const chat = (model: string, max_tokens: number) =>
      http(`${url}/v1/chat/completions`, {
        body: { model, messages: [{ role: 'user', content: 'hi' }], max_tokens },
        headers: { authorization: `Bearer ${apiKey}` },
      })
    const requests = slow.requests
    for (const [model, cap] of [
      ['long-infinigram', 4096],
      ['hang-llm', 8192],
      ['slow-llm', 100],
    ] as const) {
      const r = await chat(model, cap + 1)
      expect(r.status, model).toBe(400)
      expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param: 'max_tokens', code: 'invalid_value' })
      expect(r.json.error.message).toContain(`at most ${cap}`)
      expect((await http(`${url}/v1/models/${model}`)).json.sinew.limits.maxOutputTokens).toBe(cap)
    }
    expect(slow.requests).toBe(requests)
    expect((await http(`${url}/v1/models`)).json.data.find((m: any) => m.id === 'long-infinigram').sinew.limits).toEqual({
      maxOutputTokens: 4096,
      maxPromptTokens: 32768,
    })
  })

  it('a prompt longer than the model allows is refused before any backend call, costs nothing; a body over 1 MiB is refused unread', async () => {
    const before = await balance(caller.address)
    const requests = slow.requests
    const words = Array.from({ length: 33_000 }, (_, i) => WORDS[i % 16]).join(' ')
    const long = await http(`${url}/v1/chat/completions`, {
      body: { model: 'slow-llm', messages: [{ role: 'user', content: words }], max_tokens: 10 },
      headers: { authorization: `Bearer ${apiKey}` },
    })
    expect(long.status).toBe(400)
    expect(long.json.error).toMatchObject({ type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' })
    expect(long.json.error.message).toContain('32768')
    const huge = await http(`${url}/v1/completions`, {
      body: { model: 'slow-llm', prompt: 'x'.repeat(1_100_000), max_tokens: 10 },
      headers: { authorization: `Bearer ${apiKey}` },
    })
    expect(huge.status).toBe(413)
    expect(slow.requests).toBe(requests)
    expect(await balance(caller.address)).toBe(before)
  })

  it('one key holds at most 16 calls at once: the 17th gets 429, another key is not affected', async () => {
    const other = await grantApiKey(url, dev[1].privateKey)
    const requests = hang.requests
    const aborts = Array.from({ length: 16 }, () => new AbortController())
    const pending = aborts.map((a) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ model: 'hang-llm', messages: [{ role: 'user', content: 'hi' }] }),
        signal: a.signal,
      }).catch((e) => e),
    )
    await waitFor(
      async () => hang.requests,
      (n) => n === requests + 16,
    )
    const r = await http(`${url}/v1/chat/completions`, {
      body: { model: 'hang-llm', messages: [{ role: 'user', content: 'hi' }] },
      headers: { authorization: `Bearer ${apiKey}` },
    })
    expect(r.status).toBe(429)
    expect(r.json.error).toEqual({ message: expect.any(String), type: 'rate_limit_error', param: null, code: 'too_many_concurrent_calls' })
    const ok = await http(`${url}/v1/chat/completions`, {
      body: { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] },
      headers: { authorization: `Bearer ${other}` },
    })
    expect(ok.json.error.code).toBe('model_not_found')
    for (const a of aborts) a.abort()
    await Promise.all(pending)
    await waitFor(
      async () => running.gateway!.reserved,
      (n) => n === 0,
    )
  })
})
