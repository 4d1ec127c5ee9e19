/**
 * A node as a public neighbour of a web browser, over real HTTP on 127.0.0.1:
 *
 * - DNS rebinding: a page on evil.example.com whose name the attacker re-points at
 *   127.0.0.1 reaches the node with `Host: evil.example.com`; every route refuses it (403),
 *   a signed tx sent that way changes nothing. A page on another origin calling the node
 *   directly carries its `Origin`; it is refused unless the operator allowed that origin.
 * - CORS: an allowed origin gets its preflight answered and can read answers (including
 *   the hijacked ones: MCP, streaming), never with credentials.
 * - JSON bodies holding a `__proto__` key get their own error, not "not valid JSON".
 * - Abuse: every route in the OpenAPI document, sent an oversized or deeply nested body,
 *   answers 413 or 400 with a typed error (an upload without its permit: 401 before the
 *   body is read), never a 5xx or a hang, and the state root does not move.
 */
import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient, permitHeader } from './datanets-fixtures.ts'
import { dev, signTransfer, startDevNode, tempDir } from './helpers.ts'

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }
type Send = { method?: string; host?: string | null; origin?: string; headers?: Record<string, string>; body?: string | Buffer }

/** One request with exactly the Host and Origin given (fetch cannot set Host). */
function send(url: string, path: string, o: Send = {}): Promise<Answer> {
  const { hostname, port, host: ownHost } = new URL(url)
  const headers: Record<string, string> = { ...(o.headers ?? {}) }
  if (o.host !== null) headers.host = o.host ?? ownHost
  if (o.origin !== undefined) headers.origin = o.origin
  if (o.body !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(Buffer.byteLength(o.body))
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: o.method ?? (o.body === undefined ? 'GET' : 'POST'), headers, setHost: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try {
          json = text ? JSON.parse(text) : undefined
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
    })
    // A node that never answers fails the test instead of hanging it.
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to ${o.method ?? 'GET'} ${path} within 20 s`)))
    req.on('error', reject)
    req.end(o.body)
  })
}

/** Every (method, path) the OpenAPI document lists, path parameters filled with `x`, plus the routes it hides. */
async function everyRoute(url: string): Promise<[string, string][]> {
  const doc = (await send(url, '/openapi.json')).json
  const routes: [string, string][] = []
  for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
    for (const method of Object.keys(ops)) routes.push([method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x')])
  }
  routes.push(['GET', '/'], ['GET', '/openapi.json'], ['GET', '/mcp'], ['DELETE', '/mcp'], ['GET', '/no/such/route'])
  return routes
}

async function headOf(url: string) {
  const s = (await send(url, '/v1/status')).json
  return { height: s.height, stateRoot: s.stateRoot }
}

/** A dev node for the tests of one describe block (temp data dir, port 0): started before them, closed after. */
function devNodeForBlock(overrides: Record<string, unknown> = {}): { url: string; port: string } {
  const at = { url: '', port: '' }
  let node: RunningNode | undefined
  let tmp: ReturnType<typeof tempDir> | undefined
  beforeAll(async () => {
    tmp = tempDir()
    node = await startDevNode(tmp.dir, overrides)
    at.url = node.url
    at.port = new URL(node.url).port
  })
  afterAll(async () => {
    await node?.close()
    tmp?.cleanup()
  })
  return at
}

const alice = dev[0]
const bob = dev[1]
const MCP_ACCEPT = { accept: 'application/json, text/event-stream' }
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
})

describe('a node with the default settings (bound to 127.0.0.1)', () => {
  const n = devNodeForBlock()

  it('refuses a foreign Host on every route with 403 host_not_allowed, naming the setting', async () => {
    const routes = await everyRoute(n.url)
    expect(routes.length).toBeGreaterThan(30)
    for (const [method, path] of routes) {
      for (const host of [`evil.example.com:${n.port}`, 'evil.example.com', `127.0.0.1.evil.example.com:${n.port}`]) {
        const a = await send(n.url, path, { method, host, ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }) })
        expect({ method, path, host, status: a.status, code: a.json?.error?.code }).toEqual({ method, path, host, status: 403, code: 'host_not_allowed' })
        expect(a.text).toContain('allowedHosts')
        expect(a.headers['access-control-allow-origin']).toBeUndefined()
      }
    }
  })

  it('answers the localhost forms and IP addresses of itself, whatever the port or case', async () => {
    for (const host of [
      `127.0.0.1:${n.port}`,
      `localhost:${n.port}`,
      'localhost',
      `LocalHost:${n.port}`,
      `[::1]:${n.port}`,
      '127.0.0.1:80',
      `[0:0:0:0:0:0:0:1]:${n.port}`,
    ]) {
      const a = await send(n.url, '/v1/status', { host })
      expect({ host, status: a.status }).toEqual({ host, status: 200 })
    }
    // A request with no Host at all cannot come from a browser (HTTP/1.1 requires one; Node refuses it).
    expect((await send(n.url, '/v1/status', { host: null })).status).toBe(400)
  })

  it('refuses a signed tx reaching it through DNS rebinding or from a foreign page, and changes nothing', async () => {
    const before = await headOf(n.url)
    const tx = JSON.stringify(await signTransfer(alice.privateKey, { to: bob.address, amount: 1n, nonce: 0n }))
    const rebound = await send(n.url, '/v1/tx', { host: `evil.example.com:${n.port}`, origin: `http://evil.example.com:${n.port}`, body: tx })
    expect(rebound.status).toBe(403)
    const foreignPage = await send(n.url, '/v1/tx', { origin: 'http://evil.example.com', body: tx })
    expect(foreignPage.status).toBe(403)
    expect(foreignPage.json.error.code).toBe('origin_not_allowed')
    expect(foreignPage.text).toContain('allowedOrigins')
    const viaMcp = await send(n.url, '/mcp', { host: 'evil.example.com', headers: MCP_ACCEPT, body: initialize })
    expect(viaMcp.status).toBe(403)
    expect(await headOf(n.url)).toEqual(before)
    // The same tx from the node's own origin (or no browser at all) goes through: it was valid.
    const own = await send(n.url, '/v1/tx', { origin: n.url, body: tx })
    expect(own.status).toBe(200)
    expect(own.headers['access-control-allow-origin']).toBe(n.url)
  })

  it('refuses an Origin that is not its own: another local port, null, another scheme', async () => {
    for (const origin of ['http://localhost:3000', `http://evil.example.com:${n.port}`, 'null', `file://${n.url.slice(7)}`, 'not a url']) {
      const a = await send(n.url, '/v1/status', { origin })
      expect({ origin, status: a.status, code: a.json?.error?.code }).toEqual({ origin, status: 403, code: 'origin_not_allowed' })
    }
    for (const origin of [n.url, `http://localhost:${n.port}`]) {
      const a = await send(n.url, '/v1/status', { origin, host: new URL(origin).host })
      expect({ origin, status: a.status }).toEqual({ origin, status: 200 })
    }
  })

  it('answers a JSON body holding a __proto__ key with forbidden_json_key, on /v1/tx and the OpenAI routes', async () => {
    const before = await headOf(n.url)
    const tx = await signTransfer(alice.privateKey, { to: bob.address, amount: 1n, nonce: 1n })
    const cases: [string, string, string][] = [
      ['/v1/tx', `{"__proto__":{"isAdmin":true},${JSON.stringify(tx).slice(1)}`, 'body.__proto__'],
      ['/v1/tx', JSON.stringify(tx).replace('"message":{', '"message":{"__proto__":{"x":1},'), 'body.message.__proto__'],
      ['/v1/tx', JSON.stringify(tx).replace('"message":{', '"message":{"\\u005f_proto__":{"x":1},'), 'body.message.__proto__'],
      ['/v1/txs', `{"txs":[{"constructor":{"prototype":{"x":1}}}]}`, 'body.txs.0.constructor.prototype'],
      ['/v1/chat/completions', '{"model":"m","messages":[{"role":"user","content":"hi","__proto__":{"x":1}}]}', 'body.messages.0.__proto__'],
      ['/v1/completions', '{"__proto__":[],"model":"m","prompt":"hi"}', 'body.__proto__'],
      ['/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"__proto__":{}}}', 'body.params.__proto__'],
    ]
    for (const [path, body, field] of cases) {
      const a = await send(n.url, path, { body, headers: MCP_ACCEPT })
      expect({ path, status: a.status, code: a.json?.error?.code }).toEqual({ path, status: 400, code: 'forbidden_json_key' })
      expect(a.json.error.message).not.toMatch(/not valid JSON/)
      expect(a.json.error.message).toContain(field)
    }
    // Values are data, not keys: a prompt about __proto__ gets past the body parser to the gateway.
    const prompt = await send(n.url, '/v1/completions', { body: '{"model":"m","prompt":"__proto__ and constructor.prototype"}' })
    expect(prompt.json.error.code).not.toBe('forbidden_json_key')
    expect(prompt.status).not.toBe(400)
    expect(await headOf(n.url)).toEqual(before)
  })
})

describe('a node with allowedHosts and allowedOrigins set', () => {
  const app = 'https://app.example.org'
  const n = devNodeForBlock({ allowedHosts: 'node.example.org, NODE2.example.org:8443', allowedOrigins: `${app}/, http://localhost:5173` })

  it('answers the listed names (a bare name on any port, a name:port on that port only) and still refuses others', async () => {
    const status = async (host: string) => (await send(n.url, '/v1/status', { host })).status
    expect(await status('node.example.org')).toBe(200)
    expect(await status(`node.example.org:${n.port}`)).toBe(200)
    expect(await status('node2.example.org:8443')).toBe(200)
    expect(await status('node2.example.org')).toBe(403)
    expect(await status(`localhost:${n.port}`)).toBe(200)
    expect(await status('evil.example.com')).toBe(403)
  })

  it('lets a listed origin read answers, and exposes the headers a browser client needs, without credentials', async () => {
    const a = await send(n.url, '/v1/status', { origin: app, host: 'node.example.org' })
    expect(a.status).toBe(200)
    expect(a.headers['access-control-allow-origin']).toBe(app)
    expect(a.headers['access-control-allow-credentials']).toBeUndefined()
    expect(String(a.headers.vary)).toMatch(/origin/i)
    const exposed = String(a.headers['access-control-expose-headers']).toLowerCase()
    for (const h of ['x-sinew-receipt', 'retry-after', 'mcp-session-id', 'payment-required', 'payment-response']) expect(exposed).toContain(h)
    // Errors too, so the page can show them.
    const bad = await send(n.url, '/v1/tx', { origin: app, body: '{}' })
    expect(bad.status).toBe(400)
    expect(bad.headers['access-control-allow-origin']).toBe(app)
    // Hijacked answers (MCP's transport writes the raw response) carry them as well.
    const mcp = await send(n.url, '/mcp', { origin: 'http://localhost:5173', headers: MCP_ACCEPT, body: initialize })
    expect(mcp.status).toBe(200)
    expect(mcp.headers['access-control-allow-origin']).toBe('http://localhost:5173')
    expect(String(mcp.headers['access-control-expose-headers'])).toContain('mcp-session-id')
  })

  it('answers the preflight of a listed origin on any route, and refuses that of another', async () => {
    for (const [path, method] of [
      ['/v1/chat/completions', 'POST'],
      ['/v1/blobs', 'PUT'],
      ['/mcp', 'POST'],
    ]) {
      const a = await send(n.url, path, {
        method: 'OPTIONS',
        origin: app,
        headers: { 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
      })
      expect({ path, status: a.status }).toEqual({ path, status: 204 })
      expect(a.headers['access-control-allow-origin']).toBe(app)
      expect(String(a.headers['access-control-allow-methods'])).toContain(method)
      expect(String(a.headers['access-control-allow-headers'])).toContain('authorization')
      expect(Number(a.headers['access-control-max-age'])).toBeGreaterThan(0)
      expect(a.headers['access-control-allow-credentials']).toBeUndefined()
    }
    const evil = await send(n.url, '/v1/tx', { method: 'OPTIONS', origin: 'https://evil.example.com', headers: { 'access-control-request-method': 'POST' } })
    expect(evil.status).toBe(403)
    expect(evil.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('a node with allowedHosts and allowedOrigins "*" (checks turned off by the operator)', () => {
  const n = devNodeForBlock({ allowedHosts: '*', allowedOrigins: '*' })

  it('answers any Host and any Origin, with Access-Control-Allow-Origin *', async () => {
    const a = await send(n.url, '/v1/status', { host: 'evil.example.com', origin: 'https://evil.example.com' })
    expect(a.status).toBe(200)
    expect(a.headers['access-control-allow-origin']).toBe('*')
  })
})

describe('oversized and deeply nested bodies on every route', () => {
  const LIMIT = 256 * 1024
  const n = devNodeForBlock({ bodyLimitBytes: LIMIT, maxBlobBytes: LIMIT })

  const oversized = `{"x":"${'x'.repeat(LIMIT)}"}`
  const deepArrays = '['.repeat(100_000) + ']'.repeat(100_000)
  const deepObjects = '{"a":'.repeat(40_000) + '1' + '}'.repeat(40_000)
  /** Bodies that pass every schema's outer shape and hide the depth inside (the OpenAI routes answered these with 500). */
  const deepInside = (deep: string) => [
    `{"model":"m","messages":[{"role":"user","content":"hi","x":${deep}}]}`,
    `{"model":"m","prompt":"hi","x":${deep}}`,
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_balance","arguments":{"x":${deep}}}}`,
  ]

  it('answers 413 body_too_large or 400 json_too_deep, never a 5xx or a hang, and the state root does not move', async () => {
    const before = await headOf(n.url)
    const routes = await everyRoute(n.url)
    // A signed PostTask naming the oversized body: the permit PUT /v1/blobs asks for (never submitted).
    const permit = await (await datanetsClient(n.url)).sign(dev[5].privateKey, 'PostTask', {
      title: 'oversized spec',
      specHash: `0x${createHash('sha256').update(oversized).digest('hex')}`,
      reward: '1',
      deadline: String(Date.now() + 3_600_000),
      leaseMs: '60000',
      claimStake: '0',
      verifiers: [],
      threshold: '1',
    })
    const blobPermit = permitHeader(permit)
    for (const [method, path] of routes) {
      const bodyRoute = method === 'POST' || method === 'PUT'
      const bytesRoute = path === '/v1/blobs' // stores any bytes: nesting is content, not structure
      // An upload is refused before its body without a permit (401); with one, over the blob limit (413).
      const big = await send(n.url, path, { method, body: oversized, headers: { ...MCP_ACCEPT, ...(bytesRoute ? blobPermit : {}) } })
      if (bodyRoute) expect({ method, path, status: big.status }).toEqual({ method, path, status: 413 })
      if (bodyRoute) expect({ method, path, code: big.json?.error?.code }).toEqual({ method, path, code: bytesRoute ? 'blob_too_large' : 'body_too_large' })
      if (bytesRoute) expect((await send(n.url, path, { method, body: oversized })).json.error.code).toBe('upload_unauthorized')
      expect(big.status).toBeLessThan(500)
      const deeps = [deepArrays, deepObjects, ...deepInside(deepArrays), ...deepInside(deepObjects)]
      const answers = await Promise.all(deeps.map((body) => send(n.url, path, { method, body, headers: MCP_ACCEPT })))
      for (const a of answers) {
        expect({ method, path, status: a.status < 500 }).toEqual({ method, path, status: true })
        if (bodyRoute && !bytesRoute) {
          expect({ method, path, status: a.status, code: a.json?.error?.code }).toEqual({ method, path, status: 400, code: 'json_too_deep' })
          expect(a.json.error.message).toMatch(/deeper than \d+ levels/)
        }
      }
    }
    expect(await headOf(n.url)).toEqual(before)
    expect((await send(n.url, '/v1/status')).status).toBe(200)
  })

  it('still accepts a normal body right under the limit', async () => {
    const tx = await signTransfer(alice.privateKey, { to: bob.address, amount: 1n, nonce: 0n })
    const padded = JSON.stringify(tx) + ' '.repeat(LIMIT - JSON.stringify(tx).length)
    expect((await send(n.url, '/v1/tx', { body: padded })).status).toBe(200)
  })
})
