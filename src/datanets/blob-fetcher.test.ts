/**
 * BlobFetcher against a fake leader over real HTTP on 127.0.0.1 and a real BlobStore on
 * disk: right bytes are stored; wrong bytes are refused, never stored, reported and retried;
 * downloads are bounded; a blob nobody wants any more is forgotten.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../core/index.ts'
import { BlobFetcher } from './blob-fetcher.ts'
import { BlobStore } from './blobs.ts'

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

let dir: string
let store: BlobStore
let server: Server
let url: string
let handler: (sha256: string, req: IncomingMessage, res: ServerResponse) => void
const fetchers: BlobFetcher[] = []

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sinew-fetch-'))
  store = new BlobStore(dir)
  server = createServer((req, res) => handler(/^\/v1\/blobs\/([0-9a-f]{64})$/.exec(req.url ?? '')?.[1] ?? '', req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterEach(async () => {
  for (const f of fetchers.splice(0)) await f.stop()
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
})

function fetcher(o: Partial<ConstructorParameters<typeof BlobFetcher>[0]> = {}): BlobFetcher {
  const f = new BlobFetcher({ blobs: store, source: url, log: silentLogger, retryBaseMs: 20, retryMaxMs: 50, ...o })
  fetchers.push(f)
  f.start()
  return f
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('BlobFetcher', () => {
  it('stores what the source serves, under the hash it was asked for', async () => {
    const bytes = Buffer.from('the heron stood in the marsh at dawn')
    const served: string[] = []
    handler = (h, _req, res) => {
      served.push(h)
      res.end(bytes)
    }
    const stored: string[] = []
    const f = fetcher({ onStored: (h) => stored.push(h) })
    f.want(sha(bytes), '0xc1')
    f.want(sha(bytes), '0xc2') // the same blob twice is fetched once
    await until(() => stored.length === 1)
    expect(served).toEqual([sha(bytes)])
    expect(await store.read(sha(bytes))).toEqual(bytes)
    expect(f.status()).toMatchObject({ source: url, pending: 0, fetching: 0, failed: 0, fetched: 1, refused: 0, failures: [] })
    f.want(sha(bytes)) // already stored: nothing to do
    expect(f.isPending(sha(bytes))).toBe(false)
  })

  it('refuses bytes that hash to something else: nothing stored, reported, retried until the right bytes come', async () => {
    const right = Buffer.from('right bytes: the lighthouse keeper counted seventeen herons')
    const wrong = Buffer.from('wrong bytes: buy crystal pyramids that hum with the moon')
    let lying = true
    let requests = 0
    handler = (_h, _req, res) => {
      requests++
      res.end(lying ? wrong : right)
    }
    const f = fetcher()
    const h = sha(right)
    f.want(h, '0xc1')
    await until(() => requests >= 3 && f.status().failed === 1 && !f.status().fetching)
    const s = f.status()
    expect(s.pending).toBe(1)
    expect(s.refused).toBeGreaterThanOrEqual(2)
    expect(s.fetched).toBe(0)
    expect(s.failures[0]).toMatchObject({ sha256: h, error: { code: 'hash_mismatch' } })
    expect(s.failures[0].attempts).toBeGreaterThanOrEqual(2)
    expect(store.has(h)).toBe(false)
    expect(store.has(sha(wrong))).toBe(false)
    expect(readdirSync(join(dir, 'blobs', 'sha256'))).toEqual([])
    expect(readdirSync(join(dir, 'blobs', 'tmp'))).toEqual([])
    lying = false
    await until(() => store.has(h))
    expect(await store.read(h)).toEqual(right)
    await until(() => f.status().pending === 0)
    expect(f.status()).toMatchObject({ pending: 0, failed: 0, fetched: 1, failures: [] })
  })

  it('retries a blob the source does not have yet (404) with backoff', async () => {
    const bytes = Buffer.from('uploaded to the leader only later')
    let have = false
    let requests = 0
    handler = (_h, _req, res) => {
      requests++
      if (!have) {
        res.statusCode = 404
        return res.end('{"error":{"code":"not_found"}}')
      }
      res.end(bytes)
    }
    const f = fetcher()
    f.want(sha(bytes), '0xc1')
    await until(() => requests >= 2)
    expect(f.status().failures[0]).toMatchObject({ error: { code: 'blob_fetch_failed' } })
    expect(f.status().failures[0].error.message).toMatch(/answered 404/)
    have = true
    await until(() => f.status().pending === 0)
    expect(await store.read(sha(bytes))).toEqual(bytes)
    expect(f.status()).toMatchObject({ pending: 0, failed: 0, fetched: 1 })
  })

  it('downloads at most `concurrency` blobs at a time', async () => {
    const blobs = Array.from({ length: 9 }, (_, i) => Buffer.from(`blob number ${i} of the bounded test`))
    const byHash = new Map(blobs.map((b) => [sha(b), b]))
    let open = 0
    let most = 0
    const held: (() => void)[] = []
    handler = (h, _req, res) => {
      open++
      most = Math.max(most, open)
      held.push(() => {
        open--
        res.end(byHash.get(h))
      })
    }
    const f = fetcher({ concurrency: 3 })
    for (const b of blobs) f.want(sha(b))
    await until(() => held.length === 3)
    await new Promise((r) => setTimeout(r, 50))
    expect(held.length).toBe(3) // no fourth request while three are open
    expect(f.status()).toMatchObject({ pending: 9, fetching: 3 })
    while (f.status().pending > 0) {
      held.splice(0).forEach((release) => release())
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(most).toBe(3)
    expect(f.status()).toMatchObject({ pending: 0, fetched: 9 })
  })

  it('forgets a failing blob once nothing wants it', async () => {
    handler = (_h, _req, res) => {
      res.statusCode = 404
      res.end()
    }
    let wanted = true
    const asked: string[][] = []
    const f = fetcher({
      wanted: (_h, ids) => {
        asked.push([...ids])
        return wanted
      },
    })
    f.want('ab'.repeat(32), '0xc1')
    await until(() => asked.length >= 1)
    expect(f.status().pending).toBe(1)
    wanted = false
    await until(() => f.status().pending === 0)
    expect(asked.at(-1)).toEqual(['0xc1'])
    expect(f.status()).toMatchObject({ pending: 0, failed: 0, fetched: 0 })
  })
})
