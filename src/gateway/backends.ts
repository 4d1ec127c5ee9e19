/**
 * Backends produce text deltas for a request. `builtin:infinigram` runs the ∞-gram
 * generator of the model's first Datanet version; `openai-compatible:<baseURL>` streams
 * from any server that speaks the OpenAI API (llama.cpp server, vLLM, Ollama, a hosted API).
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { AttributionIndex } from '../attribution/index.ts'
import { SinewError } from '../core/index.ts'
import type { AnswerToolCall } from '../models/index.ts'
import { AddressNotAllowedError, type BackendAllowList } from './egress.ts'

/** The most function calls one answer may make (OpenAI's streamed `index` is below this). */
export const MAX_TOOL_CALLS = 128

/** A function call of an assistant message: what the model asked to run, with its arguments (a JSON string, as the model wrote it). */
export type ToolCall = AnswerToolCall

/**
 * A chat message as the node passes it on. `toolCalls` are an assistant message's function
 * calls; `toolCallId` says which call a `tool` message answers.
 */
export type ChatMessage = { role: string; content: string; name?: string; toolCalls?: ToolCall[]; toolCallId?: string }

/**
 * A piece of a streamed function call, as OpenAI streams them: `index` says which call of the
 * answer it belongs to; the first piece of a call has its id and name, the rest only more of
 * its arguments.
 */
export type ToolCallDelta = { index: number; id?: string; name?: string; arguments: string }

/** What a backend streams: text, or a piece of a function call. */
export type BackendDelta = string | ToolCallDelta

/** The tools a call offers the model, passed on as the caller sent them (OpenAI chat completions' shapes). */
export type CallTools = {
  /** `tools` of a chat completion: `{type: "function", function: {name, description?, parameters?, strict?}}`. */
  tools: unknown[]
  /** `tool_choice`: "auto", "none", "required" or `{type: "function", function: {name}}`. */
  toolChoice?: unknown
  parallelToolCalls?: boolean
}

export type BackendRequest = {
  kind: 'chat' | 'completion'
  /** Chat messages (kind chat) with their text content. */
  messages: ChatMessage[]
  /** The prompt text (kind completion), or the text the builtin model continues. */
  prompt: string
  maxTokens: number
  temperature?: number
  topP?: number
  seed?: number
  stop?: string[]
  /** Tools the model may call (openai-compatible backends only). */
  tools?: CallTools
  signal: AbortSignal
}

export type Backend = {
  /** Text deltas and pieces of function calls, in order. Throws a SinewError when the backend fails (`backend_unavailable`, `backend_error`), times out (`backend_timeout`) or is outside the allow-list (`backend_not_allowed`). */
  stream(req: BackendRequest): AsyncIterable<BackendDelta>
}

/**
 * The caller learns only that the node refuses; what the host resolved to stays in the
 * details (logged for the operator), or a stranger could map the operator's network with it.
 */
function notAllowed(baseURL: string, reason: string, cause?: unknown): SinewError {
  return new SinewError({
    code: 'backend_not_allowed',
    message: "This node does not call this model's backend: it is outside the operator's backend allow-list.",
    details: { backend: baseURL, reason },
    hint: 'The node operator allows backends with backendAllowList (docs/gateway.md); a model on a public node must point at a public address.',
    cause,
  })
}

/** The built-in model gives the event loop a turn after this long (ms) of generating. */
const BUILTIN_SLICE_MS = 4
/** ...and after this many tokens, whatever the time (so the loop turns on a fast machine too). */
const BUILTIN_SLICE_TOKENS = 256

/**
 * The ∞-gram generator over an attribution index, run a token at a time on the node's thread:
 * it gives the event loop a turn every few milliseconds (other streams, ledger acks and timers
 * run in between), sends each word as soon as it is final, and stops when the caller has gone.
 * The text is `index.generate`'s for the same seed, to the byte, in deltas of one word with
 * its leading space (like a tokenizer-driven LLM stream).
 */
export function builtinBackend(index: AttributionIndex): Backend {
  return {
    async *stream(req) {
      const seed = req.seed ?? Math.floor(Math.random() * 2 ** 31)
      const pieces = index.generateText(req.prompt, { maxTokens: req.maxTokens, seed, temperature: req.temperature ?? 1 })
      let text = ''
      let slice = performance.now()
      let steps = 0
      for (;;) {
        const step = pieces.next()
        if (!step.done) text += step.value
        // Whole words go out: a word is complete once whitespace follows it.
        const cut = step.done ? text.length : completeWords(text)
        if (cut > 0) {
          for (const m of text.slice(0, cut).matchAll(WORD)) yield m[0]
          text = text.slice(cut)
        }
        if (step.done || req.signal.aborted) return
        if (++steps >= BUILTIN_SLICE_TOKENS || performance.now() - slice >= BUILTIN_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          if (req.signal.aborted) return
          steps = 0
          slice = performance.now()
        }
      }
    },
  }
}

const WORD = /\s*\S+/g

/** The length of `text`'s prefix made of complete words (each `\s*\S+` followed by whitespace). */
function completeWords(text: string): number {
  for (let i = text.length - 1; i > 0; i--) if (/\s/.test(text[i]) && !/\s/.test(text[i - 1])) return i
  return 0
}

export type OpenAIBackendOptions = {
  baseURL: string
  /** The operator's key for this backend's origin, if any: without one no Authorization header is sent. */
  apiKey?: string
  upstreamModel: string
  timeoutMs: number
  /** Where the node may connect; checked before each call and on every address a name resolves to. */
  allowList: BackendAllowList
}

/**
 * Streams from an OpenAI-compatible server (`POST <baseURL>/chat/completions` or
 * `/completions`, `stream: true`). The SSE is read straight off a keep-alive `node:http(s)`
 * connection and parsed here: one string scan per network chunk and one `JSON.parse` per
 * event, no web streams, no per-chunk promises beyond the one the consumer awaits.
 * `timeoutMs` bounds the wait for the first byte and every gap between chunks. Redirects are
 * not followed (a 3xx is a backend_error), so neither the request nor the key goes anywhere
 * but the origin that was checked.
 */
export function openaiCompatibleBackend(o: OpenAIBackendOptions): Backend {
  const base = new URL(o.baseURL.endsWith('/') ? o.baseURL : o.baseURL + '/')
  const secure = base.protocol === 'https:'
  if (!secure && base.protocol !== 'http:') throw new SinewError({ code: 'backend_unavailable', message: `Unsupported backend URL ${o.baseURL}` })
  // Every connection resolves its host through the allow-list: the addresses checked are the
  // ones connected to.
  const lookup = o.allowList.lookupFor(base) as never
  const agent = secure ? new HttpsAgent({ keepAlive: true, lookup }) : new HttpAgent({ keepAlive: true, lookup })
  const send = secure ? httpsRequest : httpRequest
  const urls = { chat: new URL('chat/completions', base), completion: new URL('completions', base) }
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' }
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`
  return {
    stream(req) {
      // An address literal (and the scheme) is judged here; a name when it resolves.
      const admission = o.allowList.admits(base)
      if (!admission.ok) throw notAllowed(o.baseURL, admission.reason)
      const body: Record<string, unknown> = { model: o.upstreamModel, max_tokens: req.maxTokens, stream: true }
      if (req.temperature !== undefined) body.temperature = req.temperature
      if (req.topP !== undefined) body.top_p = req.topP
      if (req.seed !== undefined) body.seed = req.seed
      if (req.stop) body.stop = req.stop
      if (req.kind === 'chat') body.messages = req.messages.map(wireMessage)
      else body.prompt = req.prompt
      if (req.tools) {
        body.tools = req.tools.tools
        if (req.tools.toolChoice !== undefined) body.tool_choice = req.tools.toolChoice
        if (req.tools.parallelToolCalls !== undefined) body.parallel_tool_calls = req.tools.parallelToolCalls
      }
      const payload = JSON.stringify(body)
      return new SseDeltaStream(
        req,
        o,
        send,
        urls[req.kind],
        {
          agent,
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(payload)) },
        },
        payload,
      )
    },
  }
}

/** A message in OpenAI's chat wire form (an assistant message that only calls tools has null content). */
function wireMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.toolCalls && m.content === '' ? null : m.content }
  if (m.name !== undefined) out.name = m.name
  if (m.toolCalls) out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }))
  if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId
  return out
}

type Send = (url: URL, options: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest
type Waiter = { resolve: (r: IteratorResult<BackendDelta>) => void; reject: (e: unknown) => void }
const DONE: IteratorResult<BackendDelta> = { value: undefined, done: true }
/** Deltas buffered beyond this pause the backend socket until the consumer catches up. */
const HIGH_WATER = 256

/**
 * One streamed call as an async iterable of text deltas. Network chunks are parsed as they
 * arrive (SSE lines -> events -> JSON -> delta) and queued; `next()` hands them out.
 */
class SseDeltaStream implements AsyncIterableIterator<BackendDelta> {
  private readonly queue: BackendDelta[] = []
  private head = 0
  private waiter: Waiter | null = null
  private error: SinewError | null = null
  private ended = false
  /** The response was read to its end (the socket went back to the pool). */
  private complete = false
  private request: ClientRequest
  private response: IncomingMessage | null = null
  private readonly timer: NodeJS.Timeout
  private readonly onAbort = () => this.stop()
  // SSE parser state.
  private buf = ''
  private data = ''
  private hasData = false
  private event = ''
  private sawDone = false

  constructor(
    private readonly req: BackendRequest,
    o: OpenAIBackendOptions,
    send: Send,
    url: URL,
    options: RequestOptions,
    payload: string,
  ) {
    this.timer = setTimeout(() => {
      this.fail(
        new SinewError({ code: 'backend_timeout', message: `The model backend did not answer within ${o.timeoutMs} ms`, details: { timeoutMs: o.timeoutMs } }),
      )
    }, o.timeoutMs)
    req.signal.addEventListener('abort', this.onAbort)
    const start = (mayRetry: boolean): ClientRequest => {
      const request = send(url, options, (res) => this.onResponse(res))
      request.on('error', (e) => {
        if (this.ended || this.req.signal.aborted) return
        // A kept-alive socket the backend closed just as this request went out (the known
        // race of idle connections): nothing was answered, so it goes once more on a new one.
        const code = (e as NodeJS.ErrnoException).code
        if (mayRetry && !this.response && request.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) {
          this.request = start(false)
          return
        }
        if (e instanceof AddressNotAllowedError) this.fail(notAllowed(o.baseURL, `${e.host} resolves to a ${e.addressClass} address (${e.address})`, e))
        else if (!this.response)
          this.fail(new SinewError({ code: 'backend_unavailable', message: `The model backend at ${o.baseURL} is unreachable`, cause: e }))
        else this.fail(new SinewError({ code: 'backend_error', message: `The model backend failed: ${e.message}`.slice(0, 300), cause: e }))
      })
      request.end(payload)
      return request
    }
    this.request = start(true)
    if (req.signal.aborted) this.stop()
  }

  [Symbol.asyncIterator]() {
    return this
  }

  next(): Promise<IteratorResult<BackendDelta>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]
      if (this.head === this.queue.length) {
        this.queue.length = 0
        this.head = 0
        if (this.response?.isPaused() && !this.ended) this.response.resume()
      }
      return Promise.resolve({ value, done: false })
    }
    if (this.error) return Promise.reject(this.error)
    if (this.ended) return Promise.resolve(DONE)
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }))
  }

  /** The consumer stopped early (budget reached, caller gone): drop the upstream call. */
  return(): Promise<IteratorResult<BackendDelta>> {
    this.stop()
    return Promise.resolve(DONE)
  }

  private onResponse(res: IncomingMessage): void {
    this.response = res
    this.timer.refresh()
    res.setEncoding('utf8')
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) {
      let text = ''
      res.on('data', (d: string) => {
        if (text.length < 65_536) text += d
      })
      res.on('end', () => {
        this.complete = true
        this.fail(backendHttpError(status, text))
      })
      res.on('error', () => this.fail(backendHttpError(status, text)))
      return
    }
    res.on('data', (chunk: string) => {
      if (this.ended) return
      this.timer.refresh()
      this.feed(chunk)
    })
    res.on('end', () => {
      this.complete = true
      if (this.ended) return
      if (this.buf.length > 0) this.feed('\n\n')
      this.finish()
    })
    res.on('error', (e) => {
      if (this.ended || this.req.signal.aborted) return
      this.fail(new SinewError({ code: 'backend_error', message: `The model backend failed: ${e.message}`.slice(0, 300), cause: e }))
    })
  }

  /** Parses SSE: lines (LF, CRLF or CR), `data:`/`event:` fields, a blank line ends an event. */
  private feed(chunk: string): void {
    let s = this.buf.length > 0 ? this.buf + chunk : chunk
    // A CR at the very end may be the first half of CRLF: keep it for the next chunk.
    let limit = s.length
    if (s.charCodeAt(limit - 1) === 13) limit--
    let pos = 0
    while (pos < limit && !this.ended) {
      let nl = s.indexOf('\n', pos)
      let cr = s.indexOf('\r', pos)
      if (nl === -1 || nl >= limit) nl = -1
      if (cr >= limit) cr = -1
      let end: number
      let next: number
      if (cr !== -1 && (nl === -1 || cr < nl)) {
        end = cr
        next = s.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1
      } else if (nl !== -1) {
        end = nl
        next = nl + 1
      } else break
      this.line(s, pos, end)
      pos = next
    }
    this.buf = pos === 0 ? s : pos >= s.length ? '' : s.slice(pos)
    if (this.queue.length - this.head > HIGH_WATER && this.response && !this.response.isPaused()) this.response.pause()
    s = ''
  }

  private line(s: string, start: number, end: number): void {
    if (start === end) return this.dispatch()
    const c = s.charCodeAt(start)
    if (c === 58 /* : comment */) return
    const colon = s.indexOf(':', start)
    let field: string
    let value: string
    if (colon === -1 || colon >= end) {
      field = s.slice(start, end)
      value = ''
    } else {
      field = s.slice(start, colon)
      const v = s.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1
      value = s.slice(v, end)
    }
    if (field === 'data') {
      this.data = this.hasData ? this.data + '\n' + value : value
      this.hasData = true
    } else if (field === 'event') this.event = value
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.event = ''
      return
    }
    const data = this.data
    const event = this.event
    this.data = ''
    this.hasData = false
    this.event = ''
    if (this.sawDone) return
    if (data.startsWith('[DONE]')) {
      // The answer is complete; read the rest off the socket so it can be reused.
      this.sawDone = true
      this.finish()
      return
    }
    let json: any
    try {
      json = JSON.parse(data)
    } catch (e) {
      return this.fail(new SinewError({ code: 'backend_error', message: `The model backend sent an event that is not JSON: ${data}`.slice(0, 300), cause: e }))
    }
    if (event === 'error' || json?.error) {
      const err = json?.error ?? json
      const message = typeof err?.message === 'string' ? err.message : typeof err === 'string' ? err : JSON.stringify(err)
      return this.fail(new SinewError({ code: 'backend_error', message: `The model backend failed: ${message}`.slice(0, 300), details: { status: null } }))
    }
    const choice = json?.choices?.[0]
    const d = this.req.kind === 'chat' ? choice?.delta?.content : choice?.text
    if (typeof d === 'string' && d.length > 0) this.push(d)
    const calls = this.req.kind === 'chat' && this.req.tools ? choice?.delta?.tool_calls : undefined
    if (!Array.isArray(calls)) return
    for (const c of calls) {
      const call = toolCallDelta(c)
      if (typeof call === 'string') return this.fail(new SinewError({ code: 'backend_error', message: call }))
      this.push(call)
    }
  }

  private push(d: BackendDelta): void {
    const w = this.waiter
    if (w) {
      this.waiter = null
      w.resolve({ value: d, done: false })
    } else this.queue.push(d)
  }

  private finish(): void {
    if (this.ended) return
    this.ended = true
    this.cleanup()
    const w = this.waiter
    if (w) {
      this.waiter = null
      w.resolve(DONE)
    }
  }

  private fail(e: SinewError): void {
    if (this.ended) return
    this.ended = true
    this.error = e
    this.cleanup()
    this.abortUpstream()
    const w = this.waiter
    if (w) {
      this.waiter = null
      w.reject(e)
    }
  }

  /** Ends without error (caller aborted or consumer stopped) and drops the upstream call. */
  private stop(): void {
    if (!this.ended) {
      this.ended = true
      this.cleanup()
      const w = this.waiter
      if (w) {
        this.waiter = null
        w.resolve(DONE)
      }
    }
    this.abortUpstream()
  }

  private abortUpstream(): void {
    if (!this.complete) this.request.destroy()
  }

  private cleanup(): void {
    clearTimeout(this.timer)
    this.req.signal.removeEventListener('abort', this.onAbort)
    // After [DONE], keep draining so the keep-alive socket returns to the pool.
    if (this.response?.isPaused()) this.response.resume()
  }
}

/** A streamed tool call piece off the wire (`choices[0].delta.tool_calls[i]`), checked; or what is wrong with it. */
function toolCallDelta(c: any): ToolCallDelta | string {
  const fn = c?.function
  if (!Number.isInteger(c?.index) || c.index < 0 || c.index >= MAX_TOOL_CALLS || (fn !== undefined && (typeof fn !== 'object' || fn === null)))
    return `The model backend sent a malformed tool call: ${JSON.stringify(c)}`.slice(0, 300)
  const d: ToolCallDelta = { index: c.index, arguments: typeof fn?.arguments === 'string' ? fn.arguments : '' }
  if (typeof c.id === 'string') d.id = c.id
  if (typeof fn?.name === 'string') d.name = fn.name
  return d
}

function backendHttpError(status: number, text: string): SinewError {
  let message = text.trim()
  try {
    const j = JSON.parse(text)
    const m = j?.error?.message ?? j?.message ?? j?.error
    if (typeof m === 'string') message = m
  } catch {
    /* not JSON: the text itself */
  }
  if (status >= 300 && status < 400) {
    // Not followed: the request (and the operator's key) goes only to the origin that was checked.
    return new SinewError({
      code: 'backend_error',
      message: `The model backend answered ${status}, a redirect, which the node does not follow`,
      details: { status },
    })
  }
  return new SinewError({ code: 'backend_error', message: `The model backend answered ${status}: ${message || 'an error'}`.slice(0, 300), details: { status } })
}
