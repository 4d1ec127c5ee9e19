/** The upload quota's memory: a rolling window over a log that survives restarts (the clock injected). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { UploadLog } from './uploads.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('UploadLog', () => {
  it('counts an account’s new bytes over the rolling window, across a restart, and forgets what left it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uploads-'))
    dirs.push(dir)
    const file = join(dir, 'uploads.jsonl')
    const HOUR = 3_600_000
    const log = new UploadLog(file, HOUR)
    log.record({ at: 1_000, account: '0xa', sha256: '01', size: 100 })
    log.record({ at: 2_000, account: '0xb', sha256: '02', size: 50 })
    log.record({ at: 30 * 60_000, account: '0xa', sha256: '03', size: 10 })
    expect([log.usage('0xa', 40 * 60_000), log.usage('0xb', 40 * 60_000), log.total(40 * 60_000)]).toEqual([110, 50, 160])
    expect(log.nextRelease(40 * 60_000, '0xa')).toBe(1_000 + HOUR)
    // After a restart, the same figures; an hour after the first upload, it no longer counts.
    const again = new UploadLog(file, HOUR)
    expect(again.usage('0xa', 40 * 60_000)).toBe(110)
    expect(again.usage('0xa', 1_000 + HOUR)).toBe(10)
    expect(again.total(1_000 + HOUR + 1_000)).toBe(10)
    again.prune(1_000 + HOUR + 1_000)
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1)
    expect(new UploadLog(file, HOUR).usage('0xa', 1_000 + HOUR + 1_000)).toBe(10)
  })

  it('tells when room frees up with more uploads in the window than a call takes arguments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uploads-'))
    dirs.push(dir)
    const HOUR = 3_600_000
    const log = new UploadLog(join(dir, 'uploads.jsonl'), HOUR)
    // Filled in memory: half a million small uploads (the quota counts bytes, not files).
    const entries = (log as unknown as { entries: { at: number; account: string; sha256: string; size: number }[] }).entries
    for (let i = 0; i < 500_000; i++) entries.push({ at: 10_000 + i, account: i % 2 ? '0xa' : '0xb', sha256: String(i), size: 1 })
    expect(log.nextRelease(20 * 60_000)).toBe(10_000 + HOUR)
    expect(log.nextRelease(20 * 60_000, '0xa')).toBe(10_001 + HOUR)
  })
})
