/**
 * A full or unwritable disk, said plainly. A public node whose disk fills (or whose file
 * system turns read-only after an I/O error) must refuse writes with a clear error, keep
 * serving reads, and take writes again once the disk does: these are conditions of the
 * machine, not bugs, and they are not a reason to stop.
 *
 * `storageFault` turns what the OS (ENOSPC, EROFS, …) or SQLite (SQLITE_FULL,
 * SQLITE_IOERR_WRITE, …) threw into `storage_full` (507) or `storage_unwritable` (503), or
 * answers undefined for anything else. SQLite does not pass the errno on, so where its code
 * is ambiguous (a write error) a probe file in the directory tells a read-only file system
 * from a full one. A failed fsync (SQLITE_IOERR_FSYNC) is not one of these: after it the
 * node cannot tell what reached the disk, so its caller stops (docs/reliability.md).
 */
import { closeSync, openSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { isSinewError, SinewError } from '../core/index.ts'

/** A store that refuses writes for now; `store_unreachable` is a PostgreSQL server gone away (src/store/postgres.ts). */
export type StorageFaultCode = 'storage_full' | 'storage_unwritable' | 'store_unreachable'

const FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT'])
const UNWRITABLE_ERRNOS = new Set(['EROFS', 'EIO', 'EACCES', 'EPERM'])
/** SQLite codes of a write the file system refused, besides SQLITE_FULL (the disk is full). */
const SQLITE_WRITE_REFUSED = /^SQLITE_(READONLY(_.*)?|IOERR_(WRITE|SHORT_WRITE|TRUNCATE|DIR_FSYNC)|CANTOPEN(_.*)?)$/

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'a read-only file system',
  EIO: 'an I/O error',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
}

export function isStorageFault(e: unknown): e is SinewError & { code: StorageFaultCode } {
  return isSinewError(e) && (e.code === 'storage_full' || e.code === 'storage_unwritable' || e.code === 'store_unreachable')
}

/**
 * The storage fault `e` is, as a SinewError naming `dir` (the directory written to) and
 * what came of it (`outcome`: "the blob was not stored"), or undefined when `e` is something else.
 */
export function storageFault(e: unknown, dir: string, outcome: string): SinewError | undefined {
  if (isStorageFault(e)) return e
  const code = (e as { code?: unknown })?.code
  if (typeof code !== 'string') return undefined
  let errno: string | undefined
  if (FULL_ERRNOS.has(code) || UNWRITABLE_ERRNOS.has(code)) errno = code
  else if (code === 'SQLITE_FULL') errno = 'ENOSPC'
  else if (SQLITE_WRITE_REFUSED.test(code)) errno = probeDirectory(dir) ?? code
  else return undefined
  const reason = REASONS[errno] ?? errno
  if (FULL_ERRNOS.has(errno)) {
    return new SinewError({
      code: 'storage_full',
      message: `The disk holding ${dir} is full (${reason}): ${outcome}`,
      details: { dir, reason: errno },
      hint: 'Reads still work. Writes resume by themselves, without a restart, once the operator frees space on that disk.',
      cause: e,
    })
  }
  return new SinewError({
    code: 'storage_unwritable',
    message: `${dir} cannot be written (${reason}): ${outcome}`,
    details: { dir, reason: errno },
    hint: 'Reads still work. The operator must make the data dir writable again (check the file system, remount it read-write); writes resume once it takes them.',
    cause: e,
  })
}

/** Creates and removes a small file in `dir`: the errno it fails with, or undefined if it works. */
export function probeDirectory(dir: string): string | undefined {
  const file = join(dir, `.write-probe-${process.pid}`)
  try {
    closeSync(openSync(file, 'w'))
    rmSync(file, { force: true })
    return undefined
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return typeof code === 'string' ? code : 'EIO'
  }
}

/**
 * Throws the storage fault of a directory that cannot be written at all (a read-only mount,
 * no permission), with its `outcome`; a node checks its data dir before it starts.
 */
export function assertWritableDir(dir: string, outcome: string): void {
  const errno = probeDirectory(dir)
  if (errno === undefined) return
  throw storageFault(Object.assign(new Error(errno), { code: errno }), dir, outcome) ?? new Error(`${dir}: ${errno}`)
}
