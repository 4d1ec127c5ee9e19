/**
 * The node serves the built web app at `/` (src/server/web.ts): content types, immutable
 * caching of hashed assets, index.html for the app's own paths, never for the API's, no file
 * outside the build, and the Host check of every route. A small build is made in a temp dir
 * so this test does not depend on `npm run web:build`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { startDevNode, tempDir } from './helpers.ts'

let tmp: ReturnType<typeof tempDir>
let web: ReturnType<typeof tempDir>
let node: RunningNode
const INDEX = '<!doctype html><title>Sinew test app</title>'

beforeAll(async () => {
  tmp = tempDir('sinew-websrv-')
  web = tempDir('sinew-webdist-')
  mkdirSync(join(web.dir, 'dist', 'assets'), { recursive: true })
  writeFileSync(join(web.dir, 'dist', 'index.html'), INDEX)
  writeFileSync(join(web.dir, 'dist', 'assets', 'index-abc123.js'), 'console.log(1)')
  writeFileSync(join(web.dir, 'dist', 'assets', 'index-abc123.css'), 'body{}')
  writeFileSync(join(web.dir, 'secret.txt'), 'outside the build')
  node = await startDevNode(tmp.dir, {}, { webRoot: join(web.dir, 'dist') })
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
  web?.cleanup()
})

/** A raw GET (no URL normalisation, so `..` reaches the node as sent). */
function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, any>; body: string }> {
  const u = new URL(node.url)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the web app at /', () => {
  it('serves index.html at / and at the app’s own paths, not cached, with a CSP', async () => {
    for (const path of ['/', '/datanets/0xabc', '/earnings', '/playground?x=1']) {
      const r = await get(path)
      expect({ path, status: r.status, body: r.body, type: r.headers['content-type'] }).toEqual({
        path,
        status: 200,
        body: INDEX,
        type: 'text/html; charset=utf-8',
      })
      expect(r.headers['cache-control']).toBe('no-cache')
      expect(r.headers['content-security-policy']).toContain("connect-src 'self'")
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    }
  })

  it('serves hashed assets with their content type, cached as immutable', async () => {
    const js = await get('/assets/index-abc123.js')
    expect([js.status, js.headers['content-type'], js.headers['cache-control'], js.body]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      'public, max-age=31536000, immutable',
      'console.log(1)',
    ])
    expect((await get('/assets/index-abc123.css')).headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('gzips text to a client that accepts it', async () => {
    const r = await fetch(`${node.url}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } })
    expect([r.headers.get('content-encoding'), await r.text()]).toEqual(['gzip', 'console.log(1)'])
  })

  it('a missing asset is a 404, not the page (a stale page must not run HTML as JS)', async () => {
    for (const path of ['/assets/gone-123.js', '/favicon.png']) {
      const r = await get(path)
      expect([path, r.status, JSON.parse(r.body).error.code]).toEqual([path, 404, 'route_not_found'])
    }
  })

  it('never answers the API’s paths with the app: unknown API routes stay typed 404s', async () => {
    for (const path of ['/v1/no-such-route', '/v1', '/mcp/x', '/openapi.json/x']) {
      const r = await get(path)
      expect([path, r.status, JSON.parse(r.body).error.code]).toEqual([path, 404, 'route_not_found'])
    }
    expect(JSON.parse((await get('/v1/status')).body).network).toBe('dev')
  })

  it('serves no file outside the build (.., encoded ..)', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const r = await get(path)
      expect(r.body).not.toContain('outside the build')
    }
  })

  it('keeps the Host check: a foreign Host gets 403 host_not_allowed at /', async () => {
    const r = await get('/', { host: 'evil.example.com' })
    expect([r.status, JSON.parse(r.body).error.code]).toEqual([403, 'host_not_allowed'])
  })
})

describe('without a build', () => {
  it('says how to build the app (503), and the API still answers', async () => {
    const t = tempDir('sinew-websrv-')
    const n = await startDevNode(t.dir, {}, { webRoot: join(t.dir, 'no-build') })
    try {
      const r = await fetch(`${n.url}/`)
      expect(r.status).toBe(503)
      expect(await r.text()).toContain('npm run web:build')
      expect((await fetch(`${n.url}/v1/status`)).status).toBe(200)
    } finally {
      await n.close()
      t.cleanup()
    }
  })
})
