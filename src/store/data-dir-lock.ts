/**
 * One node per data dir. Two processes appending blocks to one SQLite file would both
 * believe they are the sequencer; the second would only find out at its first commit
 * (`UNIQUE constraint failed: blocks.height`). So a node locks `<dataDir>/node.lock`
 * before it opens the store, and a second node on the dir is refused, named by the pid
 * in `<dataDir>/node.pid`.
 *
 * The lock is an exclusive SQLite lock (an open `BEGIN EXCLUSIVE` on an empty database
 * file): an OS file lock, so the kernel drops it when the process dies, kill -9 included.
 * There is no stale lock to detect, and no pid to trust: a pid only names the holder in
 * the error. Readers (`sinew verify`, `sinew proof`) take no lock.
 */
import Database from 'better-sqlite3'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SinewError } from '../core/index.ts'
import { assertWritableDir, storageFault } from './storage-fault.ts'

export type DataDirLock = { release(): void }

export const lockFile = (dataDir: string): string => join(dataDir, 'node.lock')
export const pidFile = (dataDir: string): string => join(dataDir, 'node.pid')

function holderPid(dataDir: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidFile(dataDir), 'utf8'), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  // A node writes its chain here: a data dir it cannot write (a read-only mount) is said
  // plainly now, not as whichever write fails first.
  const outcome = 'a node cannot run on it (it writes its blocks there); `sinew verify` and other readers can'
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (e) {
    throw storageFault(e, dataDir, outcome) ?? e
  }
  assertWritableDir(dataDir, outcome)
  // timeout 0: a held lock is an answer now, not after the default 5 s busy wait.
  const db = new Database(lockFile(dataDir), { timeout: 0 })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
  } catch (e) {
    db.close()
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e
    const pid = holderPid(dataDir)
    throw new SinewError({
      code: 'data_dir_in_use',
      message: `${dataDir} is in use by another node${pid ? ` (pid ${pid})` : ''}`,
      details: { dataDir, pid },
      hint: 'Stop that node first, or give this one another --data-dir.',
    })
  }
  writeFileSync(pidFile(dataDir), `${process.pid}\n`)
  let released = false
  return {
    release() {
      if (released) return
      released = true
      // The pid file first: while the lock is held nobody else writes it.
      if (holderPid(dataDir) === process.pid) rmSync(pidFile(dataDir), { force: true })
      db.close()
    },
  }
}
