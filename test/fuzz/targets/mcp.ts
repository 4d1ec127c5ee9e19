/**
 * Target `mcp`: every tool the node's MCP server lists (tools/list at /mcp, so a new tool
 * is fuzzed the day it is registered), called over Streamable HTTP with arguments from its
 * input schema, mutations of them or any JSON; arguments that name things (an address, a
 * task, a Datanet, a model, a receipt) often name real ones, and a write tool's `signedTx`
 * is sometimes a really signed tx of some kind, so the tools' deeper paths run.
 *
 * Checked on top of the node invariants (harness.ts): a tool's error is a typed, catalogued
 * Sinew error or the SDK's argument validation, never `internal` or a code whose status is
 * 5xx; a refused call changes nothing.
 */
import fc from 'fast-check'
import { errorCatalogue, isErrorCode } from '../../../src/core/index.ts'
import { addressOf } from '../../../src/ledger/index.ts'
import { messageOf, mix, Ref, resolveRefs, schemaOrMutation, type JsonSchema, type PoolName } from '../arbitraries.ts'
import { addressesIn, InvariantViolation, request, type Answer, type FuzzTarget } from '../harness.ts'
import { startFuzzNode, type FuzzNode } from '../node-setup.ts'

type Tool = { name: string; inputSchema: JsonSchema }

/** Arguments that usually name a thing of this pool. */
const ARG_POOLS: Record<string, PoolName> = {
  address: 'account',
  poster: 'account',
  worker: 'account',
  task: 'task',
  id: 'receipt',
  datanet: 'datanet',
  model: 'model',
  spec: 'blob',
  specHash: 'blob',
  resultHash: 'blob',
}

export type McpCase = {
  tool: number
  args: unknown
  /** Arguments replaced by a real thing's id (a Ref resolved when the case runs). */
  refs: { name: string; ref: Ref }[]
  /** A really signed tx put in `signedTx`: its kind, signer and honest message. */
  signed: { kind: string; signer: number; message: Record<string, unknown> } | null
  /** The API key of the fuzz node for `chat`, instead of whatever the args say. */
  apiKey: boolean
}

export function mcpCaseArb(
  tools: Tool[],
  kinds: string[],
  typesOf: (kind: string) => Record<string, { name: string; type: string }[]>,
  signers: number,
): fc.Arbitrary<McpCase> {
  return fc.nat({ max: tools.length - 1 }).chain((i) => {
    const schema = tools[i].inputSchema
    const props = Object.keys(schema.properties ?? {})
    const hinted = props.filter((p) => ARG_POOLS[p])
    const refs: fc.Arbitrary<McpCase['refs']> = fc
      .subarray(hinted)
      .chain((names) => fc.tuple(...names.map((name) => fc.nat({ max: 1 << 20 }).map((pick) => ({ name, ref: new Ref(ARG_POOLS[name], pick) })))))
    const signed = props.includes('signedTx')
      ? mix(
          2,
          fc.constant(null),
          1,
          fc.constantFrom(...kinds).chain((kind) =>
            fc.record({
              kind: fc.constant(kind),
              signer: fc.nat({ max: signers - 1 }),
              message: messageOf(kind, typesOf(kind), 'honest').map((m) => m.message),
            }),
          ),
        )
      : fc.constant(null)
    return fc.record({ tool: fc.constant(i), args: schemaOrMutation(schema), refs, signed, apiKey: fc.boolean() })
  })
}

export const mcpTarget: FuzzTarget<McpCase> = {
  name: 'mcp',
  description: "every MCP tool's arguments (from tools/list), schema-shaped, mutated or any JSON, with real ids and signed txs",
  async setup() {
    const f = await startFuzzNode()
    const listed = await callMcp(f.url, 'tools/list', {})
    const tools = ((listed.json as { result?: { tools?: Tool[] } })?.result?.tools ?? []).sort((a, b) => a.name.localeCompare(b.name))
    if (tools.length === 0) throw new InvariantViolation('tools/list answered no tools', { body: listed.text.slice(0, 500) })
    const kinds = Object.keys(f.kinds.kinds).sort()
    return {
      arbitrary: mcpCaseArb(tools, kinds, (k) => f.kinds.kinds[k].types, f.keys.length),
      run: (c) => runMcpCase(f, tools, c),
      close: () => f.close(),
    }
  },
}

let rpcId = 0
export const callMcp = (url: string, method: string, params: unknown): Promise<Answer> =>
  request(url, {
    method: 'POST',
    path: '/mcp',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  })

async function runMcpCase(f: FuzzNode, tools: Tool[], c: McpCase): Promise<string> {
  const tool = tools[c.tool]
  const now = BigInt(Date.now())
  let args = resolveRefs(c.args, f.pools, now)
  if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
    const a = { ...(args as Record<string, unknown>) }
    for (const r of c.refs) a[r.name] = resolveRefs(r.ref, f.pools, now)
    if (c.signed) {
      const key = f.keys[c.signed.signer]
      const message = { ...(resolveRefs(c.signed.message, f.pools, now) as Record<string, unknown>), nonce: f.nonceOf(addressOf(key)).toString() }
      a.signedTx = await f.sign(key, c.signed.kind, message).catch(() => ({ type: c.signed!.kind, message, signature: '0x' }))
    }
    if (tool.name === 'chat' && c.apiKey) a.apiKey = f.apiKey
    args = a
  }
  const touched = addressesIn(args)
  const before = await f.watch.snapshot(touched, { alive: false })
  const what = { tool: tool.name, args }
  const answer = await callMcp(f.url, 'tools/call', { name: tool.name, arguments: args })
  f.watch.checkAnswer(answer, what, { untyped: true })
  const after = await f.watch.snapshot(touched)
  const outcome = toolOutcome(answer, what)
  if (outcome !== 'ok') f.watch.checkUnchanged(before, after, what)
  else if (after.stateRoot !== before.stateRoot) f.watch.checkSupply(what)
  return `${tool.name} ${outcome}`
}

/** `ok`, or the refusal's name: a catalogued code, `invalid_params` (the SDK's argument check) or a JSON-RPC error code. */
function toolOutcome(a: Answer, what: unknown): string {
  const body = a.json as {
    result?: { isError?: boolean; structuredContent?: { error?: { code?: string } }; content?: { text?: string }[] }
    error?: { code: number }
  }
  if (a.status >= 400 || !body) return `http ${a.status}`
  // -32603 is JSON-RPC's "Internal error": the node failing, never the caller's fault.
  if (body.error?.code === -32603)
    throw new InvariantViolation('a tools/call answered JSON-RPC -32603 Internal error', { request: what, body: a.text.slice(0, 1000) })
  if (body.error) return `rpc ${body.error.code}`
  if (!body.result?.isError) return 'ok'
  const code = body.result.structuredContent?.error?.code
  if (code === undefined) {
    const text = body.result.content?.[0]?.text ?? ''
    if (/^MCP error -32602/.test(text)) return 'invalid_params'
    throw new InvariantViolation('a tool error without a typed error', { request: what, body: a.text.slice(0, 1000) })
  }
  if (!isErrorCode(code)) throw new InvariantViolation(`tool error code ${code} is not in the catalogue`, { request: what })
  if (errorCatalogue[code].status >= 500)
    throw new InvariantViolation(`a tool answered ${code} (a ${errorCatalogue[code].status})`, { request: what, body: a.text.slice(0, 2000) })
  return code
}
