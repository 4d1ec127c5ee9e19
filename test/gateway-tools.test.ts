/**
 * Tools and function calls through the gateway, end to end with the official `openai` client
 * against a real node (SQLite, HTTP on port 0, signed txs) and a fake OpenAI-wire backend that
 * streams tool-call deltas as real servers do: chat completions (`tools`, `tool_choice`,
 * assistant `tool_calls`, `tool` messages) and the Responses API (`function` tools,
 * `function_call` / `function_call_output` items), streamed and not, charged and receipted
 * like text; the built-in model refuses tools. And the last chunk of a chat stream carries
 * `usage` only when `stream_options.include_usage` is set. Fees and output hashes are worked
 * out here from docs/gateway.md's rules.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keccak256 } from '../src/core/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { registerFixtureInfinigram, startFakeOpenAI, TOOL_ANSWER, TOOL_CALL, TOOL_PREAMBLE, type FakeBackend } from './gateway-fixtures.ts'
import { dev, grantApiKey, http, runCli, sendTx, startDevNode, tempDir } from './helpers.ts'

const SIN = 10n ** 18n
const PRICE = 1000n * SIN + 7n
/** docs/gateway.md: fee = requestPrice + ceil((price × output + promptPrice × prompt) / 10^6); the model here has an output price only. */
const fee = (outputTokens: bigint) => (PRICE * outputTokens + 999_999n) / 1_000_000n
/**
 * Canonical tokens (docs/attribution.md: words, and each punctuation mark alone), counted by hand:
 * TOOL_PREAMBLE `let me look that up .` = 6; TOOL_CALL.arguments `{ " city " : " paris " , " unit " : " celsius " }` = 17.
 */
const PREAMBLE_TOKENS = 6n
const ARGUMENT_TOKENS = 17n
const CALL_FEE = fee(PREAMBLE_TOKENS + ARGUMENT_TOKENS)

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
  },
}
const QUESTION = 'What is the weather in Paris?'

let tmp: ReturnType<typeof tempDir>
let running: RunningNode
let backend: FakeBackend
const owner = dev[3]
const caller = dev[4]

const openai = (apiKey: string) => new OpenAI({ baseURL: `${running.url}/v1`, apiKey, maxRetries: 0 })
const balance = async (address: string): Promise<bigint> => BigInt((await http(`${running.url}/v1/accounts/${address}`)).json.balance)
const receipt = async (id: string) => (await http(`${running.url}/v1/receipts/${id}`)).json
/** docs/gateway.md: the output hash of an answer with function calls. */
const answerHash = (text: string, calls: { id: string; name: string; arguments: string }[]) =>
  keccak256(JSON.stringify({ content: text, tool_calls: calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) }))
const EXPECTED_CALL = { id: TOOL_CALL.id, name: 'get_weather', arguments: TOOL_CALL.arguments }

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await p
  } catch (e) {
    if (e instanceof OpenAI.APIError) return { status: e.status!, code: String(e.code), message: e.message }
    throw e
  }
  throw new Error('the call was not refused')
}

/** The raw SSE data frames of a streamed chat call (parsed JSON, without [DONE]). */
async function rawChunks(apiKey: string, body: Record<string, unknown>): Promise<any[]> {
  const r = await fetch(`${running.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  })
  expect(r.status).toBe(200)
  const text = await r.text()
  expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
  return text
    .split('\n\n')
    .filter((f) => f.startsWith('data: ') && f !== 'data: [DONE]')
    .map((f) => JSON.parse(f.slice(6)))
}

beforeAll(async () => {
  tmp = tempDir('sinew-tools-')
  backend = await startFakeOpenAI()
  running = await startDevNode(tmp.dir)
  await sendTx(running.url, owner.privateKey, 'RegisterModel', {
    name: 'tool-llm',
    description: 'test',
    backend: `openai-compatible:${backend.url}#tools`,
    datanets: [],
    pricePerMillion: PRICE.toString(),
    contributorShareBps: '0',
  })
  await registerFixtureInfinigram(running.url, { owner: owner.privateKey, name: 'tool-infinigram', datanet: 'Tools Tales', pricePerMillion: PRICE })
}, 60_000)

afterAll(async () => {
  await running?.close()
  await backend?.close()
  tmp?.cleanup()
})

describe('chat completions with tools', () => {
  it('a function call, not streamed and streamed: the same call and the same cost; the receipt charges its arguments', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const c = openai(key)
    const plain = await c.chat.completions.create({
      model: 'tool-llm',
      messages: [{ role: 'user', content: QUESTION }],
      tools: [WEATHER_TOOL],
      tool_choice: 'auto',
    })
    // The backend was offered the tools as the caller sent them.
    const sent = backend.log.at(-1)!.body
    expect(sent.tools).toEqual([WEATHER_TOOL])
    expect(sent.tool_choice).toBe('auto')
    const choice = plain.choices[0]
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBe(TOOL_PREAMBLE)
    expect(choice.message.tool_calls).toEqual([{ id: TOOL_CALL.id, type: 'function', function: { name: 'get_weather', arguments: TOOL_CALL.arguments } }])
    const usage = plain.usage as unknown as { completion_tokens: number; prompt_tokens: number; cost: string; receipt: string }
    expect(BigInt(usage.completion_tokens)).toBe(PREAMBLE_TOKENS + ARGUMENT_TOKENS)
    expect(usage.cost).toBe(CALL_FEE.toString())
    const r = await receipt(usage.receipt)
    expect(r.split.fee).toBe(CALL_FEE.toString())
    expect(r.finishReason).toBe('tool_calls')
    expect(r.outputHash).toBe(answerHash(TOOL_PREAMBLE, [EXPECTED_CALL]))
    // The tools offered count as prompt: more than the question's 7 tokens.
    expect(usage.prompt_tokens).toBe(r.promptTokens)
    expect(usage.prompt_tokens).toBeGreaterThan(7)

    const stream = c.chat.completions.stream({
      model: 'tool-llm',
      messages: [{ role: 'user', content: QUESTION }],
      tools: [WEATHER_TOOL],
      stream_options: { include_usage: true },
    })
    let deltas = 0
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.tool_calls) deltas++
    const final = await stream.finalChatCompletion()
    expect(deltas).toBeGreaterThan(2) // the arguments came in pieces
    expect(final.choices[0].finish_reason).toBe('tool_calls')
    expect(final.choices[0].message.content).toBe(TOOL_PREAMBLE)
    expect(final.choices[0].message.tool_calls?.map((t) => ({ id: t.id, type: t.type, function: t.function }))).toEqual(choice.message.tool_calls)
    const streamedUsage = final.usage as unknown as { cost: string; receipt: string; completion_tokens: number }
    expect(streamedUsage.cost).toBe(CALL_FEE.toString())
    expect((await receipt(streamedUsage.receipt)).split.fee).toBe(CALL_FEE.toString())
    expect(before - (await balance(caller.address))).toBe(2n * CALL_FEE)
  })

  it("the next turn: the assistant's tool_calls and the tool's output reach the backend in OpenAI's wire form", async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const answer = await openai(key).chat.completions.create({
      model: 'tool-llm',
      messages: [
        { role: 'user', content: QUESTION },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: TOOL_CALL.id, type: 'function', function: { name: 'get_weather', arguments: TOOL_CALL.arguments } }],
        },
        { role: 'tool', tool_call_id: TOOL_CALL.id, content: 'sunny' },
      ],
      tools: [WEATHER_TOOL],
    })
    expect(answer.choices[0].message.content).toBe(`${TOOL_ANSWER}sunny`)
    expect(answer.choices[0].finish_reason).toBe('stop')
    expect(answer.choices[0].message.tool_calls).toBeUndefined()
    expect(backend.log.at(-1)!.body.messages).toEqual([
      { role: 'user', content: QUESTION },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: TOOL_CALL.id, type: 'function', function: { name: 'get_weather', arguments: TOOL_CALL.arguments } }],
      },
      { role: 'tool', content: 'sunny', tool_call_id: TOOL_CALL.id },
    ])
  })

  it('the built-in model refuses tools (400 unsupported_tools); a tool message without tool_call_id and tool_choice without tools are refused; nothing charged', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const c = openai(key)
    const builtin = await refusal(
      c.chat.completions.create({ model: 'tool-infinigram', messages: [{ role: 'user', content: QUESTION }], tools: [WEATHER_TOOL] }),
    )
    expect(builtin).toMatchObject({ status: 400, code: 'unsupported_tools' })
    expect(builtin.message).toContain('text only')
    const orphan = await refusal(
      c.chat.completions.create({ model: 'tool-llm', messages: [{ role: 'user', content: QUESTION }, { role: 'tool', content: 'sunny' } as any] }),
    )
    expect(orphan).toMatchObject({ status: 400, code: 'missing_required_parameter' })
    const choice = await refusal(c.chat.completions.create({ model: 'tool-llm', messages: [{ role: 'user', content: QUESTION }], tool_choice: 'required' }))
    expect(choice).toMatchObject({ status: 400, code: 'invalid_value' })
    const badName = await refusal(
      c.chat.completions.create({
        model: 'tool-llm',
        messages: [{ role: 'user', content: QUESTION }],
        tools: [{ type: 'function', function: { name: 'get weather!' } }],
      }),
    )
    expect(badName).toMatchObject({ status: 400, code: 'invalid_value' })
    expect(await balance(caller.address)).toBe(before)
    expect((await http(`${running.url}/v1/apikeys/${hashApiKey(key)}`)).json.calls).toBe('0')
  })
})

describe('the Responses API with function tools', () => {
  const tools = [
    {
      type: 'function' as const,
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: WEATHER_TOOL.function.parameters,
      strict: false,
    },
  ]

  it('responses.create, not streamed and streamed: a function_call item, charged like chat; function_call_output answers it', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const c = openai(key)
    const plain = await c.responses.create({ model: 'tool-llm', input: QUESTION, tools, tool_choice: { type: 'function', name: 'get_weather' } })
    // Passed on as chat completions' tools.
    const sent = backend.log.at(-1)!.body
    expect(sent.tools).toEqual([
      { type: 'function', function: { name: 'get_weather', description: tools[0].description, parameters: tools[0].parameters, strict: false } },
    ])
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } })
    expect(plain.output_text).toBe(TOOL_PREAMBLE)
    const calls = plain.output.filter((o) => o.type === 'function_call')
    expect(calls.map((o) => ({ call_id: o.call_id, name: o.name, arguments: o.arguments }))).toEqual([
      { call_id: TOOL_CALL.id, name: 'get_weather', arguments: TOOL_CALL.arguments },
    ])
    const usage = plain.usage as unknown as { output_tokens: number; cost: string; receipt: string }
    expect(BigInt(usage.output_tokens)).toBe(PREAMBLE_TOKENS + ARGUMENT_TOKENS)
    expect(usage.cost).toBe(CALL_FEE.toString())
    expect((await receipt(usage.receipt)).outputHash).toBe(answerHash(TOOL_PREAMBLE, [EXPECTED_CALL]))

    const stream = await c.responses.create({ model: 'tool-llm', input: QUESTION, tools, stream: true })
    const types: string[] = []
    let args = ''
    let final: any
    for await (const e of stream) {
      types.push(e.type)
      if (e.type === 'response.function_call_arguments.delta') args += e.delta
      if (e.type === 'response.completed') final = e.response
    }
    expect(args).toBe(TOOL_CALL.arguments)
    expect(types).toContain('response.output_text.delta')
    expect(types).toContain('response.function_call_arguments.done')
    expect(types.at(-1)).toBe('response.completed')
    expect(final.output.map((o: any) => o.type)).toEqual(['message', 'function_call'])
    expect(final.usage.cost).toBe(CALL_FEE.toString())
    expect((await receipt(final.usage.receipt)).split.fee).toBe(CALL_FEE.toString())

    // The next turn: the call and its output go back as input items.
    const next = await c.responses.create({
      model: 'tool-llm',
      tools,
      input: [
        { role: 'user', content: QUESTION },
        { type: 'function_call', call_id: TOOL_CALL.id, name: 'get_weather', arguments: TOOL_CALL.arguments },
        { type: 'function_call_output', call_id: TOOL_CALL.id, output: 'rainy' },
      ],
    })
    expect(next.output_text).toBe(`${TOOL_ANSWER}rainy`)
    expect(backend.log.at(-1)!.body.messages).toEqual([
      { role: 'user', content: QUESTION },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: TOOL_CALL.id, type: 'function', function: { name: 'get_weather', arguments: TOOL_CALL.arguments } }],
      },
      { role: 'tool', content: 'rainy', tool_call_id: TOOL_CALL.id },
    ])
    const nextCost = BigInt((next.usage as unknown as { cost: string }).cost)
    expect(before - (await balance(caller.address))).toBe(2n * CALL_FEE + nextCost)
  })

  it('a built-in tool type, and function tools on the built-in model: 400 unsupported_tools, nothing charged', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const before = await balance(caller.address)
    const c = openai(key)
    const search = await refusal(c.responses.create({ model: 'tool-llm', input: QUESTION, tools: [{ type: 'web_search' } as any] }))
    expect(search).toMatchObject({ status: 400, code: 'unsupported_tools' })
    expect(search.message).toContain('web_search')
    const builtin = await refusal(c.responses.create({ model: 'tool-infinigram', input: QUESTION, tools }))
    expect(builtin).toMatchObject({ status: 400, code: 'unsupported_tools' })
    expect(await balance(caller.address)).toBe(before)
  })
})

describe('usage in the last chunk of a stream', () => {
  const body = { model: 'tool-llm', messages: [{ role: 'user', content: 'hello' }] }

  it('only with stream_options.include_usage, and then it matches the receipt', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const without = await rawChunks(key, body)
    expect(without.every((c) => !('usage' in c))).toBe(true)
    const last = without.at(-1)
    expect(last.choices).toEqual([])
    expect(last.sinew.receipt).toMatch(/^0x[0-9a-f]{64}$/)

    const withUsage = await rawChunks(key, { ...body, stream_options: { include_usage: true } })
    const final = withUsage.at(-1)
    expect(final.choices).toEqual([])
    const r = await receipt(final.usage.receipt)
    expect(final.usage).toEqual({
      prompt_tokens: r.promptTokens,
      completion_tokens: r.outputTokens,
      total_tokens: r.promptTokens + r.outputTokens,
      cost: r.split.fee,
      receipt: r.id,
    })
    expect(withUsage.slice(0, -1).every((c) => !('usage' in c))).toBe(true)
  })
})

describe('replay', () => {
  it('sinew receipt verify recomputes a function call’s receipt from the text and the tool_calls', async () => {
    const key = await grantApiKey(running.url, caller.privateKey)
    const { data, response } = await openai(key)
      .chat.completions.create({ model: 'tool-llm', messages: [{ role: 'user', content: QUESTION }], tools: [WEATHER_TOOL] })
      .withResponse()
    const id = response.headers.get('x-sinew-receipt')!
    const output = join(tmp.dir, 'answer.txt')
    const calls = join(tmp.dir, 'tool-calls.json')
    writeFileSync(output, data.choices[0].message.content ?? '')
    writeFileSync(calls, JSON.stringify(data.choices[0].message.tool_calls))
    const ok = await runCli(['receipt', 'verify', id, '--output', output, '--tool-calls', calls, '--node', running.url, '--data-dir', tmp.dir, '--json'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout).ok).toBe(true)
    // Without the calls, the output hash and the token count do not match (the fee is checked from the receipt's own counts).
    const text = await runCli(['receipt', 'verify', id, '--output', output, '--node', running.url, '--data-dir', tmp.dir, '--json'])
    expect(text.code).toBe(1)
    const failed = JSON.parse(text.stdout)
      .checks.filter((c: { ok: boolean }) => !c.ok)
      .map((c: { name: string }) => c.name)
    expect(failed).toEqual(['outputHash', 'outputTokens'])
  })

  it('sinew verify replays every charge, function calls included', async () => {
    const v = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(v.stderr, v.stdout).toBe('')
    expect(JSON.parse(v.stdout).ok).toBe(true)
  })
})
