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
  it('names the source of a bad value', () => {
    expect(() => loadConfig({ flags: { dataDir: dir }, env: { SINEW_PORT: 'eighty' } })).toThrow(/port \(from environment\)/)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ colour: 'blue' }))
    expect(() => loadConfig({ flags: { dataDir: dir }, env: {} })).toThrow(/config file/)
    writeFileSync(join(dir, 'config.json'), '{oops')
    expect(() => loadConfig({ flags: { dataDir: dir }, env: {} })).toThrow(/not valid JSON/)
    expect(() => loadConfig({ configFile: join(dir, 'missing.json'), env: {} })).toThrow(/not found/)
  })
})
