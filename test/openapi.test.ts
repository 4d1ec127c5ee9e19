/**
 * The OpenAPI document a client can be generated from, checked three ways on a live node:
 * - it is valid OpenAPI 3.0 (swagger-parser);
 * - every operation is called, with real data behind it (a Datanet version, a model and
 *   paid calls, agents and a task, a replica), and each answer is validated against the
 *   schema the document gives for its status: a field the document lacks fails the test,
 *   so the document cannot drift from what the node answers;
 * - openapi-typescript's types of it are the committed src/client/openapi-types.ts, and a
 *   small client of them type-checks (tsc), with no operation whose answer is `unknown`.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Ajv, type ValidateFunction } from 'ajv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openapiTypes, TYPES_FILE } from '../scripts/openapi-types.ts'
import { createApiClient } from '../src/client/index.ts'
import { sha256, type Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, permitHeader, publishDatanetVersion, type DatanetsClient } from './datanets-fixtures.ts'
import { DOCS } from './gateway-fixtures.ts'
import { dev, repoRoot, startDevNode, startReplica, tempDir, waitFor } from './helpers.ts'

const SIN = 10n ** 18n
let node: RunningNode
let replica: RunningNode
let tmp: ReturnType<typeof tempDir>
let replicaTmp: ReturnType<typeof tempDir>
let url: string
let c: DatanetsClient
let doc: any

const datanetOwner = dev[2]
const modelOwner = dev[3]
const poster = dev[3]
const worker = dev[4]
const caller = dev[0]
const authors = [dev[5], dev[6], dev[7]]
let datanet: Hex
let ids: Record<string, Hex>
let pending: Hex
let apiKey: string
let receiptId: Hex
let taskId: Hex
let transferHash: Hex
const SPEC = 'Summarise the lighthouse keeper story in one line.'

// ---------- calling the node and checking each answer against the document ----------

type Validators = Map<string, ValidateFunction>
const validators = new Map<string, Validators>()
/** Operations answered with a success, by `METHOD /template`. */
const covered = new Set<string>()

/** An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes "or null" (ajv reads `nullable` only beside `type`). */
function jsonSchema(schema: unknown, seen = new WeakMap<object, unknown>()): unknown {
  if (Array.isArray(schema)) return schema.map((s) => jsonSchema(s, seen))
  if (schema === null || typeof schema !== 'object') return schema
  const done = seen.get(schema)
  if (done) return done
  const { nullable, ...rest } = schema as Record<string, unknown>
  const out: Record<string, unknown> = {}
  const result = nullable === true ? { anyOf: [out, { type: 'null' }] } : out
  seen.set(schema, result)
  for (const [k, v] of Object.entries(rest))
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, jsonSchema(s, seen)])) : jsonSchema(v, seen)
  if (nullable === true && Array.isArray(out.enum) && out.enum.includes(null)) return { enum: out.enum }
  return result
}

/** Every response schema of a (dereferenced) document, compiled: key `METHOD /template STATUS content-type`. */
async function compile(raw: object): Promise<Validators> {
  const deref: any = await SwaggerParser.dereference(structuredClone(raw) as any)
  // OpenAPI 3.0 schemas: `nullable` is a keyword; `format: binary` bodies are not JSON and are not compiled.
  const ajv = new Ajv({ strict: false, allErrors: true })
  const out: Validators = new Map()
  for (const [template, item] of Object.entries<any>(deref.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) {
        for (const [type, media] of Object.entries<any>(response.content ?? {})) {
          if (type !== 'application/json') continue
          out.set(`${method.toUpperCase()} ${template} ${status} ${type}`, ajv.compile(jsonSchema(media.schema) as object))
        }
      }
    }
  }
  return out
}

/** The documented template a concrete path matches. */
function templateOf(d: any, path: string): string {
  const bare = path.split('?')[0]
  for (const template of Object.keys(d.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`)
    if (re.test(bare)) return template
  }
  throw new Error(`no documented path matches ${bare}`)
}

type Call = { method?: string; body?: unknown; raw?: Buffer | string; headers?: Record<string, string>; base?: string }

/**
 * Calls the node, checks the status, and validates a JSON answer against the schema the
 * document gives for that operation and status; returns the parsed answer.
 */
async function check(path: string, status: number, call: Call = {}): Promise<any> {
  const base = call.base ?? url
  const d = base === url ? doc : replicaDoc
  const method = call.method ?? (call.body === undefined && call.raw === undefined ? 'GET' : 'POST')
  const headers = { ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}), ...call.headers }
  const response = await fetch(base + path, { method, headers, body: call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body)) })
  const text = await response.text()
  const template = templateOf(d, path)
  expect(response.status, `${method} ${path}: ${text.slice(0, 300)}`).toBe(status)
  const type = (response.headers.get('content-type') ?? '').split(';')[0]
  const documented = d.paths[template][method.toLowerCase()].responses[String(status)]
  expect(documented, `${method} ${template} documents ${status}`).toBeDefined()
  if (status < 300) covered.add(`${base === url ? '' : 'replica '}${method} ${template}`)
  if (text === '') {
    expect(documented.content, `${method} ${template} ${status} documents no body`).toBeUndefined()
    return text
  }
  if (type !== 'application/json') {
    expect(Object.keys(documented.content ?? {}), `${method} ${template} ${status} documents ${type}`).toContain(type)
    return text
  }
  const validate = validators.get(base === url ? 'node' : 'replica')!.get(`${method} ${template} ${status} application/json`)
  expect(validate, `${method} ${template} ${status} has a JSON schema`).toBeDefined()
  const body = JSON.parse(text)
  const ok = validate!(body)
  expect(ok, `${method} ${path} ${status} answers what the document says: ${JSON.stringify(validate!.errors?.slice(0, 3))}\n${text.slice(0, 500)}`).toBe(true)
  return body
}

let replicaDoc: any

async function submit(key: Hex, type: string, message: Record<string, unknown>) {
  return check('/v1/tx', 200, { body: await c.sign(key, type, message) })
}

beforeAll(async () => {
  tmp = tempDir('sinew-openapi-')
  node = await startDevNode(tmp.dir)
  url = node.url
  doc = await (await fetch(`${url}/openapi.json`)).json()
  validators.set('node', await compile(doc))
  c = await datanetsClient(url)
  ;({ datanet, ids } = await publishDatanetVersion(url, {
    owner: datanetOwner.privateKey,
    name: 'OpenAPI Tales',
    stake: SIN,
    docs: DOCS.map((d, i) => ({ key: d.key, text: d.text, author: authors[i].privateKey })),
  }))
  // A model over the version, an API key, and a paid call: a receipt.
  await submit(modelOwner.privateKey, 'RegisterModel', {
    name: 'openapi-infinigram',
    description: 'test',
    backend: 'builtin:infinigram',
    datanets: [`${datanet}@1`],
    pricePerMillion: '1000',
    contributorShareBps: '5000',
  })
  apiKey = `sk-sinew-openapi-test-${'0'.repeat(20)}`
  const { keccak256 } = await import('../src/core/index.ts')
  await submit(caller.privateKey, 'GrantApiKey', { keyHash: keccak256(apiKey), label: 'openapi', spendLimit: '0', expiresAt: '0' })
  // An agent, and a task taken through to an accepted result.
  await submit(worker.privateKey, 'RegisterAgent', { name: 'openapi-worker', description: 'summaries', capabilities: ['summarize'], endpoint: '' })
  const posted = await submit(poster.privateKey, 'PostTask', {
    title: 'one line',
    specHash: sha256(SPEC),
    reward: SIN.toString(),
    deadline: (BigInt(Date.now()) + 3_600_000n).toString(),
    leaseMs: '600000',
    claimStake: '0',
    verifiers: [],
    threshold: '0',
  })
  taskId = posted.receipt.result.task
  await submit(worker.privateKey, 'ClaimTask', { task: taskId, stake: '0' })
  await submit(worker.privateKey, 'SubmitResult', { task: taskId, resultHash: sha256('The keeper counts gulls.') })
  await submit(poster.privateKey, 'VerifyResult', { task: taskId, accept: true })
  // A replica following it (its status and its pass-through of the OpenAI-compatible routes).
  replicaTmp = tempDir('sinew-openapi-replica-')
  replica = await startReplica(replicaTmp.dir, url)
  replicaDoc = await (await fetch(`${replica.url}/openapi.json`)).json()
  validators.set('replica', await compile(replicaDoc))
}, 120_000)

afterAll(async () => {
  await replica?.close()
  await node?.close()
  tmp?.cleanup()
  replicaTmp?.cleanup()
})

describe('/openapi.json', () => {
  it('is valid OpenAPI 3.0.3, and every operation documents its answer and its errors', async () => {
    expect(doc.openapi).toBe('3.0.3')
    await SwaggerParser.validate(structuredClone(doc))
    await SwaggerParser.validate(structuredClone(replicaDoc))
    for (const [template, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const statuses = Object.keys(op.responses)
        const success = statuses.filter((s) => s.startsWith('2'))
        expect(success.length, `${method} ${template} documents a success`).toBeGreaterThan(0)
        for (const s of success) {
          const content = op.responses[s].content
          // A documented answer with a body has a schema that says something (not `{}`, which is `unknown`).
          for (const [type, media] of Object.entries<any>(content ?? {})) {
            expect(Object.keys(media.schema ?? {}).length, `${method} ${template} ${s} ${type} has a schema`).toBeGreaterThan(0)
          }
        }
        // Every route can be refused (Host/Origin) and can fail (internal): errors are documented.
        expect(statuses, `${method} ${template}`).toEqual(expect.arrayContaining(['403', '500']))
        for (const s of statuses.filter((x) => Number(x) >= 400)) {
          const schema = op.responses[s].content['application/json'].schema
          const ref = schema.$ref ?? schema.anyOf?.map((x: any) => x.$ref).join('|')
          // The OpenAI-compatible routes answer OpenAI error objects; the MCP transport, JSON-RPC errors.
          const expected =
            template.startsWith('/v1/models') || template.endsWith('completions') || template === '/v1/responses' || template === '/v1/usage'
              ? 'OpenAIError'
              : template === '/mcp'
                ? '(Error|JsonRpcError)'
                : 'Error'
          expect(ref, `${method} ${template} ${s}`).toMatch(new RegExp(`#/components/schemas/${expected}\\b`))
          // A Sinew or OpenAI error lists the catalogue codes it can carry (a JSON-RPC error has none).
          if (ref !== '#/components/schemas/JsonRpcError') {
            expect(op.responses[s].description, `${method} ${template} ${s} lists its codes`).toMatch(/`[a-z_]+`: /)
          }
        }
      }
    }
  })

  it('describes what every route answers: each is called and its answer validated against the document', async () => {
    // Errors and ledger.
    const catalogue = await check('/v1/errors', 200)
    expect(catalogue.errors.length).toBeGreaterThan(50)
    const nonce = (await check(`/v1/accounts/${caller.address}`, 200)).nonce
    const transfer = await c.sign(caller.privateKey, 'Transfer', { to: dev[9].address, amount: '5' })
    transferHash = (await check('/v1/tx', 200, { body: transfer })).hash
    const batch = await check('/v1/txs', 200, { body: { txs: [await c.sign(caller.privateKey, 'Transfer', { to: dev[9].address, amount: '6' }), transfer] } })
    expect(batch.results.map((r: any) => r.ok)).toEqual([true, false])
    expect(BigInt((await check(`/v1/accounts/${caller.address}`, 200)).nonce)).toBe(BigInt(nonce) + 2n)
    const tx = await check(`/v1/tx/${transferHash}`, 200)
    await check(`/v1/blocks/latest?txs=full`, 200)
    await check(`/v1/blocks/${tx.height}`, 200)
    await check(`/v1/blocks?from=0&limit=3&txs=full`, 200)
    await check(`/v1/proof/${caller.address}`, 200)
    await check(`/v1/proof/${encodeURIComponent('sys/params')}`, 200)
    await check('/v1/types', 200)
    await check('/v1/genesis', 200)
    await check('/v1/status', 200)
    await check(`/v1/tx/0x${'00'.repeat(32)}`, 404)
    await check('/v1/tx/0x12', 400)
    await check('/v1/tx', 400, { body: { ...transfer, gas: '1' } })

    // Datanets: blobs, contributions (one pending, flagged as a near duplicate), versions, search.
    const text = `${DOCS[0].text} Again, the lighthouse keeper counted seventeen gulls on the northern rail.`
    const bytes = Buffer.from(text)
    const contribute = await c.sign(dev[8].privateKey, 'Contribute', {
      datanet,
      contentHash: sha256(bytes),
      title: 'a near copy',
      mediaType: 'text/plain',
      size: String(bytes.length),
    })
    const stored = await check('/v1/blobs', 201, {
      method: 'PUT',
      raw: bytes,
      headers: { 'content-type': 'application/octet-stream', ...permitHeader(contribute) },
    })
    expect(
      await check('/v1/blobs', 200, { method: 'PUT', raw: bytes, headers: { 'content-type': 'application/octet-stream', ...permitHeader(contribute) } }),
    ).toMatchObject({
      created: false,
    })
    pending = (await check(`/v1/datanets/${datanet}/contributions`, 200, { body: contribute })).contribution
    await check('/v1/blobs', 401, { method: 'PUT', raw: 'no permit', headers: { 'content-type': 'application/octet-stream' } })
    await check(`/v1/blobs/policy?account=${dev[8].address}`, 200)
    expect(await check(`/v1/blobs/${stored.sha256}`, 200)).toBe(text)
    expect(await check(`/v1/blobs/${stored.sha256}`, 206, { headers: { range: 'bytes=0-9' } })).toBe(text.slice(0, 10))
    await check(`/v1/blobs/${stored.sha256}`, 304, { headers: { 'if-none-match': `"${stored.sha256}"` } })
    await check(`/v1/blobs/${stored.sha256}`, 416, { headers: { range: 'bytes=99999-' } })
    await check(`/v1/blobs/${'0'.repeat(64)}`, 404)
    await check('/v1/datanets?q=tales', 200)
    await check(`/v1/datanets/${datanet}`, 200)
    await check(`/v1/datanets/${encodeURIComponent('OpenAPI Tales')}/contributions?status=accepted`, 200)
    const queue = await check(`/v1/datanets/${datanet}/queue`, 200)
    expect(queue.contributions.map((x: any) => x.id)).toEqual([pending])
    expect(queue.contributions[0].nearDuplicate).toBeDefined()
    await check(`/v1/datanets/${datanet}/contributors`, 200)
    await check(`/v1/datanets/${datanet}/versions`, 200)
    await check(`/v1/datanets/${datanet}/versions/1`, 200)
    await check(`/v1/datanets/${datanet}/versions/1/build`, 200, { method: 'POST' })
    await check(`/v1/datanets/${datanet}/versions/1/search?q=${encodeURIComponent('lighthouse keeper')}`, 200)
    await check(`/v1/contributions/${pending}`, 200)
    await check(`/v1/contributions/${ids.alpha}`, 200)
    await check('/v1/datanets/Nope', 404)

    // Models: the OpenAI-compatible calls (JSON and a stream), the receipt, earnings, keys.
    const auth = { authorization: `Bearer ${apiKey}` }
    await check('/v1/models', 200)
    await check('/v1/models/openapi-infinigram', 200)
    await check('/v1/models/nope', 404)
    const chat = await check('/v1/chat/completions', 200, {
      body: { model: 'openapi-infinigram', messages: [{ role: 'user', content: 'The lighthouse keeper' }], max_tokens: 8, seed: 1 },
      headers: auth,
    })
    receiptId = chat.sinew.receipt
    await check('/v1/completions', 200, { body: { model: 'openapi-infinigram', prompt: 'Copper kettles', max_tokens: 8, seed: 1 }, headers: auth })
    const stream = await check('/v1/chat/completions', 200, {
      body: { model: 'openapi-infinigram', messages: [{ role: 'user', content: 'Copper kettles' }], max_tokens: 4, seed: 1, stream: true },
      headers: auth,
    })
    expect(stream).toMatch(/data: \[DONE\]\n\n$/)
    // No API key on a dev network: x402's 402 with PAYMENT-REQUIRED (docs/x402.md).
    await check('/v1/chat/completions', 402, { body: { model: 'openapi-infinigram', messages: [{ role: 'user', content: 'x' }] } })
    await check('/v1/chat/completions', 400, { body: { model: 'openapi-infinigram' }, headers: auth })
    await check('/v1/responses', 200, { body: { model: 'openapi-infinigram', input: 'The lighthouse keeper', max_output_tokens: 8 }, headers: auth })
    const events = await check('/v1/responses', 200, {
      body: { model: 'openapi-infinigram', input: 'Copper kettles', max_output_tokens: 4, stream: true },
      headers: auth,
    })
    expect(events).toMatch(/event: response\.(completed|incomplete)\n/)
    await check('/v1/responses', 400, { body: { model: 'openapi-infinigram', input: [{ type: 'nope' }] }, headers: auth })
    await waitFor(
      async () => (await fetch(`${url}/v1/receipts/${receiptId}`)).status,
      (s) => s === 200,
    )
    await check(`/v1/receipts/${receiptId}`, 200)
    await check(`/v1/accounts/${authors[0].address}/earnings`, 200)
    await check(`/v1/accounts/${caller.address}/earnings`, 200)
    await check(`/v1/accounts/${caller.address}/delegations`, 200)
    await check(`/v1/accounts/${caller.address}/txs?limit=2`, 200)
    await check('/v1/registry/models', 200)
    const { keccak256 } = await import('../src/core/index.ts')
    await check(`/v1/apikeys/${keccak256(apiKey)}`, 200)
    await check(`/v1/apikeys?owner=${caller.address.toLowerCase()}`, 200)
    await check('/v1/usage', 200, { headers: auth })
    await check('/v1/usage', 401)

    // Agents and tasks.
    await check('/v1/agents?capability=summarize', 200)
    await check(`/v1/agents/${worker.address}`, 200)
    await check(`/v1/agents/${dev[9].address}`, 404)
    await check(`/v1/tasks?spec=${sha256(SPEC)}`, 200)
    await check('/v1/tasks?status=accepted', 200)
    await check(`/v1/tasks/${taskId}`, 200)

    // MCP and the agent card.
    const mcpHeaders = { accept: 'application/json, text/event-stream' }
    const init = await check('/mcp', 200, {
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'openapi-test', version: '1' } },
      },
      headers: mcpHeaders,
    })
    expect(init.result.serverInfo.name).toBe('sinew')
    await check('/mcp', 200, { body: { jsonrpc: '2.0', id: 2, method: 'tools/list' }, headers: mcpHeaders })
    await check('/.well-known/agent-card.json', 200)
    const a2aError = await check('/a2a', 200, {
      body: { jsonrpc: '2.0', id: 3, method: 'GetTask', params: { id: '0x' + 'ab'.repeat(32) } },
      headers: { 'a2a-version': '1.0' },
    })
    expect(a2aError.error.code).toBe(-32001)

    // The replica: its status, and the OpenAI-compatible routes it passes to the leader.
    const leaderHeight = (await check('/v1/status', 200)).height
    await waitFor(
      async () => (await fetch(`${replica.url}/v1/status`)).json(),
      (s: any) => s.height === leaderHeight,
    )
    const status = await check('/v1/status', 200, { base: replica.url })
    expect(status.replica.following).toBe(url)
    await check('/v1/models', 200, { base: replica.url })

    const documented = new Set<string>()
    for (const [template, item] of Object.entries<any>(doc.paths)) for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${template}`)
    expect([...documented].filter((op) => !covered.has(op))).toEqual([])
  })

  // tsc over the whole generated client is CPU-bound: close to a minute on a busy 2-core CI machine.
  it('gives openapi-typescript the committed types, and a client of them type-checks with no answer typed unknown', async () => {
    const types = await openapiTypes(doc)
    expect(types === readFileSync(TYPES_FILE, 'utf8'), 'src/client/openapi-types.ts is stale: run npm run openapi:types').toBe(true)
    const dir = mkdtempSync(join(tmpdir(), 'sinew-openapi-tsc-'))
    try {
      const client = join(repoRoot, 'src/client/index.ts')
      writeFileSync(join(dir, 'generated.ts'), types)
      writeFileSync(join(dir, 'use.ts'), usage(client))
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2023', 'DOM'],
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            allowImportingTsExtensions: true,
            noEmit: true,
            skipLibCheck: true,
            typeRoots: [join(repoRoot, 'node_modules/@types')],
            types: ['node'],
          },
          files: ['use.ts'],
        }),
      )
      const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc')
      const run = await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch((e) => e)
      expect(`${run.stdout ?? ''}${run.stderr ?? ''}`, 'tsc output').toBe('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 240_000)

  it('the client calls the node with typed paths, parameters and answers', async () => {
    const api = createApiClient(url)
    const status = await api.get('/v1/status')
    expect(status.role).toBe('sequencer')
    const tx = await api.get('/v1/tx/{hash}', { path: { hash: transferHash } })
    expect([tx.hash, tx.type, tx.receipt.sender]).toEqual([transferHash, 'Transfer', caller.address])
    const found = await api.get('/v1/datanets', { query: { q: 'tales', limit: 1 } })
    expect(found.datanets.map((d) => d.id)).toEqual([datanet])
    const proof = await api.get('/v1/proof/{key}', { path: { key: `acct/${caller.address}` } })
    expect(proof.key).toBe(`acct/${caller.address}`)
    const ack = await api.post('/v1/tx', { body: await c.sign(caller.privateKey, 'Transfer', { to: dev[9].address, amount: '7' }) })
    expect(ack.receipt.result).toEqual({ from: caller.address, to: dev[9].address, amount: '7' })
    const refused = await api.get('/v1/tx/{hash}', { path: { hash: `0x${'00'.repeat(32)}` } }).catch((e) => e)
    expect([refused.code, refused.status]).toEqual(['not_found', 404])
  })
})

/** A small program over the client: typed calls, and the check that no operation answers `unknown`. */
function usage(client: string): string {
  return `import { createApiClient, type paths } from ${JSON.stringify(client)}
import type { paths as generated } from './generated.ts'

// The client's types are the generated ones.
export const same: [paths] extends [generated] ? ([generated] extends [paths] ? true : false) : false = true

type Method = 'get' | 'post' | 'put' | 'delete' | 'patch'
type SuccessBody<O> = O extends { responses: infer R } ? { [S in keyof R]: S extends 200 | 201 | 206 ? (R[S] extends { content: infer C } ? C[keyof C] : never) : never }[keyof R] : never
/** The operations whose success answer is typed \`unknown\` (no schema), as "method /path". */
type UnknownAnswers<P> = {
  [K in keyof P]: { [M in Method & keyof P[K]]: [NonNullable<P[K][M]>] extends [never] ? never : unknown extends SuccessBody<NonNullable<P[K][M]>> ? \`\${M} \${K & string}\` : never }[Method & keyof P[K]]
}[keyof P]
export const everyAnswerIsTyped: [UnknownAnswers<generated>] extends [never] ? true : UnknownAnswers<generated> = true
// The check catches an operation without an answer schema:
type Untyped = { '/x': { get: { responses: { 200: { content: { 'application/json': unknown } } } } } }
// @ts-expect-error
export const caught: [UnknownAnswers<Untyped>] extends [never] ? true : UnknownAnswers<Untyped> = true

export async function use(api = createApiClient('http://127.0.0.1:1')) {
  const status = await api.get('/v1/status')
  const height: string = status.height
  // @ts-expect-error a height is a decimal string
  const asNumber: number = status.height
  const tx = await api.get('/v1/tx/{hash}', { path: { hash: status.headHash } })
  const sender: string = tx.receipt.sender
  // @ts-expect-error the path parameter is required
  await api.get('/v1/tx/{hash}')
  const ack = await api.post('/v1/tx', { body: { type: 'Transfer', message: { to: sender, amount: '1', nonce: '0' }, signature: '0x' } })
  const index: number = ack.index
  // @ts-expect-error a tx needs its signature
  await api.post('/v1/tx', { body: { type: 'Transfer', message: {} } })
  // @ts-expect-error no such route
  await api.get('/v1/nothing')
  const found = await api.get('/v1/datanets', { query: { q: 'tales', limit: 5 } })
  const versions: number = found.datanets[0].versions
  const task = await api.get('/v1/tasks/{id}', { path: { id: status.headHash } })
  const claimable: boolean = task.claimable
  const chat = await api.post('/v1/chat/completions', { body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, headers: { authorization: 'Bearer k' } })
  const receipt: string = chat.sinew.receipt
  const catalogue = await api.get('/v1/errors')
  const code: 'not_found' | (string & {}) = catalogue.errors[0].code
  return { height, asNumber, index, versions, claimable, receipt, code }
}
`
}
