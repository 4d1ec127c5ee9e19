import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildIndex, openIndex, type AttributionIndex } from '../attribution/index.ts'
import { builtinBackend, openaiCompatibleBackend } from './backends.ts'
import { BackendAllowList } from './egress.ts'
import { LONG_DOC, LONG_DOC_PROMPT as PROMPT } from './fixtures.ts'

let root: string
let index: AttributionIndex
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sinew-builtin-'))
  await buildIndex(
    [
      { id: 'long', text: LONG_DOC },
      { id: 'short', text: 'Copper kettles hummed in the bakery. "Don\'t," said I.' },
    ],
    join(root, 'index'),
    { workers: 0 },
  )
  index = openIndex(join(root, 'index'))
})
afterAll(() => {
  index?.close()
  rmSync(root, { recursive: true, force: true })
})

const request = (o: { prompt: string; maxTokens: number; seed: number; temperature?: number; signal?: AbortSignal }) => ({
  kind: 'completion' as const,
  messages: [],
  prompt: o.prompt,
  maxTokens: o.maxTokens,
  seed: o.seed,
  temperature: o.temperature,
  signal: o.signal ?? new AbortController().signal,
})

describe('builtin:infinigram', () => {
  it('lets the event loop turn while it generates: a timer set when the call starts fires before the last delta', async () => {
    let deltas = 0
    let atTimer = -1
    setTimeout(() => (atTimer = deltas), 0)
    for await (const _ of builtinBackend(index).stream(request({ prompt: PROMPT, maxTokens: 8192, seed: 2 }))) deltas++
    expect(deltas).toBeGreaterThan(2000)
    expect(atTimer).toBeGreaterThanOrEqual(0)
    expect(atTimer).toBeLessThan(deltas)
  })

  it('streams exactly the text generate() makes for the seed, one word per delta', async () => {
    for (const [prompt, seed, temperature, maxTokens] of [
      [PROMPT, 2, 1, 8192],
      [PROMPT, 5, 0.7, 3000],
      ['copper', 1, 0, 50],
      ['"Don\'t', 3, 1.5, 40],
      ['', 9, 1, 100],
    ] as const) {
      const deltas: string[] = []
      for await (const d of builtinBackend(index).stream(request({ prompt, maxTokens, seed, temperature }))) if (typeof d === 'string') deltas.push(d)
      const whole = index.generate(prompt, { maxTokens, seed, temperature })
      expect(deltas.join('')).toBe(whole.text)
      expect(deltas).toEqual(whole.text.match(/\s*\S+/g) ?? [])
    }
  })

  it('stops generating once the caller has gone', async () => {
    const abort = new AbortController()
    let deltas = 0
    for await (const _ of builtinBackend(index).stream(request({ prompt: PROMPT, maxTokens: 8192, seed: 2, signal: abort.signal }))) {
      if (++deltas === 10) abort.abort()
    }
    expect(deltas).toBeLessThan(200)
  })
})

describe('openai-compatible', () => {
  it('sends a call again on a new connection when the kept-alive one it went out on was closed unanswered', async () => {
    // Every connection answers its first request and resets at its second, as a backend
    // closing an idle keep-alive socket just as the next request arrives.
    const sse = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, text, finish_reason: null }] })}\n\ndata: [DONE]\n\n`
    let connections = 0
    let requests = 0
    const server = createServer((socket) => {
      connections++
      let seen = 0
      let buf = ''
      socket.on('data', (d) => {
        buf += d.toString('latin1')
        // One request per chunk of headers + body (the client sends small bodies with content-length).
        const end = buf.indexOf('\r\n\r\n')
        if (end === -1) return
        const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0)
        if (buf.length < end + 4 + length) return
        buf = buf.slice(end + 4 + length)
        if (seen++ > 0) return void socket.resetAndDestroy()
        requests++
        const body = sse(`answer ${requests}`)
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`,
        )
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as AddressInfo).port
      const backend = openaiCompatibleBackend({
        baseURL: `http://127.0.0.1:${port}/v1`,
        upstreamModel: 'm',
        timeoutMs: 10_000,
        allowList: new BackendAllowList(['loopback']),
      })
      const texts: string[] = []
      for (let i = 0; i < 3; i++) {
        let text = ''
        for await (const d of backend.stream(request({ prompt: 'x', maxTokens: 5, seed: 1 }))) if (typeof d === 'string') text += d
        texts.push(text)
      }
      expect(texts).toEqual(['answer 1', 'answer 2', 'answer 3'])
      // The 2nd and 3rd calls each went out on a kept-alive socket first, were reset, and went again.
      expect(connections).toBe(3)
    } finally {
      server.close()
    }
  })
})
