/**
 * Target `http`: every operation of the node's OpenAPI document (GET /openapi.json, so a
 * new route is fuzzed the day it is added), plus the OpenAI-compatible routes whose bodies
 * the document leaves open: path parameters that name real things or hostile strings,
 * query strings from each parameter's schema or mutated (unknown keys, repeated keys, bad
 * encodings), bodies that fit the route's schema, mutations of them, or raw junk (deep
 * nesting, prototype keys, wrong content types), with or without an API key.
 *
 * Checked (harness.ts): no 5xx, every error typed and catalogued with its status, and a
 * refused request (any 4xx) leaves the head and the touched accounts as they were.
 */
import fc from 'fast-check'
import { hostileString, mix, rawBody, ref, resolveRefs, schemaOrMutation, type JsonSchema, type PoolName, type RawBody, type Ref } from '../arbitraries.ts'
import { addressesIn, encodeSegment, outcomeOf, request, type FuzzTarget } from '../harness.ts'
import { startFuzzNode, type FuzzNode } from '../node-setup.ts'

type Param = { name: string; in: 'path' | 'query' | 'header'; schema?: JsonSchema }
export type Operation = { method: string; path: string; params: Param[]; body?: JsonSchema; openai?: boolean }

/** The OpenAI-compatible routes read bodies the OpenAPI document does not describe: their shape, as OpenAI documents it. */
const messageSchema: JsonSchema = {
  type: 'object',
  properties: { role: { enum: ['system', 'user', 'assistant', 'tool', 'developer', 'wizard'] }, content: { type: ['string', 'array', 'null'] } },
  required: ['role', 'content'],
}
const OPENAI_BODIES: Record<string, JsonSchema> = {
  '/v1/chat/completions': {
    type: 'object',
    properties: {
      model: { type: 'string' },
      messages: { type: 'array', items: messageSchema, maxItems: 4 },
      max_tokens: { type: 'integer', minimum: -1, maximum: 100_000 },
      stream: { type: 'boolean' },
      temperature: { type: 'number', minimum: -1, maximum: 3 },
      user: { type: 'string' },
    },
    required: ['model', 'messages'],
  },
  '/v1/completions': {
    type: 'object',
    properties: {
      model: { type: 'string' },
      prompt: { type: ['string', 'array'], items: { type: 'string' } },
      max_tokens: { type: 'integer', minimum: -1, maximum: 100_000 },
      stream: { type: 'boolean' },
    },
    required: ['model', 'prompt'],
  },
}

/** Every operation in an OpenAPI 3 document. */
export function operationsOf(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const ops: Operation[] = []
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      const body = op.requestBody?.content?.['application/json']?.schema ?? OPENAI_BODIES[path]
      ops.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], body, openai: path in OPENAI_BODIES })
    }
  }
  return ops.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`))
}

/** Which pool a path parameter usually names, by its name and route. */
function poolFor(path: string, name: string): PoolName | undefined {
  if (name === 'hash') return 'txHash'
  if (name === 'address') return 'account'
  if (name === 'n') return 'version'
  if (name === 'keyHash') return 'keyHash'
  if (name === 'model') return 'model'
  if (name === 'sha256') return 'blob'
  if (name === 'id')
    return path.startsWith('/v1/datanets')
      ? 'datanet'
      : path.startsWith('/v1/contributions')
        ? 'contribution'
        : path.startsWith('/v1/tasks')
          ? 'task'
          : 'receipt'
  return undefined
}

/** A path segment: a real thing's id, a schema value, or hostile (percent-encoded, or raw where the bytes allow). */
const segment = (pool: PoolName | undefined, schema: JsonSchema | undefined): fc.Arbitrary<{ value: unknown; raw: boolean }> =>
  fc.oneof(
    { weight: pool ? 4 : 0, arbitrary: (pool ? ref(pool) : fc.constant('x')).map((value) => ({ value, raw: false })) },
    {
      weight: 2,
      arbitrary: schemaOrMutation(schema).map((value) => ({ value: typeof value === 'string' ? value : (JSON.stringify(value) ?? ''), raw: false })),
    },
    { weight: 2, arbitrary: hostileString(60).map((value) => ({ value, raw: false })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('..', '.', '%2e%2e', '%2F', '%00', '%', '%zz', '0x', '-1', '1e3', '00', '%E2%80%AE', '..%2F..%2Fetc%2Fpasswd', 'a;b', 'a?b=c')
        .map((value) => ({ value, raw: true })),
    },
  )

export type HttpCase = {
  op: number
  path: { value: unknown; raw: boolean }[]
  query: { key: string; value: unknown }[]
  body: { json: unknown } | RawBody | null
  auth: 'none' | 'fuzz' | 'junk'
}

export function httpCaseArb(ops: Operation[]): fc.Arbitrary<HttpCase> {
  return fc.nat({ max: ops.length - 1 }).chain((i) => {
    const op = ops[i]
    const pathParams = op.params.filter((p) => p.in === 'path')
    const queryParams = op.params.filter((p) => p.in === 'query')
    const known = queryParams.length > 0 ? fc.constantFrom(...queryParams) : fc.constant(undefined)
    const queryItem = fc.oneof(
      {
        weight: 4,
        arbitrary: known.chain((p) => (p ? schemaOrMutation(p.schema).map((value) => ({ key: p.name, value })) : fc.constant({ key: 'x', value: '1' }))),
      },
      {
        weight: 1,
        arbitrary: fc.record({ key: mix(3, hostileString(12), 1, fc.constantFrom('__proto__', 'constructor', 'limit[]', 'a[b]')), value: hostileString(40) }),
      },
    )
    const body = op.body
      ? fc.oneof(
          { weight: 6, arbitrary: schemaOrMutation(op.body).map((json): HttpCase['body'] => ({ json })) },
          { weight: 2, arbitrary: rawBody() as fc.Arbitrary<HttpCase['body']> },
          { weight: 1, arbitrary: fc.constant<HttpCase['body']>(null) },
        )
      : mix(6, fc.constant<HttpCase['body']>(null), 1, rawBody())
    return fc.record({
      op: fc.constant(i),
      path: fc.tuple(...pathParams.map((p) => segment(poolFor(op.path, p.name), p.schema))),
      query: fc.array(queryItem, { maxLength: 4 }),
      body,
      auth: fc.constantFrom('none' as const, 'fuzz' as const, 'junk' as const),
    })
  })
}

const encodeQueryValue = (v: unknown): string => encodeSegment(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))

/** The request line's path and query of a case, resolved against the node's pools now. */
export function urlOf(op: Operation, c: HttpCase, f: FuzzNode): string {
  let i = 0
  const path = op.path.replace(/\{[^}]+\}/g, () => {
    const seg = c.path[i++]
    const v = resolveRefs(seg.value as Ref | string, f.pools, BigInt(Date.now()))
    const s = typeof v === 'string' ? v : String(v)
    return seg.raw ? s : encodeSegment(s)
  })
  const query = c.query.map((q) => `${encodeSegment(q.key)}=${encodeQueryValue(resolveRefs(q.value, f.pools, 0n))}`).join('&')
  return query ? `${path}?${query}` : path
}

export const httpTarget: FuzzTarget<HttpCase> = {
  name: 'http',
  description: "every OpenAPI operation's path params, query and body (from /openapi.json), schema-shaped, mutated or junk",
  async setup() {
    const f = await startFuzzNode()
    const doc = (await request(f.url, { method: 'GET', path: '/openapi.json' })).json as { paths: Record<string, Record<string, any>> }
    const ops = operationsOf(doc)
    return {
      arbitrary: httpCaseArb(ops),
      run: (c) => runHttpCase(f, ops, c),
      close: () => f.close(),
    }
  },
}

async function runHttpCase(f: FuzzNode, ops: Operation[], c: HttpCase): Promise<string> {
  const op = ops[c.op]
  const url = urlOf(op, c, f)
  const headers: Record<string, string> = {}
  if (c.auth === 'fuzz') headers.authorization = `Bearer ${f.apiKey}`
  if (c.auth === 'junk') headers.authorization = 'Bearer sk-sinew-not-a-key'
  let body: string | undefined
  if (c.body && 'json' in c.body) {
    const resolved = resolveRefs(c.body.json, f.pools, BigInt(Date.now()))
    body = JSON.stringify(resolved) ?? 'null'
    headers['content-type'] = 'application/json'
  } else if (c.body) {
    body = c.body.raw
    headers['content-type'] = c.body.contentType
  }
  if (op.path === '/mcp') headers.accept = 'application/json, text/event-stream'
  const touched = addressesIn([url, body])
  const before = await f.watch.snapshot(touched, { alive: false })
  const what = { method: op.method, url: url.slice(0, 500), body: body?.slice(0, 500), auth: c.auth }
  const answer = await request(f.url, { method: op.method, path: url, headers, body })
  // /mcp speaks JSON-RPC: its transport errors are the MCP SDK's, not the catalogue's.
  f.watch.checkAnswer(answer, what, { openai: op.openai, untyped: op.path === '/mcp' })
  const after = await f.watch.snapshot(touched)
  if (answer.status >= 400) f.watch.checkUnchanged(before, after, what)
  else if (after.stateRoot !== before.stateRoot) f.watch.checkSupply(what)
  return `${op.method} ${op.path} ${outcomeOf(answer)}`
}
