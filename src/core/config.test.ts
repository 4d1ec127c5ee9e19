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
})
