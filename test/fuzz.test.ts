/**
 * The fuzz targets of test/fuzz/ at a fixed seed and a few cases each, so CI replays the
 * same cases every time (bench/fuzz.ts runs them at full size, docs/fuzz.md has the
 * figures), and the defects the fuzzer found, each as its own regression test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { errorCode, request, runTarget } from './fuzz/harness.ts'
import { callMcp } from './fuzz/targets/mcp.ts'
import { fuzzTargets } from './fuzz/targets/index.ts'
import { startDevNode, tempDir } from './helpers.ts'

/** The seed CI replays; a failure prints the replay command with its path. */
const SEED = 20261202
const RUNS: Record<string, number> = { tx: 60, http: 80, mcp: 60, blobs: 25, index: 80 }

describe('fuzz, fixed seed: no crash, no 5xx, no state change on a refusal', () => {
  for (const target of fuzzTargets) {
    it(`${target.name}: ${target.description}`, { timeout: 180_000 }, async () => {
      const report = await runTarget(target, { numRuns: RUNS[target.name] ?? 50, seed: SEED })
      expect(report.failure?.error ?? '', report.failure ? `${report.failure.counterexample}\nReplay: ${report.failure.replay}` : '').toBe('')
      expect(report.cases).toBe(report.numRuns)
    })
  }
})

describe('defects the fuzzer found', () => {
  let t: ReturnType<typeof tempDir>
  let node: RunningNode
  beforeAll(async () => {
    t = tempDir()
    node = await startDevNode(t.dir)
  })
  afterAll(async () => {
    await node.close()
    t.cleanup()
  })

  it("a path parameter over 100 characters is 414 path_param_too_long, and a URL that does not decode is 400 bad_request: typed errors, not fastify's own", async () => {
    const long = await request(node.url, { method: 'GET', path: `/v1/accounts/${'a'.repeat(101)}` })
    expect(long.status).toBe(414)
    expect(errorCode(long)).toBe('path_param_too_long')
    const bad = await request(node.url, { method: 'GET', path: '/v1/tx/%zz' })
    expect(bad.status).toBe(400)
    expect(errorCode(bad)).toBe('bad_request')
    expect((bad.json as { error: { details: { reason: string } } }).error.details.reason).toBe('FST_ERR_BAD_URL')
  })

  it('a request line and headers over 16 KiB are 431 headers_too_large with a typed body, not an empty 431 from Node', async () => {
    const a = await request(node.url, { method: 'GET', path: '/v1/status', headers: { 'x-junk': 'A'.repeat(20_000) } })
    expect(a.status).toBe(431)
    expect(errorCode(a)).toBe('headers_too_large')
    // The node still answers the next request.
    expect((await request(node.url, { method: 'GET', path: '/v1/status' })).status).toBe(200)
  })

  it('a tools/call whose arguments are not an object is -32602 Invalid params with a typed error, not -32603 Internal error', async () => {
    for (const [params, field] of [
      [{ name: 'balance', arguments: [1] }, 'params.arguments'],
      [{ name: 'balance', arguments: 'x' }, 'params.arguments'],
      [{ name: 'balance', arguments: null }, 'params.arguments'],
      [{ name: 1 }, 'params.name'],
      [{}, 'params.name'],
      [[], 'params'],
    ] as const) {
      const a = await callMcp(node.url, 'tools/call', params)
      expect(a.status).toBe(200)
      const body = a.json as { error: { code: number; data: { code: string; details: { field: string } } } }
      expect(body.error.code, JSON.stringify(params)).toBe(-32602)
      expect(body.error.data.code).toBe('invalid_field')
      expect(body.error.data.details.field).toBe(field)
    }
    // Found next: a lone surrogate in a tool's string argument (search_data's datanet) threw
    // a URIError in the tool (an `internal` error); now the field is named as ill-formed.
    const lone = await callMcp(node.url, 'tools/call', { name: 'search_data', arguments: { datanet: '\ud800', version: 1, query: 'x' } })
    const result = (lone.json as { result: { isError: boolean; structuredContent: { error: { code: string; details: { field: string } } } } }).result
    expect(result.isError).toBe(true)
    expect(result.structuredContent.error.code).toBe('invalid_field')
    expect(result.structuredContent.error.details.field).toBe('datanet')
    // A well-formed call still reaches its tool.
    const ok = await callMcp(node.url, 'tools/call', { name: 'list_models', arguments: {} })
    expect((ok.json as { result: { isError?: boolean } }).result.isError).toBeUndefined()
  })
})
