import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'

const dir = mkdtempSync(join(tmpdir(), 'sinew-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('loadConfig', () => {
  it('applies defaults, then the file, then the environment, then flags', () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ port: 9000, blockIntervalMs: 50, maxBlockTxs: 10 }))
    const c = loadConfig({ flags: { dataDir: dir, maxBlockTxs: '7' }, env: { SINEW_PORT: '9100' } })
    expect(c).toMatchObject({ dataDir: dir, port: 9100, blockIntervalMs: 50, maxBlockTxs: 7, host: '127.0.0.1' })
  })
  it('takes maxBlobBytes from the file, then SINEW_MAX_BLOB_BYTES, within its bounds', () => {
    expect(loadConfig({ flags: { dataDir: join(dir, 'none') }, env: {} }).maxBlobBytes).toBe(64 * 1024 * 1024)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ maxBlobBytes: 1024 * 1024 }))
    expect(loadConfig({ flags: { dataDir: dir }, env: {} }).maxBlobBytes).toBe(1024 * 1024)
    expect(loadConfig({ flags: { dataDir: dir }, env: { SINEW_MAX_BLOB_BYTES: '2097152' } }).maxBlobBytes).toBe(2 * 1024 * 1024)
    expect(() => loadConfig({ flags: { dataDir: dir }, env: { SINEW_MAX_BLOB_BYTES: String(2 * 1024 ** 3) } })).toThrow(/maxBlobBytes \(from environment\)/)
  })
  it('takes allowedHosts and allowedOrigins as a list (file) or comma-separated (environment, flags), normalised', () => {
    const none = join(dir, 'none')
    expect(loadConfig({ flags: { dataDir: none }, env: {} })).toMatchObject({ allowedHosts: [], allowedOrigins: [] })
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ allowedHosts: ['Node.Example.org', 'api.example.org:8443'], allowedOrigins: ['https://App.example.org/'] }),
    )
    expect(loadConfig({ flags: { dataDir: dir }, env: {} })).toMatchObject({
      allowedHosts: ['node.example.org', 'api.example.org:8443'],
      allowedOrigins: ['https://app.example.org'],
    })
    const env = { SINEW_ALLOWED_HOSTS: ' a.example.org , *', SINEW_ALLOWED_ORIGINS: 'http://localhost:5173,https://b.example.org:443' }
    expect(loadConfig({ flags: { dataDir: none }, env })).toMatchObject({
      allowedHosts: ['a.example.org', '*'],
      allowedOrigins: ['http://localhost:5173', 'https://b.example.org'],
    })
    expect(loadConfig({ flags: { dataDir: none, allowedOrigins: '*' }, env }).allowedOrigins).toEqual(['*'])
  })
  it('refuses a host with a scheme or path, and an origin with a path, naming the setting', () => {
    const none = join(dir, 'none')
    expect(() => loadConfig({ flags: { dataDir: none, allowedHosts: 'https://node.example.org' }, env: {} })).toThrow(/allowedHosts \(from flag\).*not a host/)
    expect(() => loadConfig({ flags: { dataDir: none }, env: { SINEW_ALLOWED_HOSTS: 'node.example.org/x' } })).toThrow(/allowedHosts \(from environment\)/)
    expect(() => loadConfig({ flags: { dataDir: none, allowedOrigins: 'https://app.example.org/path' }, env: {} })).toThrow(/allowedOrigins.*not an origin/)
    expect(() => loadConfig({ flags: { dataDir: none, allowedOrigins: 'app.example.org' }, env: {} })).toThrow(/allowedOrigins/)
  })
  it('names the source of a bad value', () => {
    expect(() => loadConfig({ flags: { dataDir: dir }, env: { SINEW_PORT: 'eighty' } })).toThrow(/port \(from environment\)/)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ colour: 'blue' }))
    expect(() => loadConfig({ flags: { dataDir: dir }, env: {} })).toThrow(/config file/)
    writeFileSync(join(dir, 'config.json'), '{oops')
    expect(() => loadConfig({ flags: { dataDir: dir }, env: {} })).toThrow(/not valid JSON/)
    expect(() => loadConfig({ configFile: join(dir, 'missing.json'), env: {} })).toThrow(/not found/)
  })
  it('binds backend credentials to origins, from the file or SINEW_BACKEND_CREDENTIALS (JSON), normalized', () => {
    const sub = join(dir, 'creds')
    const owner = '0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
    const c = loadConfig({
      flags: { dataDir: sub },
      env: {
        SINEW_BACKEND_CREDENTIALS: JSON.stringify({ 'HTTPS://API.Example.com:443/': 'sk-a', 'http://10.0.0.5:8000': { apiKey: 'sk-b', owners: [owner] } }),
      },
    })
    expect(c.backendCredentials).toEqual({ 'https://api.example.com': 'sk-a', 'http://10.0.0.5:8000': { apiKey: 'sk-b', owners: [owner.toLowerCase()] } })
    for (const bad of ['https://api.example.com/v1', 'api.example.com', 'ftp://x.example', 'https://user:pw@api.example.com']) {
      expect(() => loadConfig({ flags: { dataDir: sub }, env: { SINEW_BACKEND_CREDENTIALS: JSON.stringify({ [bad]: 'sk-secret' }) } }), bad).toThrow(
        /backendCredentials \(from environment\)/,
      )
    }
    let err: Error | undefined
    try {
      loadConfig({
        flags: { dataDir: sub },
        env: { SINEW_BACKEND_CREDENTIALS: JSON.stringify({ 'https://a.example': { apiKey: 'sk-secret', owners: ['bob'] } }) },
      })
    } catch (e) {
      err = e as Error
    }
    expect(err?.message).toMatch(/backendCredentials/)
    expect(err?.message).not.toContain('sk-secret')
  })
  it('reads the allow-list and the gateway limits from the environment, with defaults', () => {
    const sub = join(dir, 'limits')
    const d = loadConfig({ flags: { dataDir: sub }, env: {} })
    expect(d).toMatchObject({ apiKeyFailuresPerMinute: 20, maxConcurrentCallsPerKey: 16, streamStallTimeoutMs: 60_000 })
    expect(d.backendAllowList).toBeUndefined()
    const c = loadConfig({
      flags: { dataDir: sub },
      env: {
        SINEW_BACKEND_ALLOW_LIST: 'public, 10.0.0.0/8,https://api.example.com',
        SINEW_MAX_CONCURRENT_CALLS_PER_KEY: '4',
        SINEW_API_KEY_FAILURES_PER_MINUTE: '5',
      },
    })
    expect(c).toMatchObject({ backendAllowList: ['public', '10.0.0.0/8', 'https://api.example.com'], maxConcurrentCallsPerKey: 4, apiKeyFailuresPerMinute: 5 })
    expect(() => loadConfig({ flags: { dataDir: sub }, env: { SINEW_MAX_CONCURRENT_CALLS_PER_KEY: '0' } })).toThrow(/maxConcurrentCallsPerKey/)
  })
  it('reads per-model limits as a number or JSON by model name, builtin:infinigram and *', () => {
    const sub = join(dir, 'model-limits')
    const d = loadConfig({ flags: { dataDir: sub }, env: {} })
    expect(d).toMatchObject({ callBodyLimitBytes: 1024 * 1024 })
    expect(d.maxOutputTokens).toBeUndefined()
    const c = loadConfig({
      flags: { dataDir: sub },
      env: { SINEW_MAX_OUTPUT_TOKENS: '{"builtin:infinigram": 512, "my-llm": 100, "*": 2000}', SINEW_MAX_PROMPT_TOKENS: '9000' },
    })
    expect(c).toMatchObject({ maxOutputTokens: { 'builtin:infinigram': 512, 'my-llm': 100, '*': 2000 }, maxPromptTokens: 9000 })
    expect(() => loadConfig({ flags: { dataDir: sub }, env: { SINEW_MAX_OUTPUT_TOKENS: '{"Bad Name": 5}' } })).toThrow(/maxOutputTokens/)
    expect(() => loadConfig({ flags: { dataDir: sub }, env: { SINEW_MAX_PROMPT_TOKENS: '0' } })).toThrow(/maxPromptTokens/)
  })
  it('takes trustProxy as addresses, CIDRs, loopback and private; none by default', () => {
    const sub = join(dir, 'trust-proxy')
    expect(loadConfig({ flags: { dataDir: sub }, env: {} }).trustProxy).toEqual([])
    const c = loadConfig({ flags: { dataDir: sub }, env: { SINEW_TRUST_PROXY: '10.0.0.1, fd00::/8,loopback' } })
    expect(c.trustProxy).toEqual(['10.0.0.1', 'fd00::/8', 'loopback'])
    expect(() => loadConfig({ flags: { dataDir: sub, trustProxy: 'proxy.example.org' }, env: {} })).toThrow(/trustProxy \(from flag\).*not an address range/)
    expect(() => loadConfig({ flags: { dataDir: sub }, env: { SINEW_TRUST_PROXY: '10.0.0.0/33' } })).toThrow(/trustProxy/)
  })
  it('refuses the removed SINEW_BACKEND_KEY variables, naming what replaced them and not echoing the key', () => {
    for (const name of ['SINEW_BACKEND_KEY', 'SINEW_BACKEND_KEY_OPS_LLM']) {
      let err: any
      try {
        loadConfig({ flags: { dataDir: join(dir, 'old') }, env: { [name]: 'sk-old-secret' } })
      } catch (e) {
        err = e
      }
      expect(err?.code).toBe('removed_setting')
      expect(err.shortMessage).toContain(name)
      expect(err.shortMessage).toContain('backendCredentials')
      expect(err.message).not.toContain('sk-old-secret')
    }
  })
})
