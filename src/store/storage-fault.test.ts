import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SinewError } from '../core/index.ts'
import { assertWritableDir, isStorageFault, probeDirectory, storageFault } from './storage-fault.ts'

const dir = mkdtempSync(join(tmpdir(), 'sinew-storage-fault-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const thrown = (code: string) => Object.assign(new Error(code), { code })

describe('storageFault', () => {
  it('a full disk (ENOSPC, EDQUOT, SQLITE_FULL) is storage_full (507), naming the dir and the reason', () => {
    for (const [code, reason] of [
      ['ENOSPC', 'ENOSPC'],
      ['EDQUOT', 'EDQUOT'],
      ['SQLITE_FULL', 'ENOSPC'],
    ]) {
      const e = storageFault(thrown(code), dir, 'block 7 was not committed')!
      expect(e.code).toBe('storage_full')
      expect(e.status).toBe(507)
      expect(e.details).toEqual({ dir, reason })
      expect(e.shortMessage).toContain(`The disk holding ${dir} is full`)
      expect(e.shortMessage).toContain('block 7 was not committed')
    }
  })

  it('a read-only or failing file system (EROFS, EIO, EACCES, SQLITE_READONLY) is storage_unwritable (503)', () => {
    for (const code of ['EROFS', 'EIO', 'EACCES', 'EPERM']) {
      const e = storageFault(thrown(code), dir, 'x')!
      expect(e).toMatchObject({ code: 'storage_unwritable', status: 503, details: { dir, reason: code } })
    }
    // SQLite does not pass the errno on: a probe of the (writable) dir finds none, so its own code is the reason.
    expect(storageFault(thrown('SQLITE_READONLY_DBMOVED'), dir, 'x')).toMatchObject({
      code: 'storage_unwritable',
      details: { reason: 'SQLITE_READONLY_DBMOVED' },
    })
    expect(storageFault(thrown('SQLITE_IOERR_WRITE'), dir, 'x')).toMatchObject({ code: 'storage_unwritable', details: { reason: 'SQLITE_IOERR_WRITE' } })
  })

  it('anything else (a failed fsync, a constraint, a plain Error) is not a storage fault', () => {
    expect(storageFault(thrown('SQLITE_IOERR_FSYNC'), dir, 'x')).toBeUndefined()
    expect(storageFault(thrown('SQLITE_CONSTRAINT_PRIMARYKEY'), dir, 'x')).toBeUndefined()
    expect(storageFault(new Error('boom'), dir, 'x')).toBeUndefined()
    expect(storageFault(undefined, dir, 'x')).toBeUndefined()
  })

  it('a storage fault passes through as it is', () => {
    const e = storageFault(thrown('ENOSPC'), dir, 'x')!
    expect(storageFault(e, '/elsewhere', 'y')).toBe(e)
    expect(isStorageFault(e)).toBe(true)
    expect(isStorageFault(new SinewError({ code: 'commit_failed', message: 'x' }))).toBe(false)
  })
})

describe('probeDirectory and assertWritableDir', () => {
  it('a writable dir probes clean and leaves no probe file behind', () => {
    expect(probeDirectory(dir)).toBeUndefined()
    expect(readdirSync(dir).filter((f) => f.startsWith('.write-probe'))).toEqual([])
    expect(() => assertWritableDir(dir, 'x')).not.toThrow()
  })

  it('a missing dir is its errno; assertWritableDir throws that dir’s fault', () => {
    const missing = join(dir, 'missing')
    expect(probeDirectory(missing)).toBe('ENOENT')
    // ENOENT is not a storage condition: the assertion still says the dir cannot be written.
    expect(() => assertWritableDir(missing, 'x')).toThrow()
  })

  it('a dir without write permission is storage_unwritable (EACCES) for a user other than root', () => {
    if (process.getuid?.() === 0) return // root writes through mode bits; storage-faults.test.ts mounts a real read-only file system
    const locked = mkdtempSync(join(dir, 'locked-'))
    chmodSync(locked, 0o500)
    try {
      expect(() => assertWritableDir(locked, 'x')).toThrow(expect.objectContaining({ code: 'storage_unwritable', details: { dir: locked, reason: 'EACCES' } }))
    } finally {
      chmodSync(locked, 0o700)
    }
  })
})
