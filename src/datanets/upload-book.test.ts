/** The upload quotas' memory: running totals over a rolling window and open claims, in a journal that is only appended to (the clock injected). */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BLOB_MIN_CHARGE_BYTES, chargeOf, UploadBook } from './upload-book.ts'

const HOUR = 3_600_000
const dirs: string[] = []
const journal = () => {
  const dir = mkdtempSync(join(tmpdir(), 'uploads-'))
  dirs.push(dir)
  return join(dir, 'uploads.jsonl')
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('UploadBook', () => {
  it("counts an account's charges over the rolling window, across a restart, and forgets what left it", () => {
    const file = journal()
    const book = new UploadBook(file, HOUR, 0)
    book.record({ at: 1_000, account: '0xa', sha256: '01', bytes: 5000, nonce: 0n })
    book.record({ at: 2_000, account: '0xb', sha256: '02', bytes: 4096, nonce: 0n })
    book.record({ at: 30 * 60_000, account: '0xa', sha256: '03', bytes: 4096, nonce: 1n })
    expect([book.used('0xa', 40 * 60_000), book.used('0xb', 40 * 60_000)]).toEqual([
      { bytes: 9096, blobs: 2 },
      { bytes: 4096, blobs: 1 },
    ])
    expect(book.nextRelease('0xa', 40 * 60_000)).toBe(1_000 + HOUR)
    const again = new UploadBook(file, HOUR, 40 * 60_000)
    expect(again.used('0xa', 40 * 60_000)).toEqual({ bytes: 9096, blobs: 2 })
    expect(again.used('0xa', 1_000 + HOUR)).toEqual({ bytes: 4096, blobs: 1 })
    expect(again.nextRelease('0xa', 1_000 + HOUR)).toBe(30 * 60_000 + HOUR)
  })

  it('every blob counts at least the minimum charge', () => {
    expect(chargeOf(1)).toBe(BLOB_MIN_CHARGE_BYTES)
    expect(chargeOf(BLOB_MIN_CHARGE_BYTES + 1)).toBe(BLOB_MIN_CHARGE_BYTES + 1)
  })

  it('never rewrites the journal when an upload comes after the window rolled: it appends one line', () => {
    const file = journal()
    const book = new UploadBook(file, HOUR, 0)
    for (let i = 0; i < 10; i++) book.record({ at: 1_000 + i, account: '0xa', sha256: `s${i}`, bytes: 4096, nonce: BigInt(i) })
    const before = readFileSync(file, 'utf8')
    const inode = statSync(file).ino
    // Two hours later every earlier charge is out of the window.
    book.record({ at: 2 * HOUR, account: '0xa', sha256: 'late', bytes: 4096, nonce: 10n })
    const after = readFileSync(file, 'utf8')
    expect(statSync(file).ino).toBe(inode)
    expect(after.startsWith(before)).toBe(true)
    expect(after.slice(before.length).trim().split('\n')).toHaveLength(1)
    expect(book.used('0xa', 2 * HOUR)).toEqual({ bytes: 4096, blobs: 1 })
  })

  it('keeps claims (waiting blobs) with running totals, ends them, and restores the open ones after a restart', () => {
    const file = journal()
    const book = new UploadBook(file, HOUR, 0)
    book.record({ at: 1, account: '0xa', sha256: 'aa', bytes: 5000, nonce: 3n })
    book.record({ at: 2, account: '0xa', sha256: 'bb', bytes: 4096, nonce: 3n })
    book.record({ at: 3, account: '0xb', sha256: 'aa', bytes: 5000, nonce: 0n })
    expect([book.waitingBytes('0xa'), book.waitingBytes('0xb'), book.waitingTotalBytes]).toEqual([9096, 5000, 14096])
    expect(book.claimantsOf('aa').sort()).toEqual(['0xa', '0xb'])
    // Renewed by a second upload with a later permit: counted once, now the newest claim.
    book.record({ at: 4, account: '0xa', sha256: 'aa', bytes: 5000, nonce: 4n })
    expect(book.waitingBytes('0xa')).toBe(9096)
    expect(book.claimsOf('0xa').map((c) => [c.sha256, c.nonce])).toEqual([
      ['bb', 3n],
      ['aa', 4n],
    ])
    book.endAll('aa')
    expect([book.waitingBytes('0xa'), book.waitingBytes('0xb'), book.hasClaims('0xb')]).toEqual([4096, 0, false])
    const again = new UploadBook(file, HOUR, 10)
    expect(again.claimsOf('0xa')).toEqual([{ account: '0xa', sha256: 'bb', bytes: 4096, nonce: 3n, at: 2 }])
    expect(again.waitingTotalBytes).toBe(4096)
    // The charges of the window survive the compaction at start-up.
    expect(again.used('0xa', 10)).toEqual({ bytes: 5000 + 4096 + 5000, blobs: 3 })
  })

  it('compacts itself once the journal holds far more than is live, keeping every figure', () => {
    const file = journal()
    const WINDOW = 1000
    const book = new UploadBook(file, WINDOW, 0)
    for (let i = 0; i < 6000; i++) {
      book.record({ at: i, account: '0xa', sha256: `s${i}`, bytes: 4096, nonce: BigInt(i) })
      if (i < 5990) book.end('0xa', `s${i}`)
    }
    // 11 990 lines were written; live are the last second's charges and ten claims.
    const lines = readFileSync(file, 'utf8').trim().split('\n').length
    expect(lines).toBeLessThan(2 * (WINDOW + 10) + 4096 + 1)
    const again = new UploadBook(file, WINDOW, 5999)
    expect(again.used('0xa', 5999)).toEqual(book.used('0xa', 5999))
    expect(again.used('0xa', 5999)).toEqual({ bytes: 1000 * 4096, blobs: 1000 })
    expect(again.claimsOf('0xa').map((c) => c.sha256)).toEqual(Array.from({ length: 10 }, (_, k) => `s${5990 + k}`))
  })
})
